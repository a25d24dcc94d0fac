"""Page actions that tell a dead browser from a slow or failing page.

A dead browser or page becomes :class:`BrowserCrashed` (the runtime restarts it and
resumes); anything else a page action raises becomes :class:`XUnavailable` (retried).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from .browser import BrowserHost
from .capture import PageEvents
from .errors import BrowserCrashed, XUnavailable

if TYPE_CHECKING:
    from playwright.async_api import Page

log = logging.getLogger("roost.playwright")


async def guard(action: Awaitable[Any], events: PageEvents, browser: BrowserHost) -> None:
    """Await a page action; a dead browser becomes :class:`BrowserCrashed`."""
    try:
        await action
    except Exception as exc:
        if events.login:
            return
        if events.dead or not browser.alive:
            raise death(browser, events.dead or str(exc)) from None
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


async def nudge(page: Page, events: PageEvents, browser: BrowserHost) -> None:
    """Scroll, best effort: a scroll lost to a navigation (e.g. to /login) is not an error;
    the next loop turn sees the login flag, a dead page, or scrolls again."""
    try:
        await guard(scroll(page), events, browser)
    except BrowserCrashed:
        raise
    except XUnavailable as exc:
        log.debug("scroll failed, will retry: %s", exc)
