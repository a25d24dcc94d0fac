"""The mock Twitter runtime: deterministic fake tweets, settable latency and failure rate.

Lets the whole pipeline (API -> queue -> worker -> stored tweets) run and be load-tested
without X. Same query or user, same tweets, every time.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from roost.core.errors import PermanentError
from roost.core.hookspecs import hookimpl
from roost.core.tasktypes import RuntimeSpec
from roost.plugins.twitter import OnPage, Paging, SearchFilters, Tweet, User

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class MockSettings(BaseModel):
    """``[runtime.mock]``."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(20.0, ge=0, description="simulated time per page")
    latency_jitter_ms: float = Field(0.0, ge=0, description="+/- random spread of the latency")
    failure_rate: float = Field(0.0, ge=0, le=1, description="share of calls that raise")
    page_size: int = Field(20, ge=1, le=200)
    max_results: int = Field(200, ge=0, description="tweets a query or user has in all")
    seed: int = 0
    unknown_users: list[str] = Field(
        default_factory=lambda: ["unknown_user"],
        description="handles that answer 'account does not exist' (a PermanentError)",
    )


class MockFailure(RuntimeError):
    """The simulated, retryable failure (``failure_rate``)."""


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


class MockRuntime:
    def __init__(self, settings: MockSettings | None = None) -> None:
        self.settings = settings or MockSettings()
        self._rand = random.Random(self.settings.seed)
        self.calls = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def _page_delay(self) -> None:
        s = self.settings
        spread = s.latency_jitter_ms * (2 * self._rand.random() - 1)
        await asyncio.sleep(max(0.0, s.latency_ms + spread) / 1000)

    def _fail_maybe(self, what: str) -> None:
        self.calls += 1
        if self.settings.failure_rate and self._rand.random() < self.settings.failure_rate:
            raise MockFailure(f"mock runtime: simulated failure during {what}")

    def _author(self, handle: str) -> User:
        n = _digest("user", handle)
        return User(
            id=str(10**17 + n % 10**17),
            screen_name=handle,
            name=handle.replace("_", " ").title(),
            followers=n % 1_000_000,
            following=n % 5_000,
        )

    def _tweet(self, key: str, index: int, text: str, author: User) -> Tweet:
        n = _digest(key, index)
        return Tweet(
            # ids above 2**53, newest first, like X's snowflakes
            id=str(1_900_000_000_000_000_000 - _digest(key) % 10**15 * 1000 - index),
            text=text,
            created_at=EPOCH - timedelta(minutes=index * 7 + n % 7),
            author=author,
            lang="en",
            likes=n % 5000,
            retweets=n % 700,
            replies=n % 90,
            views=n % 100_000,
        )

    async def _pages(
        self,
        key: str,
        limit: int,
        make: Callable[[int], Tweet],
        cursor: str | None,
        on_page: OnPage | None,
    ) -> list[Tweet]:
        """The cursor is the index of the next tweet; the last page has none."""
        paging = Paging(limit, cursor)
        index = int(cursor) if cursor and cursor.isdigit() else 0
        total = self.settings.max_results
        while not paging.finished and index < total:
            await self._page_delay()
            self._fail_maybe(key)
            end = min(index + self.settings.page_size, total)
            new = paging.take(map(make, range(index, end)), str(end) if end < total else None)
            index = end
            if on_page is not None:
                await on_page(new, paging.next_cursor)
        return paging.tweets

    async def search(
        self,
        query: str,
        filters: SearchFilters,
        limit: int,
        *,
        cursor: str | None = None,
        on_page: OnPage | None = None,
    ) -> list[Tweet]:
        key = f"search:{query}:{filters.model_dump_json(exclude_defaults=True)}"

        def make(i: int) -> Tweet:
            handle = filters.from_user or f"user{_digest(key, i, 'a') % 500}"
            return self._tweet(key, i, f"{query} #{i} (mock)", self._author(handle))

        return await self._pages(key, limit, make, cursor, on_page)

    async def account_tweets(
        self,
        username: str,
        limit: int,
        *,
        cursor: str | None = None,
        on_page: OnPage | None = None,
    ) -> list[Tweet]:
        if username.lower() in {u.lower() for u in self.settings.unknown_users}:
            raise PermanentError(f"account @{username} does not exist")
        key = f"account:{username.lower()}"
        author = self._author(username)
        return await self._pages(
            key,
            limit,
            lambda i: self._tweet(key, i, f"post {i} by @{username}", author),
            cursor,
            on_page,
        )


@hookimpl(trylast=True)
def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
    register(
        RuntimeSpec(
            name="mock",
            factory=MockRuntime,
            settings_model=MockSettings,
            description="deterministic fake tweets; no network",
        )
    )
