"""Page actions that tell a dead browser from a slow or failing page.

A dead browser or page becomes :class:`BrowserCrashed` (the runtime restarts it and
resumes); anything else a page action raises becomes :class:`XUnavailable` (retried).
Every action is bounded: Playwright's ``evaluate``, ``mouse.wheel`` and ``close`` have no
timeout of their own, and a page caught in a navigation can leave them unanswered for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from .browser import BrowserHost
from .capture import PageEvents
from .errors import BrowserCrashed, XUnavailable

if TYPE_CHECKING:
    from playwright.async_api import Page

log = logging.getLogger("roost.playwright")


async def guard(
    action: Awaitable[Any], events: PageEvents, browser: BrowserHost, timeout: float
) -> None:
    """Await a page action for at most ``timeout`` seconds; a dead browser becomes
    :class:`BrowserCrashed`, an action lost to a login redirect is no error."""
    try:
        await asyncio.wait_for(action, timeout)
    except Exception as exc:
        if events.login:
            return
        if events.dead or not browser.alive:
            raise death(browser, events.dead or str(exc)) from None
        if isinstance(exc, asyncio.TimeoutError):
            raise XUnavailable(f"the page did not answer in {timeout:g}s") from None
        if type(exc).__name__ == "TimeoutError":
            raise XUnavailable(f"page did not load: {exc}") from None
        raise XUnavailable(f"page action failed: {exc}") from None


def death(browser: BrowserHost, why: str) -> BrowserCrashed:
    if not browser.alive:
        return BrowserCrashed(f"browser died: {why}")
    return BrowserCrashed(f"page died: {why}")


async def scroll(page: Page) -> None:
    """Reach the bottom so the app asks for the next page (wheel works on short pages too)."""
    await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    await page.mouse.wheel(0, 4000)


async def nudge(page: Page, events: PageEvents, browser: BrowserHost, timeout: float) -> None:
    """Scroll, best effort: a scroll lost to a navigation (e.g. to /login) is not an error;
    the next loop turn sees the login flag, a dead page, or scrolls again."""
    try:
        await guard(scroll(page), events, browser, timeout)
    except BrowserCrashed:
        raise
    except XUnavailable as exc:
        log.debug("scroll failed, will retry: %s", exc)


async def close_page(page: Page, timeout: float) -> None:
    """Close ``page``, best effort and bounded (it may be dead, closing, or wedged)."""
    try:
        await asyncio.wait_for(page.close(), timeout)
    except Exception as exc:  # noqa: BLE001 - already dead or closing anyway
        log.debug("page close failed: %s", exc)
