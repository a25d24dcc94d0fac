"""The browser and timings the Playwright tests use (shared by conftest and the e2e tests)."""

from __future__ import annotations

#: Short waits: the fake X answers in milliseconds.
FAST = {"page_timeout": 5.0, "scroll_pause": 0.25, "time_budget": 30.0}
