"""The operator's calls on the SQLite engine: list, cancel, retry, redrive, purge.

None of them is on the hot path, and their reads cost the hot path one b-tree only: a
status filter reads the partial index of that status (``tasks_failed``, ``tasks_cancelled``,
``tasks_lease`` for RUNNING) or, for PENDING and DONE, walks the table backwards from the
newest id (it is clustered on the id; DONE is most of it); purge walks ``tasks_finished``,
the one index a DONE enters for these calls.
A filter on several statuses is one ``SELECT`` per status, each limited, merged by id in
the same statement (one snapshot), so no arm reads more than a page.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from ...models import FINISHED, RETRYABLE, Task, TaskQuery, TaskStatus, utcnow
from .errors import translate
from .rows import ms, row_to_task

#: how each status is read newest first (see the module docstring)
_BY_STATUS = {
    TaskStatus.PENDING: "NOT INDEXED",
    TaskStatus.RUNNING: "INDEXED BY tasks_lease",
    TaskStatus.DONE: "NOT INDEXED",
    TaskStatus.FAILED: "INDEXED BY tasks_failed",
    TaskStatus.CANCELLED: "INDEXED BY tasks_cancelled",
}
_ORDER = [TaskStatus(s) for s in TaskStatus]  # a fixed order: the same SQL for the same set
_CHUNK = 500  # ids per statement (SQLite allows 32766 parameters)

# PENDING -> CANCELLED at once; RUNNING -> flagged (its worker stops it)
_CANCEL = (
    "UPDATE tasks SET updated_at = ?,"
    " status = CASE status WHEN 'PENDING' THEN 'CANCELLED' ELSE status END,"
    " finished_at = CASE status WHEN 'PENDING' THEN ? ELSE finished_at END,"
    " dedupe_key = CASE status WHEN 'PENDING' THEN NULL ELSE dedupe_key END,"
    " cancel_requested = CASE status WHEN 'RUNNING' THEN 1 ELSE cancel_requested END"
    " WHERE id = ? AND status IN ('PENDING', 'RUNNING') RETURNING *"
)
# FAILED/CANCELLED -> PENDING due now, as new but for the history (and the checkpoint)
_REQUEUE = (
    "UPDATE tasks SET status = 'PENDING', attempts = 0, next_run_at = ?, updated_at = ?,"
    " finished_at = NULL, result = NULL, locked_by = NULL, locked_at = NULL,"
    " lease_id = NULL, lease_expires_at = NULL, cancel_requested = 0"
)


def _statuses(
    asked: Collection[TaskStatus] | None, allowed: Collection[TaskStatus]
) -> list[TaskStatus]:
    wanted = set(allowed) if asked is None else set(asked) & set(allowed)
    return [s for s in _ORDER if s in wanted]


def _arms(
    statuses: Sequence[TaskStatus],
    how: Callable[[TaskStatus], str],
    where: str,
    order: str,
    params: Sequence[Any],
    limit: int,
) -> tuple[str, list[Any]]:
    """``SELECT *`` of up to ``limit`` rows per status, merged: one compound statement. The
    status is written into the SQL (an enum value), not bound: a partial index is usable
    only for a query whose ``WHERE`` names its status literally."""
    arms = [
        f"SELECT * FROM tasks {how(status)} WHERE status = '{status.value}'{where}"
        f" ORDER BY {order} LIMIT ?"
        for status in statuses
    ]
    if len(arms) == 1:
        return arms[0], [*params, limit]
    merged = " UNION ALL ".join(f"SELECT * FROM ({arm})" for arm in arms)
    return f"{merged} ORDER BY {order} LIMIT ?", [*params, limit] * len(arms) + [limit]


class Steering:
    """Mixed into :class:`~.engine.SQLiteStore` (which provides the connection)."""

    path: str
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _read: Callable[[], AbstractContextManager[sqlite3.Connection]]

    @translate
    def list_tasks(self, query: TaskQuery) -> list[Task]:
        where, params = "", list[Any]()
        if query.before is not None:
            where, params = " AND id < ?", [query.before]
        if query.type is not None:
            where, params = where + " AND type = ?", [*params, query.type]
        if query.limit <= 0:  # (a negative LIMIT is no limit to SQLite)
            return []
        if query.statuses is None:
            sql = f"SELECT * FROM tasks WHERE 1{where} ORDER BY id DESC LIMIT ?"
            args = [*params, query.limit]
        else:
            statuses = _statuses(query.statuses, _ORDER)
            if not statuses:
                return []
            sql, args = _arms(
                statuses, _BY_STATUS.__getitem__, where, "id DESC", params, query.limit
            )
        with self._read() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [row_to_task(row) for row in rows]

    @translate
    def cancel(self, task_id: str) -> Task | None:
        now = ms(utcnow())
        with self._write() as conn:
            row = conn.execute(_CANCEL, (now, now, task_id)).fetchone()
        return None if row is None else row_to_task(row)

    @translate
    def cancel_requested(self, task_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self._read() as conn:
            for chunk in _chunks(task_ids):
                found.update(
                    r[0]
                    for r in conn.execute(
                        f"SELECT id FROM tasks WHERE id IN ({','.join('?' * len(chunk))})"
                        " AND status = 'RUNNING' AND cancel_requested = 1",
                        chunk,
                    )
                )
        return found

    @translate
    def retry(self, task_id: str) -> Task | None:
        now = ms(utcnow())
        with self._write() as conn:
            row = conn.execute(
                _REQUEUE + " WHERE id = ? AND status IN ('FAILED', 'CANCELLED') RETURNING *",
                (now, now, task_id),
            ).fetchone()
        return None if row is None else row_to_task(row)

    @translate
    def redrive(self, statuses: Collection[TaskStatus], type: str | None, limit: int) -> int:
        chosen = _statuses(statuses, RETRYABLE)
        if not chosen or limit <= 0:
            return 0
        where, params = ("", []) if type is None else (" AND type = ?", [type])
        oldest, args = _arms(chosen, _BY_STATUS.__getitem__, where, "id", params, limit)
        now = ms(utcnow())
        with self._write() as conn:
            cur = conn.execute(
                _REQUEUE + f" WHERE id IN (SELECT id FROM ({oldest}))", [now, now, *args]
            )
            return cur.rowcount

    @translate
    def purge(
        self, statuses: Collection[TaskStatus], before: datetime, type: str | None, limit: int
    ) -> int:
        chosen = _statuses(statuses, FINISHED)
        if not chosen or limit <= 0:
            return 0
        where = " AND finished_at < ?"
        params: list[Any] = [ms(before)]
        if type is not None:
            where, params = where + " AND type = ?", [*params, type]
        oldest, args = _arms(
            chosen, lambda s: "INDEXED BY tasks_finished", where, "finished_at, id", params, limit
        )
        with self._write() as conn:
            cur = conn.execute(f"DELETE FROM tasks WHERE id IN (SELECT id FROM ({oldest}))", args)
            return cur.rowcount


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])
