"""The benchmark still works: `python -m bench --short` on its own embedded servers.

It checks that every contender answers every read scenario identically and serves load
without errors, that the order flow (createOrder to PAID through Stripe's webhooks and
the worker) and the subscription fan-out complete under load, and that every row is in
the table; it does not judge speed (a CI machine's numbers mean little). About 90 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bench.scenarios import SCENARIOS
from tests.conftest import ROOT


def _wrk_available() -> bool:
    # The benchmark installs Debian's wrk itself when run as root.
    return shutil.which("wrk") is not None or (
        os.geteuid() == 0 and shutil.which("apt-get") is not None
    )


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="runs once, on its own embedded servers (the pass on embedded servers covers it)",
)
@pytest.mark.skipif(not _wrk_available(), reason="wrk is not installed (apt-get install wrk)")
def test_short_benchmark_checks_and_measures_every_contender(tmp_path: Path) -> None:
    results = tmp_path / "latest.json"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--short", "--json", str(results)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    document = orjson.loads(results.read_bytes())
    rows = {(row["scenario"], row["contender"]): row for row in document["rows"]}
    assert set(rows) == {
        (scenario.name, contender.value)
        for scenario in SCENARIOS
        for contender in scenario.contenders
    }
    for (name, _), row in rows.items():
        assert row["median"]["requests"] > 0
        assert row["median"]["throughput"] > 0
        assert row["median"]["errors"] == 0, row["median"]["error_kinds"]
        assert row["median"]["server_cpu_us"] > 0
        if name == "catalog-page-cached" and row["contender"] == "api":
            assert row["checked"]["statements"] == 0  # answered by the response cache
        elif name != "subscription-fanout":  # its SQL is not counted (no in-process socket)
            assert row["checked"]["statements"] > 0
    # The catalog page (dealers joined, prices in one valuation): 3 statements at most.
    assert rows[("catalog-page", "api")]["checked"]["statements"] <= 3
    assert "responses identical" in completed.stdout

    flow = rows[("order-flow", "api")]
    assert flow["unit"] == "flows/s"
    steps = ("create_reserve", "checkout", "confirm", "webhook_to_paid")
    for step in steps:
        assert flow["median"]["details"][f"{step}_p50_ms"] > 0
    for part in ("api_cpu_us", "worker_cpu_us", "sql_webhooks", "sql_jobs"):
        assert flow["median"]["details"][part] > 0
    assert "order-flow/api: " in completed.stdout

    fanout = rows[("subscription-fanout", "api")]
    assert fanout["unit"] == "deliveries/s"
    assert fanout["median"]["p50_ms"] > 0
    assert fanout["median"]["details"]["transitions"] >= 1
    assert "subscription-fanout/api: " in completed.stdout
