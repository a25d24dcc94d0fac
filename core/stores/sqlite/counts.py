"""The SQLite engine's per-type counts (a mixin of :class:`.engine.SQLiteStore`): one
grouped read of the tasks table.

It reads the whole table (no index on ``type``: one would cost every enqueue a b-tree
page), so callers cache it for a few seconds (the metrics plugin does); it runs in the
store's threads, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ...models import TaskStatus
from ...store.counts import TypeCount
from .errors import translate
from .rows import from_ms

TYPE_COUNTS = (
    "SELECT type, status, count(*),"
    " min(CASE WHEN status = 'PENDING' THEN next_run_at END)"
    " FROM tasks GROUP BY type, status"
)


class SQLiteCounts:
    path: str
    _read: Callable[[], AbstractContextManager[Any]]

    @translate
    def type_counts(self) -> list[TypeCount]:
        with self._read() as conn:
            rows = conn.execute(TYPE_COUNTS).fetchall()
        return [
            TypeCount(type_, TaskStatus(status), count, from_ms(oldest))
            for type_, status, count, oldest in rows
            if status in TaskStatus.__members__  # a damaged row's status is no state
        ]
