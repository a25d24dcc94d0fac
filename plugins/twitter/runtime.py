"""The contract between the Twitter task types and a runtime (mock, Playwright, ...)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from .models import SearchFilters, Tweet

#: Called after each page with the page's new tweets and the cursor to resume from
#: (None at the end). The handlers save the tweets and checkpoint the cursor, so a
#: retried task continues where it stopped.
OnPage = Callable[[list[Tweet], str | None], Awaitable[None]]


@runtime_checkable
class TwitterRuntime(Protocol):
    """What SEARCH and ACCOUNT tasks need from a runtime.

    A runtime walks the pages with a :class:`~roost.plugins.twitter.paging.Paging`
    (``Paging(limit, cursor)``; ``take`` each page, pass ``paging.next_cursor`` to
    ``on_page``, return ``paging.tweets``), so dedupe, the limit and the end of results
    follow the rules the handlers checkpoint by.

    Errors: raise ``PermanentError`` when retrying cannot help (unknown, suspended or
    protected account; expired session), ``RetryAfter(seconds)`` for a rate limit with
    a known reset, anything else for a retryable failure.
    """

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def search(
        self,
        query: str,
        filters: SearchFilters,
        limit: int,
        *,
        cursor: str | None = None,
        on_page: OnPage | None = None,
    ) -> list[Tweet]:
        """Up to ``limit`` tweets matching ``query`` and ``filters``, newest first, deduplicated.

        ``cursor`` resumes a previous run from its last saved position.
        """
        ...

    async def account_tweets(
        self,
        username: str,
        limit: int,
        *,
        cursor: str | None = None,
        on_page: OnPage | None = None,
    ) -> list[Tweet]:
        """Up to ``limit`` tweets from ``username``'s timeline, deduplicated."""
        ...
