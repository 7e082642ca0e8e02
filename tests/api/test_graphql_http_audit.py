"""The public graphql-http audit suite (npm `graphql-http`, serverAudits) finds nothing.

Needs Node and `npm ci --prefix tests/http_audit` (CI does both, and sets
AUTOBROKER_REQUIRE_NODE=1 so a missing install fails instead of skipping).
"""

from __future__ import annotations

import json
import subprocess

from tests.node_packages import TESTS_DIR, require_node

AUDIT_DIR = TESTS_DIR / "http_audit"


def test_every_graphql_http_audit_passes_without_warning(live_server: str) -> None:
    node = require_node(AUDIT_DIR, "graphql-http")
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
