"""The SQLite engine's :class:`~roost.core.records.RecordStore`: two tables of its own.

``records`` holds each record once per ``(collection, key)``; ``record_tasks`` says which
tasks found it. It shares the engine's :class:`.connection.Connection` (and its lock).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ...models import RecordPage, utcnow
from ...records import RecordStore
from .connection import Connection
from .errors import translate
from .rows import ms


class SQLiteRecords(RecordStore):
    def __init__(self, db: Connection) -> None:
        self.path = db.path  # named in the errors :func:`.errors.translate` raises
        self._write = db.write
        self._read = db.read

    @translate
    def save(
        self, collection: str, records: Iterable[Mapping[str, Any]], key: str, task_id: str
    ) -> int:
        now = ms(utcnow())
        rows = [(collection, str(r[key]), json.dumps(r, default=str), now, now) for r in records]
        with self._write() as conn:
            # the order this task found them in: after what it found before (a record it
            # finds again keeps its first place: OR IGNORE on record_tasks_key)
            (last,) = conn.execute(
                "SELECT coalesce(max(seq), 0) FROM record_tasks WHERE collection = ?"
                " AND task_id = ?",
                (collection, task_id),
            ).fetchone()
            conn.executemany(
                "INSERT INTO records (collection, key, doc, first_seen_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, key)"
                " DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                rows,
            )
            conn.executemany(
                "INSERT OR IGNORE INTO record_tasks (collection, task_id, seq, key)"
                " VALUES (?, ?, ?, ?)",
                [(collection, task_id, last + i, r[1]) for i, r in enumerate(rows, 1)],
            )
        return len(rows)

    @translate
    def find(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        with self._read() as conn:
            if task_id is None:
                rows = conn.execute(
                    "SELECT key, doc FROM records WHERE collection = ? ORDER BY key LIMIT ?",
                    (collection, limit),
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT r.key, r.doc FROM record_tasks t JOIN records r"
                    " ON r.collection = t.collection AND r.key = t.key"
                    " WHERE t.collection = ? AND t.task_id = ? ORDER BY r.key LIMIT ?",
                    (collection, task_id, limit),
                ).fetchall()
            return _with_task_ids(conn, collection, rows)

    @translate
    def found_by(
        self, collection: str, task_id: str, *, limit: int = 100, after: str | None = None
    ) -> RecordPage:
        """Pages on ``record_tasks``' key ``(collection, task_id, seq)``: ``next`` is the
        last ``seq`` of the page, as text."""
        start = _position(after)
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (got {limit})")
        with self._read() as conn:
            rows = conn.execute(
                "SELECT t.seq, t.key, r.doc FROM record_tasks t JOIN records r"
                " ON r.collection = t.collection AND r.key = t.key"
                " WHERE t.collection = ? AND t.task_id = ? AND t.seq > ?"
                " ORDER BY t.seq LIMIT ?",
                (collection, task_id, start, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            records = _with_task_ids(conn, collection, [(key, doc) for _, key, doc in rows])
        return RecordPage(records, str(rows[-1][0]) if more else None)


def _position(after: str | None) -> int:
    if after is None:
        return 0
    if not (after.isascii() and after.isdigit()) or len(after) > 18:
        raise ValueError(f"{after!r} is not a position in a task's records (give a page's next)")
    return int(after)


def _with_task_ids(
    conn: sqlite3.Connection, collection: str, rows: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Each record's stored fields and ``taskIds`` (every task that found it, oldest first)."""
    found: dict[str, list[str]] = {key: [] for key, _ in rows}
    keys = list(found)
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for key, task in conn.execute(
            "SELECT key, task_id FROM record_tasks INDEXED BY record_tasks_key"
            f" WHERE collection = ? AND key IN ({','.join('?' * len(chunk))})"
            " ORDER BY key, task_id",
            (collection, *chunk),
        ):
            found[key].append(task)
    out = []
    for key, doc in rows:
        record = json.loads(doc)
        record["taskIds"] = found[key]
        out.append(record)
    return out
