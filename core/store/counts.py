"""``TypeCount``: how many tasks of one type are in one status, and since when the oldest
due one waits, the answer of :meth:`TaskStore.type_counts` (metrics gauges, summaries)."""

from __future__ import annotations

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
