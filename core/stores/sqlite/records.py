"""The SQLite engine's :class:`~roost.core.records.RecordStore`: two tables of its own.

``records`` holds each record once per ``(collection, key)``; ``record_tasks`` says which
tasks found it. It shares the engine's :class:`.connection.Connection` (and its lock).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ...models import utcnow
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
            conn.executemany(
                "INSERT INTO records (collection, key, doc, first_seen_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (collection, key)"
                " DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                rows,
            )
            conn.executemany(
                "INSERT OR IGNORE INTO record_tasks (collection, task_id, key) VALUES (?, ?, ?)",
                [(collection, task_id, r[1]) for r in rows],
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
            out = []
            for key, doc in rows:
                record = json.loads(doc)
                record["taskIds"] = [
                    r[0]
                    for r in conn.execute(
                        "SELECT task_id FROM record_tasks WHERE collection = ? AND key = ?",
                        (collection, key),
                    )
                ]
                out.append(record)
        return out
