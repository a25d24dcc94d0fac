"""What SEARCH and ACCOUNT handlers share: page-by-page saving and the result summary."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from roost.core.tasktypes import TaskContext

from .models import Tweet
from .paging import Paging
from .runtime import OnPage

COLLECTION = "tweets"


def tweet_record(tweet: Tweet) -> dict[str, Any]:
    return tweet.model_dump(mode="json", exclude_none=True)


#: ``fetch(limit, cursor, on_page)``: one runtime call, e.g. ``runtime.search(...)``.
Fetch = Callable[[int, str | None, OnPage], Awaitable[list[Tweet]]]


async def collect(ctx: TaskContext, limit: int, fetch: Fetch) -> dict[str, Any]:
    """Run ``fetch`` from where an earlier run of the task stopped, saving and checkpointing
    page by page; returns the summary stored on the task."""
    paging = Paging.resume(ctx.task.checkpoint, limit)
    if paging.finished:  # an earlier run saved the limit or reached the end
        return paging.summary()

    async def on_page(tweets: list[Tweet], cursor: str | None) -> None:
        await ctx.save(COLLECTION, map(tweet_record, paging.take(tweets, cursor)))
        await ctx.checkpoint(paging.checkpoint())

    tweets = await fetch(paging.remaining, paging.cursor, on_page)
    if paging.pages == 0 and tweets:  # a runtime that does not page hands over all at the end
        await on_page(tweets, None)
    return paging.summary()
