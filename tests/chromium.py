"""Which Chromium the browser tests (the Playwright runtime's, the dashboard's) launch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from roost.plugins.runtime_playwright.browser import SYSTEM_CHROMIUM


def browser_path() -> str | None:
    """The Chromium to use; None means Playwright's own is installed. Fails (never skips)."""
    if os.environ.get("ROOST_TEST_CHROMIUM"):
        return os.environ["ROOST_TEST_CHROMIUM"]
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH", Path.home() / ".cache/ms-playwright"))
    if any(cache.glob("chromium*/chrome-linux*/chrome")):
        return None
    if SYSTEM_CHROMIUM.is_file():
        return str(SYSTEM_CHROMIUM)
    pytest.fail(
        "no Chromium for the browser tests: `apt-get install chromium` or "
        "`playwright install chromium` (or set ROOST_TEST_CHROMIUM=/path/to/chrome)",
        pytrace=False,
    )
