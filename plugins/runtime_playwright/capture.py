"""What a page tells the runtime: the GraphQL responses X's own app received, and page state.

The runtime never calls X itself: the page does, and this module listens. Responses
are matched by path only (any host, any query id), so a rotated query id or the move
between ``x.com/i/api/graphql`` and ``api.x.com/graphql`` changes nothing here.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .responses import Captured, graphql_op

if TYPE_CHECKING:
    from playwright.async_api import Frame, Page, Response

log = logging.getLogger("roost.playwright")
LOGIN_PATH = re.compile(r"^/(i/flow/)?login\b")


def is_login_url(url: str) -> bool:
    return bool(LOGIN_PATH.match(urlsplit(url).path))


class PageEvents:
    """Queues the wanted GraphQL responses of one page; notes a login redirect, crash or close."""

    def __init__(self, page: Page, ops: set[str]) -> None:
        self.page = page
        self.ops = ops
        self.login = False
        self.dead: str | None = None
        self._queue: asyncio.Queue[Captured | None] = asyncio.Queue()
        self._pending: set[asyncio.Task[None]] = set()
        page.on("response", self._on_response)
        page.on("framenavigated", self._on_navigated)
        page.on("crash", lambda _page: self._died("page crashed"))
        page.on("close", lambda _page: self._died("page closed"))

    def _on_response(self, response: Response) -> None:
        op = graphql_op(response.url)
        if op is None or op not in self.ops or response.request.method == "OPTIONS":
            return
        # Read the body in a task: the event callback must not block the page's events.
        task = asyncio.get_running_loop().create_task(self._read(op, response))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _read(self, op: str, response: Response) -> None:
        try:
            headers = {k.lower(): v for k, v in (await response.all_headers()).items()}
        except Exception:  # noqa: BLE001 - the page closed meanwhile
            headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            body = await response.body()
        except Exception as exc:  # noqa: BLE001 - a body can vanish with a navigation
            log.debug("no body op=%s status=%s: %s", op, response.status, exc)
            body = b""
        self._queue.put_nowait(Captured(op, response.status, headers, body, response.url))

    def _on_navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame and is_login_url(frame.url):
            self.login = True
            self._queue.put_nowait(None)

    def _died(self, why: str) -> None:
        if self.dead is None:
            self.dead = why
            self._queue.put_nowait(None)

    async def next(self, timeout: float) -> Captured | None:
        """The next captured response, or None on timeout / login / death (check the flags)."""
        if self.login or self.dead:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), max(timeout, 0.01))
        except TimeoutError:
            return None
