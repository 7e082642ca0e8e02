"""The chaos suite: faults on the real embedded servers of a `dev` of its own while a
mixed load runs (tests/chaos/cases.py says what each case must hold). Short outages here;
`uv run python -m tests.chaos` runs longer ones and prints the figures."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chaos.cases import FAULTS, check_case, run_case, wait_all_paid
from tests.chaos.stack import Stack, running_stack

CASE_TIMEOUT = 90.0
OUTAGE_SECONDS = {
    "redis-killed": 0.0,  # dev restarts it within a second or two
    "redis-paused": 4.0,
    "postgres-paused": 4.0,
    "postgres-restarted": 0.0,
    "worker-killed": 1.0,
}


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Not under pytest's temporary directory: a pytest session starting elsewhere closes
    # that directory to other users, and PostgreSQL runs as its own user.
    with tempfile.TemporaryDirectory(prefix="autobroker-chaos-") as tmp:
        with running_stack(Path(tmp)) as running:
            running.start_worker()  # beside dev's own: the one the worker case kills
            yield running
        # SIGTERM after all those faults: dev still ends cleanly.
        log = running.log_path.read_text(errors="replace")
        assert "stopped; embedded servers shut down cleanly" in log, log[-3000:]
        assert "Traceback" not in log, log[-3000:]


@pytest.mark.parametrize("name", list(OUTAGE_SECONDS))
async def test_a_fault_under_load(stack: Stack, name: str) -> None:
    result = await asyncio.wait_for(
        run_case(stack, FAULTS[name], outage=OUTAGE_SECONDS[name]), CASE_TIMEOUT
    )
    await check_case(stack, result)
    if name == "redis-paused":
        # The metrics say what happened: the fallback answered, Redis was lost and found
        # again, nothing is degraded now and nothing waits in the outbox.
        samples = _metrics(stack)
        for _ in range(10):  # the relay refreshes the backlog gauge every second
            if samples["autobroker_outbox_backlog"] == 0:
                break
            await asyncio.sleep(0.5)
            samples = _metrics(stack)
        assert samples['autobroker_fallback_limiter_total{limiter="rate_limit"}'] > 0
        assert samples['autobroker_reconnects_total{component="redis",event="lost"}'] >= 1
        assert samples['autobroker_reconnects_total{component="redis",event="recovered"}'] >= 1
        assert samples['autobroker_degraded{dependency="redis"}'] == 0
        assert samples["autobroker_outbox_backlog"] == 0
    if name == "redis-killed":
        assert "embedded Redis had stopped; restarted it" in stack.log_path.read_text(
            errors="replace"
        )
    if name == "postgres-restarted":
        assert "embedded PostgreSQL had stopped; restarted it" in stack.log_path.read_text(
            errors="replace"
        )
    if name == "worker-killed":
        # Its jobs are not lost: every confirmed payment is applied (once: check_case),
        # by a webhook job or by reconciliation (every minute).
        await wait_all_paid(stack, result.load.paid, timeout=80)


def _metrics(stack: Stack) -> dict[str, float]:
    text = httpx.get(f"{stack.base_url}/metrics", timeout=10).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples
