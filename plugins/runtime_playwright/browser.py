"""One Chromium per worker process, one context (cookie jar) per slot, restarted after a crash.

Playwright is imported here, lazily: the plugin module is loaded in every process,
including those running the mock runtime, where playwright may not be installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roost.core.errors import ConfigError

from .settings import PlaywrightSettings
from .slots import Slot, session_cookies

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Playwright, Route

log = logging.getLogger("roost.playwright")
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
BLOCKED_TYPES = {"image", "media", "font"}
INSTALL_HINT = "pip install 'roost[playwright]'"


class BrowserHost:
    """Owns the Playwright driver, the browser and the per-slot contexts."""

    def __init__(self, settings: PlaywrightSettings) -> None:
        self.settings = settings
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._contexts: dict[str, BrowserContext] = {}
        self._lock = asyncio.Lock()
        self._user_agent: str | None = None
        self.launches = 0

    async def start(self) -> None:
        try:
            from playwright.async_api import async_playwright
        except ImportError as exc:
            raise ConfigError(
                f"runtime 'playwright' needs the playwright package: {INSTALL_HINT}"
            ) from exc
        if self._pw is None:
            self._pw = await async_playwright().start()
        await self._launch()

    def executable(self) -> str | None:
        """The configured binary, else Playwright's own Chromium, else Debian's ``chromium``."""
        configured = self.settings.executable_path
        if configured is not None:
            if not configured.is_file():
                raise ConfigError(f"runtime.playwright.executable_path {configured} does not exist")
            return str(configured)
        assert self._pw is not None
        bundled = self._pw.chromium.executable_path
        if bundled and os.path.isfile(bundled):
            return None
        if SYSTEM_CHROMIUM.is_file():
            return str(SYSTEM_CHROMIUM)
        raise ConfigError(
            "no Chromium found: run `playwright install chromium`, or `apt-get install chromium`,"
            " or set runtime.playwright.executable_path"
        )

    async def _launch(self) -> None:
        assert self._pw is not None
        executable = self.executable()
        self._browser = await self._pw.chromium.launch(
            executable_path=executable,
            headless=self.settings.headless,
            args=self.settings.launch_args,
        )
        self._contexts.clear()
        self.launches += 1
        log.info(
            "browser started version=%s executable=%s launch=%d",
            self._browser.version,
            executable or "playwright",
            self.launches,
        )

    @property
    def alive(self) -> bool:
        return self._browser is not None and self._browser.is_connected()

    async def ensure_alive(self) -> None:
        """Relaunch a dead browser once, however many tasks noticed; contexts rebuild lazily."""
        async with self._lock:
            if self.alive:
                return
            if self._pw is None:
                raise ConfigError("the playwright runtime was used before start() or after close()")
            log.warning("browser restart after crash launches=%d", self.launches)
            if self._browser is not None:
                with contextlib.suppress(Exception):  # already dead or closing anyway
                    await self._browser.close()
            await self._launch()

    async def context(self, slot: Slot) -> BrowserContext:
        """The slot's context, created on first use with its cookies or storage state."""
        await self.ensure_alive()
        assert self._browser is not None
        ctx = self._contexts.get(slot.name)
        if ctx is not None:
            return ctx
        session = slot.session
        options: dict[str, Any] = {"locale": self.settings.locale}
        if session.storage_state is not None:
            if not session.storage_state.is_file():
                raise ConfigError(f"session {slot.name!r}: {session.storage_state} does not exist")
            options["storage_state"] = str(session.storage_state)
        options["user_agent"] = self.settings.user_agent or await self._default_user_agent()
        ctx = await self._browser.new_context(**options)
        cookies = session_cookies(session, self.settings.base_url)
        if cookies:
            await ctx.add_cookies(cookies)  # type: ignore[arg-type]
        if self.settings.block_media:
            await ctx.route("**/*", _block_media)
        ctx.set_default_timeout(self.settings.page_timeout * 1000)
        self._contexts[slot.name] = ctx
        return ctx

    async def _default_user_agent(self) -> str:
        """Chrome's UA for this version: the headless default says ``HeadlessChrome``."""
        assert self._browser is not None
        if self._user_agent is None:
            major = self._browser.version.split(".")[0]
            self._user_agent = (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                f"Chrome/{major}.0.0.0 Safari/537.36"
            )
        return self._user_agent

    async def close(self) -> None:
        for ctx in list(self._contexts.values()):
            with contextlib.suppress(Exception):  # already dead or closing anyway
                await ctx.close()
        self._contexts.clear()
        if self._browser is not None:
            with contextlib.suppress(Exception):  # already dead or closing anyway
                await self._browser.close()
            self._browser = None
        if self._pw is not None:
            await self._pw.stop()
            self._pw = None
        log.info("browser closed")


async def _block_media(route: Route) -> None:
    if route.request.resource_type in BLOCKED_TYPES:
        await route.abort()
    else:
        await route.fallback()
