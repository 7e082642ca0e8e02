"""The benchmark still works: `python -m bench --short` on its own embedded servers.

It checks that every contender answers every read scenario identically and serves load
without errors; it does not judge speed (a CI machine's numbers mean little). About 35 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bench.scenarios import scenario_names
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
        (scenario, contender)
        for scenario in scenario_names()
        for contender in ("floor", "naive", "api")
    }
    for row in rows.values():
        assert row["median"]["requests"] > 0
        assert row["median"]["errors"] == 0
        assert row["checked"]["statements"] > 0
    # The catalog page's statement count does not grow with the page (DataLoaders).
    assert rows[("catalog-page", "api")]["checked"]["statements"] <= 4
    assert "responses identical" in completed.stdout
