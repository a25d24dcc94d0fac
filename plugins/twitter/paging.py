"""Where a walk through a search or a timeline stands: the one home of the resume state.

The handlers keep a :class:`Paging` across the runs of a task (it is what they checkpoint,
so a retry carries on from the last saved page); each runtime keeps one for a single call
(which tweets are new, when the limit or the end is reached). Both follow the same rules,
so what a runtime hands over and what a handler saves and counts cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from .models import Tweet

LIMIT_REACHED = "limit reached"
#: X never says "the end": a page without a cursor to the next one is the end.
END_OF_RESULTS = "no bottom cursor"


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass
class Paging:
    """Tweets taken so far, deduplicated, up to ``limit``; why the walk stopped.

    ``count``, ``first_id`` and ``last_id`` include earlier runs when resumed from a
    checkpoint; ``tweets``, ``pages`` and the dedupe of seen ids are this run's.
    """

    limit: int
    cursor: str | None = None  # where the next page starts
    _: KW_ONLY
    count: int = 0
    first_id: str | None = None
    last_id: str | None = None
    stop_reason: str | None = field(default=None, init=False)
    tweets: list[Tweet] = field(default_factory=list, init=False, repr=False)
    pages: int = field(default=0, init=False)
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.count >= self.limit:
            self.stop(LIMIT_REACHED)

    @classmethod
    def resume(cls, checkpoint: Mapping[str, Any] | None, limit: int) -> Paging:
        """Start at the top, or where an earlier run's checkpoint says it stopped.

        A checkpoint without a cursor means that run reached the end: nothing is left.
        """
        if checkpoint is None:
            return cls(limit)
        paging = cls(
            limit,
            _text(checkpoint.get("cursor")),
            count=int(checkpoint.get("saved") or 0),
            first_id=_text(checkpoint.get("firstId")),
            last_id=_text(checkpoint.get("lastId")),
        )
        if paging.cursor is None:
            paging.stop(END_OF_RESULTS)
        return paging

    @property
    def finished(self) -> bool:
        return self.stop_reason is not None

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def next_cursor(self) -> str | None:
        """What a retry resumes from: None once the walk is over."""
        return None if self.finished else self.cursor

    def stop(self, reason: str) -> None:
        """End the walk; the first reason given is the one kept."""
        if self.stop_reason is None:
            self.stop_reason = reason

    def take(self, tweets: Iterable[Tweet], cursor: str | None) -> list[Tweet]:
        """One page: returns its tweets not seen before, up to the limit.

        ``cursor`` is where the page after it starts; None means there is none.
        """
        self.pages += 1
        new: list[Tweet] = []
        for tweet in tweets:
            if self.count >= self.limit:
                break
            if tweet.id in self._seen:
                continue
            self._seen.add(tweet.id)
            new.append(tweet)
            self.count += 1
        if new:
            self.first_id = self.first_id or new[0].id
            self.last_id = new[-1].id
            self.tweets.extend(new)
        if self.count >= self.limit:
            self.stop(LIMIT_REACHED)
        elif cursor is None:
            self.stop(END_OF_RESULTS)
        if cursor:
            self.cursor = cursor
        return new

    def checkpoint(self) -> dict[str, Any]:
        """What the handlers store on the task after each page; :meth:`resume` reads it."""
        return {"cursor": self.next_cursor, "saved": self.count, **self._ends()}

    def summary(self) -> dict[str, Any]:
        """The task's result: how many tweets, the first and the last."""
        return {"count": self.count, **self._ends()}

    def _ends(self) -> dict[str, str | None]:
        return {"firstId": self.first_id, "lastId": self.last_id}
