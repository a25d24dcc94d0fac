"""``TypeCount``: how many tasks of one type are in one status, and since when the oldest
due one waits, the answer of :meth:`TaskStore.type_counts` (metrics gauges, summaries,
``GET /queue/types``), and :class:`CachedCounts`, the read those callers share."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ..models import TaskStatus

if TYPE_CHECKING:
    from .dispatch import AsyncStore


@dataclass(frozen=True, slots=True)
class TypeCount:
    """``count`` tasks of ``type`` in ``status``; for PENDING, ``oldest_due`` is the earliest
    ``next_run_at`` among them (None for other statuses): its age is how long the oldest
    waits, once it is in the past."""

    type: str
    status: TaskStatus
    count: int
    oldest_due: datetime | None = None


async def type_counts(store: AsyncStore) -> list[TypeCount]:
    """:meth:`TaskStore.type_counts` in ``store``'s threads, like its other reads (a function
    here, not a method there: it is no steering call, and :class:`AsyncStore` is full)."""
    return await store._in_threads(lambda s: s.type_counts())


class CachedCounts:
    """:func:`type_counts` read at most every ``seconds`` (the grouped read touches every
    task); callers that come while a read is under way wait for it and share it. A failed
    read raises and is tried again by the next caller."""

    def __init__(self, store: AsyncStore, seconds: float) -> None:
        self.store = store
        self.seconds = seconds
        self.counts: list[TypeCount] = []
        self.read_at: float | None = None  # monotonic time of the last good read
        self._lock = asyncio.Lock()

    async def read(self) -> list[TypeCount]:
        async with self._lock:
            if self.read_at is None or time.monotonic() - self.read_at >= self.seconds:
                self.counts = await type_counts(self.store)
                self.read_at = time.monotonic()
            return self.counts
