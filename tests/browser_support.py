"""Headless Chromium for the browser tests, through Playwright.

Playwright drives Debian's /usr/bin/chromium; its own browser downloads
(`playwright install`) are never used, since this project's machines cannot fetch them.
Without the browser a test skips locally and fails under AUTOBROKER_REQUIRE_BROWSER=1.
The sync API is used from plain `def` tests: it refuses to run inside an asyncio loop.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is missing; install it with `apt-get update && apt-get install -y chromium`"
    )
    if os.environ.get("AUTOBROKER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"AUTOBROKER_REQUIRE_BROWSER=1 but {message}")
    pytest.skip(message)


def launch_chromium(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
