"""The registry of live workers on the SQLite engine: one row per worker process.

A few rows (one per process), read whole: no index beyond the key. A worker replaces its
row on every heartbeat; reading the list deletes the rows of workers dead for over an hour
(only when there are some: an idle dashboard does not write).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from ...models import WorkerInfo
from ..salvage import dict_list
from .errors import translate
from .rows import dumps, from_ms, loads, ms

PRUNE_AFTER = timedelta(hours=1)


def _info(row: sqlite3.Row) -> WorkerInfo:
    return WorkerInfo(
        worker_id=row["worker_id"],
        host=row["host"],
        pid=row["pid"],
        started_at=from_ms(row["started_at"]),  # type: ignore[arg-type]
        last_seen_at=from_ms(row["last_seen_at"]),  # type: ignore[arg-type]
        expires_at=from_ms(row["expires_at"]),  # type: ignore[arg-type]
        running=bool(row["running"]),
        inflight=row["inflight"],
        max_concurrent=row["max_concurrent"],
        types=loads(row["types"]),
        slots=dict_list(loads(row["slots"])),
    )


class WorkerRegistry:
    """Mixed into :class:`~.engine.SQLiteStore` (which provides the connection)."""

    path: str
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _read: Callable[[], AbstractContextManager[sqlite3.Connection]]

    @translate
    def beat_worker(self, info: WorkerInfo) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO workers (worker_id, host, pid, started_at,"
                " last_seen_at, expires_at, running, inflight, max_concurrent, types, slots)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    info.worker_id,
                    info.host,
                    info.pid,
                    ms(info.started_at),
                    ms(info.last_seen_at),
                    ms(info.expires_at),
                    int(info.running),
                    info.inflight,
                    info.max_concurrent,
                    dumps(info.types),
                    dumps(info.slots),
                ),
            )

    @translate
    def remove_worker(self, worker_id: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM workers WHERE worker_id = ?", (worker_id,))

    @translate
    def list_workers(self, now: datetime) -> list[WorkerInfo]:
        now_ms, prune_ms = ms(now), ms(now - PRUNE_AFTER)
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM workers ORDER BY started_at, worker_id").fetchall()
        if any(row["expires_at"] < prune_ms for row in rows):
            with self._write() as conn:
                conn.execute("DELETE FROM workers WHERE expires_at < ?", (prune_ms,))
        return [_info(row) for row in rows if row["expires_at"] > now_ms]
