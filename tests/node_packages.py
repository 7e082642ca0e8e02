"""The npm packages some tests run with Node (tests/http_audit, tests/federation,
tests/clients): a test skips locally without them, and fails when
AUTOBROKER_REQUIRE_NODE=1 (CI installs them)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent


def require_node(package_dir: Path, module: str) -> str:
    """The path of `node`, once `module` is installed in `package_dir`'s node_modules."""
    node = shutil.which("node")
    if node and (package_dir / "node_modules" / module).is_dir():
        return node
    message = f"needs node and `npm ci --prefix tests/{package_dir.name}`"
    if os.environ.get("AUTOBROKER_REQUIRE_NODE") == "1":
        pytest.fail(message)
    pytest.skip(message)
