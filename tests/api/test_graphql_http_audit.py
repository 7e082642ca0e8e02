"""The public graphql-http audit suite (npm `graphql-http`, serverAudits) finds nothing.

Needs Node and `npm ci --prefix tests/http_audit` (CI does both, and sets
AUTOBROKER_REQUIRE_NODE=1 so a missing install fails instead of skipping).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

AUDIT_DIR = Path(__file__).resolve().parents[1] / "http_audit"


def _require_tools() -> str:
    node = shutil.which("node")
    installed = (AUDIT_DIR / "node_modules" / "graphql-http").is_dir()
    if node and installed:
        return node
    message = "needs node and `npm ci --prefix tests/http_audit`"
    if os.environ.get("AUTOBROKER_REQUIRE_NODE") == "1":
        pytest.fail(message)
    pytest.skip(message)


def test_every_graphql_http_audit_passes_without_warning(live_server: str) -> None:
    node = _require_tools()
    result = subprocess.run(
        [node, str(AUDIT_DIR / "audit.mjs"), f"{live_server}/graphql"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    audits = json.loads(result.stdout)
    assert len(audits) > 50
    problems = [
        f"{a['status']}: {a['name']} ({a['reason']})" for a in audits if a["status"] != "ok"
    ]
    assert problems == []
