"""Fixtures for the Playwright runtime tests: one fake X per session, a runtime per test.

Chromium must be present: these tests fail (never skip) without it, so CI cannot
pass while silently not running them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chromium import browser_path
from fakex.env import FAST
from fakex.server import FakeX
from roost.plugins.runtime_playwright.runtime import PlaywrightRuntime
from roost.plugins.runtime_playwright.settings import PlaywrightSettings


@pytest.fixture(scope="session")
def fakex_server() -> Iterator[FakeX]:
    server = FakeX()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake(fakex_server: FakeX) -> FakeX:
    """The fake X, reset to the default scenario (one good session, 12 tweets)."""
    fakex_server.reset()
    return fakex_server


@pytest.fixture
def pw_settings(fake: FakeX, tmp_path: Path) -> Callable[..., PlaywrightSettings]:
    """Settings pointing at the fake X; keyword arguments override any key."""

    def make(**overrides: Any) -> PlaywrightSettings:
        data: dict[str, Any] = {
            "base_url": fake.origin,
            "executable_path": browser_path(),
            "schema_dump_dir": str(tmp_path / "dumps"),
            "sessions": [{"name": "main", "auth_token": "tok-main", "ct0": "csrf-main"}],
            **FAST,
        }
        data.update(overrides)
        return PlaywrightSettings.model_validate(data)

    return make


@pytest.fixture
async def make_runtime(
    pw_settings: Callable[..., PlaywrightSettings],
) -> AsyncIterator[Callable[..., Awaitable[PlaywrightRuntime]]]:
    """Started runtimes, closed after the test."""
    made: list[PlaywrightRuntime] = []

    async def make(**overrides: Any) -> PlaywrightRuntime:
        runtime = PlaywrightRuntime(pw_settings(**overrides))
        made.append(runtime)
        await runtime.start()
        return runtime

    yield make
    for runtime in made:
        await runtime.close()


@pytest.fixture(autouse=True)
def _playwright_logs(caplog: pytest.LogCaptureFixture) -> None:
    """The runtime's INFO lines in a failed test's report (tests assert behaviour, not them)."""
    caplog.set_level(logging.INFO, logger="roost.playwright")
