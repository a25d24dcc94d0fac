"""Fixtures for the dashboard tests: served APIs with a settled mix of tasks, and headless
Chromium (a fresh tab per test; a script error in the page fails the test)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import browser_path
from dashkit import TOKEN, Api, enqueue_mix, started
from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An open API (no token) with a settled mix of tasks."""
    with started(tmp_path_factory.mktemp("dash"), {}) as served:
        api = Api(served)
        enqueue_mix(api)
        api.settled()
        yield api


@pytest.fixture(scope="module")
def guarded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An API with ``api.token`` set, and a settled mix of tasks."""
    with started(tmp_path_factory.mktemp("guarded"), {"ROOST_API__TOKEN": TOKEN}) as served:
        api = Api(served, TOKEN)
        enqueue_mix(api)
        api.settled()
        yield api


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Module-scoped on purpose: Playwright's sync API runs an event loop in this thread
    while it is open, and the async tests of later modules need the thread free of one."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path(), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own session storage); a script error in the page fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="module")
def slotted_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """An API whose in-process worker runs the ``slotted`` runtime (tests/slotted_runtime.py)."""
    here = str(Path(__file__).parent.parent)  # tests/, where slotted_runtime.py is
    env = {
        "ROOST_PLUGINS__MODULES": '["slotted_runtime"]',
        "ROOST_RUNTIME__NAME": "slotted",
        "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p),
    }
    with started(tmp_path_factory.mktemp("slotted"), env) as served:
        yield Api(served)
