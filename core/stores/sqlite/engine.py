"""Embedded SQLite engine (stdlib): the zero-set-up default, safe for several processes.

Writes run under ``BEGIN IMMEDIATE`` so concurrent workers queue on the write lock instead
of failing (the connection and its PRAGMAs: :mod:`.connection`). The claim is one ``UPDATE … RETURNING`` over a partial index of PENDING tasks, pinned with
``INDEXED BY`` so the planner never sorts every pending row (a cost that grows with the queue).
The schema is in :mod:`.schema`, the fenced transitions in :mod:`.changes`, row conversions in
:mod:`.rows`, the operator's calls in :mod:`.steer`, the worker registry in :mod:`.workers`, the
plugin records in :mod:`.records`; this module owns the task queue.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ...errors import ConfigError
from ...models import NewTask, QueueStats, Task, utcnow
from ...store.contract import TaskStore, first_per_task, nothing_to_claim
from ...store.transitions import Transition
from .changes import change_statement
from .connection import Connection
from .counts import SQLiteCounts
from .errors import translate
from .records import SQLiteRecords
from .rows import (
    CLAIMED,
    INSERT,
    claimed_task,
    from_ms,
    ms,
    new_row,
    new_task,
    row_to_task,
)
from .schema import migrate
from .series import Series
from .steer import Steering
from .workers import WorkerRegistry


def path_from_url(url: str) -> str:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or ``sqlite:///:memory:``."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite" or parsed.netloc:
        raise ConfigError(
            f"store.url {url!r}: expected sqlite:///path/to/file.db "
            "(three slashes, then the path; four for an absolute path)"
        )
    path = parsed.path[1:] if parsed.path.startswith("/") else parsed.path
    if not path:
        raise ConfigError(f"store.url {url!r} names no file: use sqlite:///roost.db")
    return path


class SQLiteStore(SQLiteCounts, Steering, WorkerRegistry, Series, TaskStore):
    """One connection per store object, used by one thread at a time. The operator's
    calls are in :mod:`.steer`, the worker registry in :mod:`.workers`."""

    def __init__(self, url: str, *, busy_timeout: float = 10.0, checkpoints: bool = True) -> None:
        self.url = url
        self.path = path_from_url(url)
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.is_dir():
                raise ConfigError(f"store.url {url!r}: folder {parent} does not exist")
        self._db = Connection(self.path, busy_timeout, checkpoints)
        self._write, self._read = self._db.write, self._db.read
        self._records = SQLiteRecords(self._db)

    @property
    def records(self) -> SQLiteRecords:
        return self._records

    @translate
    def setup(self) -> None:
        """Create the schema, or bring a file made by an older roost up to date, in one
        transaction (see :func:`.schema.migrate`)."""
        with self._write() as conn:
            migrate(conn)

    def close(self) -> None:
        self._db.close()

    def nowait(self) -> SQLiteStore | None:
        """A connection that never waits: no busy timeout (a write lock held elsewhere fails
        at once) and no automatic checkpoint (whose fsync would); see :meth:`upkeep`."""
        if self.path == ":memory:":  # a second connection would open another database
            return None
        return SQLiteStore(self.url, busy_timeout=0, checkpoints=False)

    @translate
    def upkeep(self) -> None:
        """Checkpoint the WAL the nowait handle's commits have grown (PASSIVE: never waits
        for readers or writers; what it cannot copy now, a later one will)."""
        with self._read() as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def exists(self) -> bool:
        return self.path == ":memory:" or os.path.exists(self.path)

    def location(self) -> str | None:
        return None if self.path == ":memory:" else os.path.abspath(self.path)

    @translate
    def ping(self) -> None:
        """Reads the tasks table's first page and the claim index's (a few pages, whatever
        the size): damage there is found, as reading only the schema would not."""
        with self._read() as conn:
            conn.execute(
                "SELECT (SELECT id FROM tasks ORDER BY id LIMIT 1),"
                " (SELECT id FROM tasks INDEXED BY tasks_claim WHERE status = 'PENDING'"
                " ORDER BY priority DESC, next_run_at, id LIMIT 1)"
            ).fetchone()

    # -- producers ----------------------------------------------------------------------
    @translate
    def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        now = utcnow()
        now_ms = ms(now)
        out = [new_task(new, now) for new in tasks]
        rows = [new_row(task, new, now_ms) for task, new in zip(out, tasks, strict=True)]
        if len(rows) == 1 and rows[0][-1] is None:
            # one plain INSERT is atomic by itself: no BEGIN/COMMIT round trips around it
            self._db.autocommit(INSERT, rows[0])
            return out
        with self._write() as conn:
            # without a dedupe key nothing can conflict: one executemany for those
            conn.executemany(INSERT, [row for row in rows if row[-1] is None])
            for i, row in enumerate(rows):
                if row[-1] is not None and conn.execute(INSERT, row).rowcount == 0:
                    found = conn.execute(
                        "SELECT * FROM tasks WHERE dedupe_key = ?", (row[-1],)
                    ).fetchone()
                    out[i] = row_to_task(found)
        return out

    # -- worker side --------------------------------------------------------------------
    @translate
    def claim(
        self, worker_id: str, types: Sequence[str] | None, limit: int, lease: float
    ) -> list[Task]:
        if nothing_to_claim(types, limit):
            return []
        now = utcnow()
        now_ms = ms(now)
        lease_ms = now_ms + int(lease * 1000)
        type_filter = ""
        # one lease id for the batch: fences are on (task id, lease id), and a task claimed
        # again gets another batch's id, so a stale run still cannot write
        lease_id = secrets.token_hex(12)
        params: list[Any] = [worker_id, now_ms, lease_id, lease_ms, now_ms, now_ms]
        if types is not None:
            type_filter = f" AND type IN ({','.join('?' * len(types))})"
            params.extend(types)
        params.append(limit)
        with self._write() as conn:
            cur = conn.cursor()
            cur.row_factory = None  # plain tuples: the Task is built positionally below
            rows = cur.execute(
                "UPDATE tasks SET status = 'RUNNING', attempts = attempts + 1,"
                " locked_by = ?, locked_at = ?, lease_id = ?,"
                " lease_expires_at = ?, updated_at = ?"
                " WHERE id IN (SELECT id FROM tasks INDEXED BY tasks_claim WHERE status = 'PENDING'"
                f" AND next_run_at <= ?{type_filter}"
                " ORDER BY priority DESC, next_run_at, id LIMIT ?)"
                " RETURNING " + CLAIMED,
                params,
            ).fetchall()
        expires = from_ms(lease_ms)
        tasks = [claimed_task(row, worker_id, now, lease_id, expires) for row in rows]  # type: ignore[arg-type]
        # RETURNING's order is not the claim's; sorted once read (a bad row's values are not)
        tasks.sort(key=lambda t: (-t.priority, t.next_run_at, t.id))
        return tasks

    @translate
    def apply(self, changes: Sequence[Transition]) -> list[bool]:
        """One transaction, one fenced ``UPDATE`` per change (see :func:`.changes.change_statement`):
        one commit, and a locked database waited out once, however many changes."""
        if not changes:
            return []
        now = ms(utcnow())
        first = first_per_task(changes)
        with self._write() as conn:
            return [
                ok and conn.execute(*change_statement(change, now)).rowcount == 1
                for change, ok in zip(changes, first, strict=True)
            ]

    @translate
    def heartbeat(self, worker_id: str, leases: Mapping[str, str], lease: float) -> set[str]:
        if not leases:
            return set()
        now = ms(utcnow())
        pairs = ",".join("(?, ?)" for _ in leases)
        params: list[Any] = [now + int(lease * 1000), now, worker_id]
        for item in leases.items():
            params.extend(item)
        with self._write() as conn:
            rows = conn.execute(
                "UPDATE tasks SET lease_expires_at = ?, updated_at = ?"
                " WHERE status = 'RUNNING' AND locked_by = ?"
                f" AND (id, lease_id) IN (VALUES {pairs}) RETURNING id",
                params,
            ).fetchall()
        return {r[0] for r in rows}

    @translate
    def find_expired(self, now: datetime, limit: int) -> list[Task]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT * FROM tasks INDEXED BY tasks_lease WHERE status = 'RUNNING'"
                " AND lease_expires_at < ? ORDER BY lease_expires_at LIMIT ?",
                (ms(now), limit),
            ).fetchall()
        return [row_to_task(row) for row in rows]

    # -- reads --------------------------------------------------------------------------
    @translate
    def get(self, task_id: str) -> Task | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return None if row is None else row_to_task(row)

    @translate
    def stats(self) -> QueueStats:
        """One statement (one snapshot); PENDING, RUNNING, FAILED and CANCELLED are counted
        on their partial indexes, DONE is what remains of the table's count."""
        with self._read() as conn:
            pending, running, failed, cancelled, total = conn.execute(
                "SELECT (SELECT count(*) FROM tasks WHERE status = 'PENDING'),"
                " (SELECT count(*) FROM tasks WHERE status = 'RUNNING'),"
                " (SELECT count(*) FROM tasks WHERE status = 'FAILED'),"
                " (SELECT count(*) FROM tasks WHERE status = 'CANCELLED'),"
                " (SELECT count(*) FROM tasks)"
            ).fetchone()
        done = total - pending - running - failed - cancelled
        return QueueStats(
            pending=pending, running=running, done=done, failed=failed, cancelled=cancelled
        )
