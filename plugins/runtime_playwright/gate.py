"""What the page may ask X for: one timeline page at a time, and only while the runtime wants one.

X's web app asks for the next page on its own (when a page does not fill the window,
or to retry), not only when the runtime scrolls. Left alone it spends the account's
rate budget on pages the runtime will not take: the run is already over, or the last
response said the budget is used up. The gate holds every timeline request of the
page until the runtime waits for a page and none is in flight, and drops what is
still held when the page closes. It also rewrites the first request's cursor when a
run resumes (the app always starts at the top).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .responses import graphql_op

if TYPE_CHECKING:
    from playwright.async_api import Page, Request, Route

log = logging.getLogger("roost.playwright")
TIMELINE_OPS = frozenset({"SearchTimeline", "UserTweets"})
TIMELINE_ROUTE = re.compile(rf"/graphql/[^/?]+/({'|'.join(sorted(TIMELINE_OPS))})(\?|$)")


class TimelineGate:
    """Admits the page's timeline requests one by one, when :meth:`want` says so."""

    def __init__(self, resume_cursor: str | None = None) -> None:
        self._cursor = resume_cursor
        self._open = asyncio.Event()
        self._open.set()  # the app's first request, made while the page loads
        self._in_flight = False
        self._closed = False

    async def install(self, page: Page) -> None:
        page.on("requestfailed", self._on_failed)
        await page.route(TIMELINE_ROUTE, self._route)

    def want(self) -> None:
        """The runtime waits for a page: let the next request through, unless one is out."""
        if not self._in_flight and not self._closed:
            self._open.set()

    def landed(self, op: str) -> None:
        """The runtime has taken the response of the request in flight."""
        if op in TIMELINE_OPS:
            self._in_flight = False

    def close(self) -> None:
        """Drop every request still held (the page is about to close)."""
        self._closed = True
        self._open.set()

    def _on_failed(self, request: Request) -> None:
        if TIMELINE_ROUTE.search(request.url):
            self._in_flight = False  # no response will come: the app may ask again

    async def _route(self, route: Route) -> None:
        try:
            await self._open.wait()
            if self._closed:
                await route.abort()
                return
            self._open.clear()
            self._in_flight = True
            await self._send(route)
        except Exception as exc:  # noqa: BLE001 - the page closed while the request was held
            log.debug("timeline request dropped: %s", exc)

    async def _send(self, route: Route) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is None:
            await route.continue_()
            return
        request = route.request
        if request.method == "POST" and request.post_data:
            body: dict[str, Any] = json.loads(request.post_data)
            body.setdefault("variables", {})["cursor"] = cursor
            await route.continue_(post_data=json.dumps(body))
        else:
            parts = urlsplit(request.url)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            variables = json.loads(query.get("variables") or "{}")
            variables["cursor"] = cursor
            query["variables"] = json.dumps(variables, separators=(",", ":"))
            await route.continue_(url=urlunsplit(parts._replace(query=urlencode(query))))
        log.info("resume cursor injected op=%s", graphql_op(request.url))
