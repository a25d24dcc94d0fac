"""One search/account run in the browser: the shared paging state plus the browser's own stops.

Dedupe, the limit, the cursor and the end of results are :class:`Paging`'s (the handlers
checkpoint by the same rules); a browser walk also stops on a repeated cursor, on pages
that bring nothing new, and when its time budget is used. Pure: no browser here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from roost.plugins.twitter.models import Tweet
from roost.plugins.twitter.paging import Paging

from .parser import Page


@dataclass(kw_only=True)
class Run(Paging):
    """:class:`Paging` that also stops on a repeated cursor, empty pages or the time budget.

    It survives a slot switch or a browser restart: the next slot starts at ``cursor``.
    """

    budget: float = 300.0
    max_empty_pages: int = 3
    clock: Callable[[], float] = time.monotonic
    _empty: int = field(default=0, init=False)
    _cursors: set[str] = field(default_factory=set, init=False)
    _started: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._started = self.clock()
        if self.cursor:
            self._cursors.add(self.cursor)

    def remaining_time(self) -> float:
        return max(0.0, self.budget - (self.clock() - self._started))

    def add(self, page: Page) -> list[Tweet]:
        """Take a page's new tweets (up to the limit) and decide whether another page is needed."""
        bottom = page.bottom_cursor
        new = self.take(page.tweets, bottom)
        self._empty = 0 if new else self._empty + 1
        if bottom in self._cursors:
            self.stop("cursor repeated")
        elif self._empty >= self.max_empty_pages:
            self.stop(f"{self._empty} pages without a new tweet")
        elif self.remaining_time() <= 0:
            self.stop("time budget used")
        if bottom:
            self._cursors.add(bottom)
        return new
