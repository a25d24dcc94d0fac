"""Page actions are bounded: a call the browser never answers cannot hang a task.

Playwright's ``evaluate``, ``mouse.wheel`` and ``close`` have no timeout of their own; a page
caught in a navigation (X sending a session to /login) once left one of them unanswered and
the task waited for ever."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from roost.plugins.runtime_playwright.actions import close_page, guard
from roost.plugins.runtime_playwright.errors import XUnavailable


def never() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()  # an answer that never comes


async def test_an_unanswered_action_becomes_a_retryable_error() -> None:
    events: Any = SimpleNamespace(login=False, dead=None)
    browser: Any = SimpleNamespace(alive=True)
    with pytest.raises(XUnavailable, match="did not answer in 0.2s"):
        await guard(never(), events, browser, 0.2)


async def test_an_action_lost_to_a_login_redirect_is_no_error() -> None:
    events: Any = SimpleNamespace(login=True, dead=None)  # the page went to /login meanwhile
    browser: Any = SimpleNamespace(alive=True)
    await guard(never(), events, browser, 0.2)  # returns: the paging loop sees the flag


async def test_closing_a_wedged_page_gives_up_in_time() -> None:
    page: Any = SimpleNamespace(close=never)
    await asyncio.wait_for(close_page(page, 0.2), 5)  # returns, does not raise
