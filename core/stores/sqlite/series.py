"""The dashboard's reads on the SQLite engine: finished tasks per minute, queue samples.

Finished tasks are grouped through ``tasks_finished`` (``status, finished_at``; the index
retention purges by): one grouped count per status over the hour, then, for each minute
that has some, the times of its newest :data:`~roost.core.series.SAMPLED` per status. No
b-tree an enqueue or a DONE touches is added. Queue samples live in ``queue_samples``, one
row per (minute, worker), created on the first write (a database made by an older roost
has no such table until a worker samples: reads then find none).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from ...models import FINISHED, TaskStatus, utcnow
from ...series import KEEP_SAMPLES, FinishedMinute, QueueSample, minute_of
from .errors import translate
from .rows import from_ms, ms

MINUTE_MS = 60_000
SAMPLES_TABLE = """
CREATE TABLE IF NOT EXISTS queue_samples (
    minute INTEGER NOT NULL,
    worker_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    running INTEGER NOT NULL,
    retried INTEGER NOT NULL,
    PRIMARY KEY (minute, worker_id)
) WITHOUT ROWID
"""
_ADD = (
    "INSERT INTO queue_samples (minute, worker_id, at, pending, running, retried)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (minute, worker_id) DO UPDATE SET"
    " at = excluded.at, pending = excluded.pending, running = excluded.running,"
    " retried = retried + excluded.retried"
)
# on the partial indexes of the two states (``tasks_claim``, ``tasks_lease``): no table scan
_DEPTH = (
    "SELECT (SELECT count(*) FROM tasks WHERE status = 'PENDING'),"
    " (SELECT count(*) FROM tasks WHERE status = 'RUNNING')"
)
_STATUSES = [s for s in TaskStatus if s in FINISHED]  # a fixed order


def _counts(status: TaskStatus) -> str:
    # the status is written into the SQL (an enum value): the partial index needs it literal
    return (
        "SELECT finished_at / 60000, count(*) FROM tasks INDEXED BY tasks_finished"
        f" WHERE status = '{status.value}' AND finished_at >= ? AND finished_at < ?"
        " GROUP BY 1"
    )


def _times(status: TaskStatus) -> str:
    return (
        "SELECT max(0, locked_at - next_run_at), max(0, finished_at - locked_at)"
        f" FROM tasks INDEXED BY tasks_finished WHERE status = '{status.value}'"
        " AND finished_at >= ? AND finished_at < ? AND locked_at IS NOT NULL"
        " ORDER BY finished_at DESC LIMIT ?"
    )


def _at(value: int) -> datetime:
    at = from_ms(value)
    assert at is not None
    return at


class Series:
    """Mixed into :class:`~.engine.SQLiteStore` (which provides the connection)."""

    path: str
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _read: Callable[[], AbstractContextManager[sqlite3.Connection]]

    @translate
    def finished_minutes(
        self, start: datetime, end: datetime, sampled: int
    ) -> list[FinishedMinute]:
        found: dict[int, FinishedMinute] = {}
        with self._read() as conn:
            for status in _STATUSES:
                for minute, count in conn.execute(_counts(status), (ms(start), ms(end))):
                    entry = found.setdefault(minute, FinishedMinute(_at(minute * MINUTE_MS), {}))
                    entry.counts[status] = count
            for minute, entry in found.items():
                bounds = (minute * MINUTE_MS, (minute + 1) * MINUTE_MS, sampled)
                for status in entry.counts:
                    for wait, run in conn.execute(_times(status), bounds):
                        entry.waits.append(wait / 1000)
                        entry.runs.append(run / 1000)
        return [found[m] for m in sorted(found)]

    @translate
    def add_queue_sample(self, worker_id: str, at: datetime, retried: int) -> QueueSample:
        minute = minute_of(at)
        with self._write() as conn:
            pending, running = conn.execute(_DEPTH).fetchone()
            conn.execute(SAMPLES_TABLE)
            conn.execute(_ADD, (ms(minute), worker_id, ms(at), pending, running, retried))
            (total,) = conn.execute(
                "SELECT retried FROM queue_samples WHERE minute = ? AND worker_id = ?",
                (ms(minute), worker_id),
            ).fetchone()
            conn.execute(
                "DELETE FROM queue_samples WHERE minute < ?", (ms(utcnow() - KEEP_SAMPLES),)
            )
        return QueueSample(minute, worker_id, at, pending, running, total)

    @translate
    def queue_samples(self, since: datetime) -> list[QueueSample]:
        try:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT minute, worker_id, at, pending, running, retried"
                    " FROM queue_samples WHERE minute >= ? ORDER BY minute, worker_id",
                    (ms(since),),
                ).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # no worker sampled this database yet
            raise
        return [QueueSample(_at(m), w, _at(at), p, r, n) for m, w, at, p, r, n in rows]
