"""The start-up check of each X session: a login redirect retires its slot before its first task."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from .actions import close_page
from .browser import BrowserHost
from .capture import is_login_url
from .errors import SessionExpired
from .slots import Slot, SlotPool

if TYPE_CHECKING:
    from playwright.async_api import Page

log = logging.getLogger("roost.playwright")
LOGGED_IN = '[data-testid="SideNav_AccountSwitcher_Button"], [data-testid="AppTabBar_Profile_Link"]'


async def check_session(
    browser: BrowserHost, slots: SlotPool, slot: Slot, base_url: str, timeout: float
) -> None:
    """Open ``/home``: a login redirect retires the slot now, not on its first task."""
    context = await browser.context(slot)
    try:
        page = await asyncio.wait_for(context.new_page(), timeout)
    except Exception as exc:  # noqa: BLE001 - a flaky check must not stop the worker
        log.warning("session check failed slot=%s: %s", slot.name, exc)
        return
    try:
        await page.goto(f"{base_url}/home", wait_until="domcontentloaded")
        state = "login" if is_login_url(page.url) else await login_state(page, timeout)
    except Exception as exc:  # noqa: BLE001 - a flaky check must not stop the worker
        log.warning("session check failed slot=%s: %s", slot.name, exc)
        return
    finally:
        await close_page(page, timeout)
    if state == "login":
        slots.retire(slot, str(SessionExpired(slot.name, "redirected to /login at start")))
    elif state == "unknown":
        log.warning("session unconfirmed slot=%s url=%s", slot.name, page.url)
    else:
        log.info("session ok slot=%s", slot.name)


async def login_state(page: Page, timeout: float) -> str:
    """Returns "login" (redirected), "ok" (logged-in navigation shown) or "unknown"."""
    waits = {
        asyncio.ensure_future(page.wait_for_url(is_login_url)): "login",
        asyncio.ensure_future(page.locator(LOGGED_IN).first.wait_for(state="attached")): "ok",
    }
    done, pending = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is None:
            return waits[task]
    return "unknown"
