"""A fake X on 127.0.0.1: HTML pages whose JS calls GraphQL like x.com, with switchable scenarios.

It runs in its own thread and event loop, so one server serves every test whatever
event loop the test runs in. Tests change ``fake.scenario`` between runs and read
``fake.requests`` to see what the browser really asked for.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from . import shapes

STATIC = Path(__file__).parent / "static"
QUERY_IDS = {"SearchTimeline": "nK1dw4oV3k4w5TdtcAdSww", "UserTweets": "Y9WM4Id6UcGFE8Z-hi1F8A",
             "UserByScreenName": "xc8f1g7BYqr6VTzTbvNlGw"}  # fmt: skip
FAILURES = {
    "429": (429, {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}),
    "soft88": (429, {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}),
    "locked": (403, {"errors": [{"code": 326, "message": "To protect our users from spam..."}]}),
    "suspended": (403, {"errors": [{"code": 64, "message": "Your account is suspended."}]}),
    "336": (400, {"errors": [{"code": 336, "message": "The following features cannot be null"}]}),
    "expired": (401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]}),
    "500": (500, {"errors": [{"code": 131, "message": "Internal error"}]}),
}


@dataclass
class Scenario:
    """What the fake answers. Page numbers count timeline requests per operation, from 1."""

    tweets: int = 12  # real tweets per timeline (search results, or the account's posts)
    page_size: int = 5
    user_shape: str = "2026"  # or "2024"
    extras: bool = True  # promoted, tombstone, visibility wrapper, long post, retweet, ...
    end: str = "empty"  # after the last tweet: "empty" pages with new cursors, "repeat", "none"
    fail: dict[int, str] = field(default_factory=dict)  # page number -> failure kind
    zero_remaining_on: int | None = None  # 200 page with x-rate-limit-remaining: 0
    tokens: dict[str, str] = field(default_factory=lambda: {"tok-main": "ok"})  # -> ok/expired/kind
    users: dict[str, str] = field(default_factory=lambda: {"elonmusk": "ok", "satoshi": "ok"})
    api_prefix: str = "/i/api/graphql"  # or "/graphql" (the api.x.com layout)
    reset_in: int = 900
    rate_limit: int = 50  # requests per token in a rate window, as x-rate-limit-limit says
    garbage_on: int | None = None  # page with an unknown structure (schema changed)
    eager: bool = False  # the app asks for the next page as soon as one is shown, unscrolled


class FakeX:
    def __init__(self) -> None:
        self.scenario = Scenario()
        self.requests: list[dict[str, Any]] = []
        self.media_hits = 0
        self.origin = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    # -- control -----------------------------------------------------------------------

    def reset(self, **scenario: Any) -> Scenario:
        self.scenario = Scenario(**scenario)
        self.requests = []
        self.media_hits = 0
        return self.scenario

    def calls(self, op: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["op"] == op]

    def expected_ids(self, op: str, handle: str = "elonmusk") -> list[str]:
        """Ids of the real tweets this scenario serves, in timeline order."""
        ids: list[str] = []
        for item in self._items(op, handle):
            for result in item["results"]:
                tweet = shapes.unwrap_for_tests(result)
                if tweet and not item.get("skip") and tweet["rest_id"] not in ids:
                    ids.append(tweet["rest_id"])
        return ids

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="fakex", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake X did not start")

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._runner = web.AppRunner(self.app(), access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.origin = f"http://127.0.0.1:{port}"
        self._ready.set()
        loop.run_forever()
        loop.close()

    # -- the app -------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/login", self.login)
        app.router.add_get("/i/flow/login", self.login)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/media/{name}", self.media)
        app.router.add_route("*", "/i/api/graphql/{qid}/{op}", self.graphql)
        app.router.add_route("*", "/graphql/{qid}/{op}", self.graphql)
        app.router.add_get("/home", self.page)
        app.router.add_get("/search", self.page)
        app.router.add_get("/{handle}", self.page)
        return app

    async def login(self, request: web.Request) -> web.Response:
        return web.Response(text="<h1>Sign in to X</h1>", content_type="text/html")

    async def static(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / request.match_info["name"])

    async def media(self, request: web.Request) -> web.Response:
        self.media_hits += 1
        return web.Response(body=b"\x89PNG\r\n", content_type="image/png")

    def _token_state(self, request: web.Request) -> str:
        token = request.cookies.get("auth_token", "")
        return self.scenario.tokens.get(token, "expired")

    async def page(self, request: web.Request) -> web.Response:
        if self._token_state(request) == "expired":
            raise web.HTTPFound(f"/login?redirect_after_login={request.path_qs}")
        config = {
            "path": request.path,
            "q": request.query.get("q", ""),
            "f": request.query.get("f", "live"),
            "api": self.scenario.api_prefix,
            "qid": QUERY_IDS,
            "eager": self.scenario.eager,
        }
        html = (STATIC / "app.html").read_text().replace("__CONFIG__", json.dumps(config))
        return web.Response(text=html, content_type="text/html")

    async def graphql(self, request: web.Request) -> web.Response:
        op = request.match_info["op"]
        if request.method == "POST":
            variables = (await request.json()).get("variables", {})
        else:
            variables = json.loads(request.query.get("variables", "{}"))
        token = request.cookies.get("auth_token", "")
        number = len(self.calls(op)) + 1
        record = {"op": op, "variables": variables, "token": token, "page": number, "status": 200}
        self.requests.append(record)
        response = self._answer(request, op, variables, token, number)
        record["status"] = response.status
        return response

    def _headers(self, token: str, remaining: int | None = None) -> dict[str, str]:
        used = sum(1 for r in self.requests if r["token"] == token)
        limit = self.scenario.rate_limit
        left = max(0, limit - used) if remaining is None else remaining
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(left),
            "x-rate-limit-reset": str(int(time.time()) + self.scenario.reset_in),
        }

    def _answer(
        self, request: web.Request, op: str, variables: dict[str, Any], token: str, number: int
    ) -> web.Response:
        state = self._token_state(request)
        csrf_ok = request.headers.get("x-csrf-token") == request.cookies.get("ct0")
        if not csrf_ok:
            body = {"errors": [{"code": 353, "message": "This request requires a matching csrf"}]}
            return web.json_response(body, status=403, headers=self._headers(token))
        kind = state if state != "ok" else None
        if op != "UserByScreenName":
            kind = kind or self.scenario.fail.get(number)
        if kind == "cloudflare":
            headers = {"cf-ray": "8f1e2d3c4b5a6978-FRA", "server": "cloudflare"}
            return web.Response(
                text="<html><title>Just a moment...</title></html>",
                status=403,
                content_type="text/html",
                headers=headers,
            )
        if kind == "404":
            return web.Response(status=404, headers=self._headers(token))
        if kind == "bare403":
            return web.Response(status=403, headers=self._headers(token))
        if kind in FAILURES:
            status, body = FAILURES[kind]
            remaining = 37 if kind == "soft88" else 0 if kind == "429" else None
            return web.json_response(body, status=status, headers=self._headers(token, remaining))
        if op == "UserByScreenName":
            return web.json_response(
                self._user(variables.get("screen_name", "")), headers=self._headers(token)
            )
        zero = self.scenario.zero_remaining_on == number
        headers = self._headers(token, 0 if zero else None)
        if self.scenario.garbage_on == number:
            return web.json_response({"data": {"search_by_raw_query": {"v3": []}}}, headers=headers)
        handle = self._handle_of(variables.get("userId", ""))
        return web.json_response(
            self._timeline(op, variables.get("cursor"), handle), headers=headers
        )

    # -- data ----------------------------------------------------------------------------

    def _user(self, handle: str) -> dict[str, Any]:
        state = self.scenario.users.get(handle)
        if state is None:
            return shapes.user_by_screen_name(None)
        if state == "suspended":
            return shapes.user_by_screen_name(None, reason="Suspended")
        user = shapes.make_user(
            self._uid(handle), handle, self.scenario.user_shape, protected=state == "protected"
        )
        return shapes.user_by_screen_name(user)

    def _uid(self, handle: str) -> str:
        return str(44196397 + sum(map(ord, handle)))

    def _handle_of(self, uid: str) -> str:
        return next((h for h in self.scenario.users if self._uid(h) == uid), "")

    def _items(self, op: str, handle: str) -> list[dict[str, Any]]:
        """The timeline as entries: {"results": [...], "skip": bool, "module": str | None}."""
        s = self.scenario
        shape = s.user_shape
        who = handle if op == "UserTweets" else "searcher"
        author = shapes.make_user(self._uid(who), who or "someone", shape)
        other = shapes.make_user("777", "satoshi", shape)
        media = f"{self.origin}/media/photo.png"
        items: list[dict[str, Any]] = []
        n = 1
        for i in range(s.tweets):
            result = shapes.tweet(n, author, media_url=media if i == 0 else None)
            if s.extras and i == 1:
                result = shapes.with_visibility(result)
            elif s.extras and i == 2:
                result = shapes.long_post(n, author, "long " + "post " * 80 + "end & done")
            elif s.extras and i == 3:
                result = shapes.retweet(n, author, shapes.tweet(9000 + n, other))
            elif s.extras and i == 4:
                result = shapes.tweet(n, author, flat=True, views=None)
            items.append({"results": [result]})
            n += 1
        if s.extras:
            items.insert(
                1, {"results": [shapes.tweet(8000, other)], "skip": True, "promoted": True}
            )
            items.insert(2, {"results": [shapes.tombstone()], "skip": True})
            if op == "UserTweets":
                convo = [shapes.tweet(n, author), shapes.tweet(n + 1, author)]
                items.insert(4, {"results": convo, "module": "profile-conversation-1"})
                items.insert(0, {"results": [shapes.tweet(5000, author)], "pinned": True})
            items.append({"results": [shapes.tweet(5, author)], "dup": True})  # X repeats one
        return items

    def _timeline(self, op: str, cursor: str | None, handle: str) -> dict[str, Any]:
        s = self.scenario
        items = self._items(op, handle)
        pinned = [i for i in items if i.get("pinned")]
        items = [i for i in items if not i.get("pinned")]
        start = int(cursor.rsplit(":", 1)[1]) if cursor else 0
        chunk = items[start : start + s.page_size]
        nxt = start + s.page_size
        entries = []
        for index, item in enumerate(chunk):
            if item.get("module"):
                entries.append(
                    shapes.module_entry(f"{item['module']}-{start + index}", item["results"])
                )
            elif item.get("promoted"):
                entries.append(shapes.promoted_entry(item["results"][0]))
            else:
                entries.append(shapes.tweet_entry(item["results"][0]))
        bottom: str | None = f"DAACCgACGRkZ:{nxt}"
        if start >= len(items):  # past the end
            if s.end == "none":
                bottom = None
            elif s.end == "repeat":
                bottom = cursor
        top = shapes.cursor_entry("Top", f"DAABCgABGRkZ:{start}")
        instructions: list[dict[str, Any]] = []
        if start == 0:
            if bottom:
                entries.append(shapes.cursor_entry("Bottom", bottom))
            instructions.append({"type": "TimelineClearCache"})
            if pinned and op == "UserTweets":
                entry = shapes.tweet_entry(pinned[0]["results"][0])
                instructions.append({"type": "TimelinePinEntry", "entry": entry})
            instructions.append({"type": "TimelineAddEntries", "entries": [top, *entries]})
        else:  # pages 2+: tweets added, cursors replaced (as x.com does)
            instructions.append({"type": "TimelineAddEntries", "entries": entries})
            instructions.append(replace_entry("cursor-top", top))
            if bottom:
                bottom_entry = shapes.cursor_entry("Bottom", bottom)
                instructions.append(replace_entry("cursor-bottom", bottom_entry))
        if op == "UserTweets":
            return shapes.user_tweets_response(instructions, s.user_shape)
        return shapes.search_response(instructions)


def replace_entry(old: str, entry: dict[str, Any]) -> dict[str, Any]:
    return {"type": "TimelineReplaceEntry", "entry_id_to_replace": old, "entry": entry}
