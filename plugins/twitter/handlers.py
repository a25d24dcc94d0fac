"""What SEARCH and ACCOUNT handlers share: page-by-page saving and the result summary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from roost.core.tasktypes import TaskContext

from .models import Tweet

COLLECTION = "tweets"


def tweet_record(tweet: Tweet) -> dict[str, Any]:
    return tweet.model_dump(mode="json", exclude_none=True)


class PageSaver:
    """``on_page`` for a runtime: saves each page's tweets and checkpoints the cursor.

    A retried task starts from :attr:`cursor` (the last saved one) instead of the top.
    """

    def __init__(self, ctx: TaskContext) -> None:
        self.ctx = ctx
        checkpoint = ctx.task.checkpoint or {}
        self.cursor: str | None = checkpoint.get("cursor")
        self.saved = int(checkpoint.get("saved", 0))
        self.first_id: str | None = checkpoint.get("firstId")
        self.last_id: str | None = checkpoint.get("lastId")

    async def __call__(self, tweets: list[Tweet], cursor: str | None) -> None:
        if tweets:
            self.saved += await self.ctx.save(COLLECTION, map(tweet_record, tweets))
            self.first_id = self.first_id or tweets[0].id
            self.last_id = tweets[-1].id
        self.cursor = cursor
        await self.ctx.checkpoint(
            {
                "cursor": cursor,
                "saved": self.saved,
                "firstId": self.first_id,
                "lastId": self.last_id,
            }
        )

    def done(self, limit: int) -> bool:
        """True when an earlier run already saved ``limit`` tweets or reached the end."""
        resumed = self.ctx.task.checkpoint is not None
        return resumed and (self.saved >= limit or self.cursor is None)

    def summary(self) -> dict[str, Any]:
        return {"count": self.saved, "firstId": self.first_id, "lastId": self.last_id}

    async def finish(self, tweets: list[Tweet]) -> dict[str, Any]:
        """Save what ``on_page`` did not see (a runtime may not page) and summarise."""
        if self.saved == 0 and tweets:
            await self(tweets, None)
        return self.summary()


Fetch = Callable[[int, str | None, PageSaver], Awaitable[list[Tweet]]]


async def collect(ctx: TaskContext, limit: int, fetch: Fetch) -> dict[str, Any]:
    """Run ``fetch(remaining, cursor, on_page)`` from where an earlier run of the task
    stopped, saving page by page; returns the summary stored on the task."""
    saver = PageSaver(ctx)
    if saver.done(limit):
        return saver.summary()
    return await saver.finish(await fetch(limit - saver.saved, saver.cursor, saver))
