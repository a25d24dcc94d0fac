"""``PlaywrightRuntime``: SEARCH and ACCOUNT through X's own web app in a real Chromium.

The page makes X's requests; the runtime captures the timeline responses, parses
them, hands each page to ``on_page`` (the handler saves tweets and checkpoints the
cursor) and scrolls for the next one. Slots rotate on rate limits and bans; the run
state (:class:`Run`: the shared paging state plus the browser's own stops) survives a
slot switch or a browser restart, so paging resumes at the last cursor instead of
starting over. Page actions live in ``actions``, the start-up session check in
``session_check``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from roost.core.errors import ConfigError
from roost.plugins.twitter.models import SearchFilters, Tweet, check_handle
from roost.plugins.twitter.runtime import OnPage

from .actions import close_page, death, guard, nudge
from .browser import BrowserHost
from .capture import PageEvents, is_login_url
from .errors import (
    AccountUnusable,
    BrowserCrashed,
    RateLimited,
    SchemaChanged,
    SessionExpired,
    TargetUnavailable,
)
from .gate import TimelineGate
from .paging import Run
from .parser import ShapeError, parse_timeline, parse_user_lookup, save_raw
from .query import profile_url, search_url
from .responses import Captured, RateInfo, decode
from .session_check import check_session
from .settings import PlaywrightSettings
from .slots import Slot, SlotPool

log = logging.getLogger("roost.playwright")


@dataclass(frozen=True)
class Target:
    """What to open and which timeline to follow there."""

    op: str  # "SearchTimeline" | "UserTweets"
    url: str
    handle: str | None = None

    @property
    def ops(self) -> set[str]:
        return {self.op, "UserByScreenName"} if self.handle else {self.op}


class PlaywrightRuntime:
    """The ``TwitterRuntime`` of ``runtime.name = "playwright"``; one per worker process."""

    def __init__(self, settings: PlaywrightSettings) -> None:
        self.settings = settings
        self.browser = BrowserHost(settings)
        self.slots = SlotPool(settings.sessions)
        self._started = False

    async def start(self) -> None:
        s = self.settings
        if not s.sessions:
            raise ConfigError(
                "runtime.playwright has no sessions: add a [[runtime.playwright.sessions]] table"
                " with a name and cookies_file, storage_state, or auth_token + ct0"
            )
        try:
            await self.browser.start()
            if s.check_sessions:
                for slot in self.slots.slots:
                    await check_session(self.browser, self.slots, slot, s.base_url, s.page_timeout)
        except BaseException:
            await self.browser.close()  # no driver or browser process left behind
            raise
        self._started = True
        log.info("runtime ready slots=%s", self.slots.report())

    async def close(self) -> None:
        self._started = False
        await self.browser.close()

    async def search(
        self,
        query: str,
        filters: SearchFilters,
        limit: int,
        *,
        cursor: str | None = None,
        on_page: OnPage | None = None,
    ) -> list[Tweet]:
        url = search_url(self.settings.base_url, query, filters)
        return await self._collect(Target("SearchTimeline", url), limit, cursor, on_page)

    async def account_tweets(
        self,
        username: str,
        limit: int,
        *,
        cursor: str | None = None,
        on_page: OnPage | None = None,
    ) -> list[Tweet]:
        try:
            handle = check_handle(username)
        except ValueError as exc:
            raise TargetUnavailable(f"{username!r} is not an X handle: {exc}") from None
        target = Target("UserTweets", profile_url(self.settings.base_url, handle), handle)
        return await self._collect(target, limit, cursor, on_page)

    # -- the paging loop ---------------------------------------------------------------

    async def _collect(
        self, target: Target, limit: int, cursor: str | None, on_page: OnPage | None
    ) -> list[Tweet]:
        if not self._started:
            await self.start()
        run = Run(
            limit,
            cursor,
            budget=self.settings.time_budget,
            max_empty_pages=self.settings.max_empty_pages,
        )
        restarts = 0
        while not run.finished:
            slot = await self.slots.lease()
            try:
                await self._run_on(slot, target, run, on_page)
            except RateLimited as exc:
                self.slots.cool(slot, exc.reset, exc.reason)
            except (SessionExpired, AccountUnusable) as exc:
                self.slots.retire(slot, str(exc))
            except BrowserCrashed as exc:
                restarts += 1
                log.warning("browser crash op=%s restarts=%d: %s", target.op, restarts, exc)
                if restarts > self.settings.max_browser_restarts:
                    raise
                await self.browser.ensure_alive()
            finally:
                await self.slots.release(slot)
        log.info(
            "done op=%s url=%s tweets=%d pages=%d stop=%s",
            target.op,
            target.url,
            len(run.tweets),
            run.pages,
            run.stop_reason,
        )
        return run.tweets

    async def _run_on(self, slot: Slot, target: Target, run: Run, on_page: OnPage | None) -> None:
        """Page through ``target`` with one slot until the run ends or the slot must stop."""
        context = await self.browser.context(slot)
        bound = self.settings.page_timeout
        page = await asyncio.wait_for(context.new_page(), bound)
        events = PageEvents(page, target.ops)
        log.info(
            "open op=%s slot=%s cursor=%s url=%s", target.op, slot.name, run.cursor, target.url
        )
        gate = TimelineGate(run.cursor)
        try:
            await guard(gate.install(page), events, self.browser, bound)
            await guard(
                page.goto(target.url, wait_until="domcontentloaded"), events, self.browser, bound
            )
            if is_login_url(page.url):
                raise SessionExpired(slot.name)
            last_page = time.monotonic()
            while not run.finished:
                wait = min(self.settings.scroll_pause, run.remaining_time())
                gate.want()
                item = await events.next(wait)
                if events.login:
                    raise SessionExpired(slot.name)
                if events.dead:
                    raise death(self.browser, events.dead)
                if item is None:
                    if run.remaining_time() <= 0:
                        run.stop("time budget used")
                    elif time.monotonic() - last_page >= self.settings.page_timeout:
                        run.stop(f"no new page for {self.settings.page_timeout:g}s")
                    else:
                        await nudge(page, events, self.browser, bound)
                    continue
                gate.landed(item.op)
                last_page = time.monotonic()
                await self._handle(item, slot, target, run, on_page)
                if not run.finished:
                    await nudge(page, events, self.browser, bound)
        finally:
            gate.close()
            await close_page(page, bound)

    async def _handle(
        self, item: Captured, slot: Slot, target: Target, run: Run, on_page: OnPage | None
    ) -> None:
        """One captured response: check the account, or take a page and checkpoint it."""
        dump_dir = self.settings.schema_dump_dir
        payload = decode(item, slot.name, dump_dir)
        if item.op == "UserByScreenName":
            self._check_user(payload, target.handle or "", item)
            return
        page = parse_timeline(payload, item.op, dump_dir)
        new = run.add(page)
        rate = RateInfo.from_headers(item.headers)
        log.info(
            "page op=%s slot=%s new=%d total=%d skipped=%d cursor=%s remaining=%s stop=%s",
            item.op,
            slot.name,
            len(new),
            len(run.tweets),
            page.skipped,
            page.bottom_cursor,
            rate.remaining,
            run.stop_reason,
        )
        if on_page is not None:
            await on_page(new, run.next_cursor)
        if rate.remaining == 0:
            exc = RateLimited(slot.name, rate.reset_or_window(time.time()), item.op, refused=False)
            if not run.finished:
                raise exc  # the next scroll would be refused: switch slot or reschedule
            self.slots.cool(slot, exc.reset, exc.reason)

    def _check_user(self, payload: object, handle: str, item: Captured) -> None:
        try:
            lookup = parse_user_lookup(payload)
        except ShapeError as exc:
            dump = save_raw(self.settings.schema_dump_dir, item.op, item.body, str(exc))
            raise SchemaChanged(item.op, str(exc), dump) from None
        if lookup.unavailable == "not found":
            raise TargetUnavailable(f"account @{handle} does not exist")
        if lookup.unavailable:
            raise TargetUnavailable(f"account @{handle} is unavailable: {lookup.unavailable}")
        if lookup.user is not None and lookup.user.protected:
            raise TargetUnavailable(
                f"account @{handle} is protected: only approved followers see its posts"
            )
