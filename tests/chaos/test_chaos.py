"""The chaos suite: faults on the real embedded servers of a `dev` of its own while a
mixed load runs (tests/chaos/cases.py says what each case must hold). Short outages here;
`uv run python -m tests.chaos` runs longer ones and prints the figures."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

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
