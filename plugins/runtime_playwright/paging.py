"""One search/account run across pages and slots: dedupe, cursor, when to stop. Pure."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from roost.plugins.twitter.models import Tweet

from .parser import Page

log = logging.getLogger("roost.playwright")


@dataclass
class Run:
    """Collects tweets until the limit, a repeated or missing cursor, empty pages or the budget."""

    limit: int
    cursor: str | None = None  # where the next page starts; what a retry resumes from
    budget: float = 300.0
    max_empty_pages: int = 3
    clock: Callable[[], float] = time.monotonic
    tweets: list[Tweet] = field(default_factory=list)
    pages: int = 0
    stop_reason: str | None = None
    _seen: set[str] = field(default_factory=set)
    _empty: int = 0
    _cursors: set[str] = field(default_factory=set)
    _started: float = 0.0

    def __post_init__(self) -> None:
        self._started = self.clock()
        if self.cursor:
            self._cursors.add(self.cursor)
        if self.limit <= 0:
            self.stop("limit reached")

    @property
    def finished(self) -> bool:
        return self.stop_reason is not None

    def remaining_time(self) -> float:
        return max(0.0, self.budget - (self.clock() - self._started))

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def add(self, page: Page) -> list[Tweet]:
        """Take a page's new tweets (up to the limit) and decide whether another page is needed."""
        self.pages += 1
        new = []
        for tweet in page.tweets:
            if tweet.id in self._seen:
                continue
            if len(self.tweets) >= self.limit:
                break
            self._seen.add(tweet.id)
            self.tweets.append(tweet)
            new.append(tweet)
        self._empty = 0 if new else self._empty + 1
        bottom = page.bottom_cursor
        if len(self.tweets) >= self.limit:
            self.stop("limit reached")
        elif bottom is None:
            self.stop("no bottom cursor")
        elif bottom in self._cursors:
            self.stop("cursor repeated")
        elif self._empty >= self.max_empty_pages:
            self.stop(f"{self._empty} pages without a new tweet")
        elif self.remaining_time() <= 0:
            self.stop("time budget used")
        if bottom:
            self._cursors.add(bottom)
            self.cursor = bottom
        return new

    @property
    def next_cursor(self) -> str | None:
        """What ``on_page`` checkpoints: None once the run is over."""
        return None if self.finished else self.cursor
