"""The one fenced ``UPDATE`` each transition becomes (see :mod:`roost.core.store.transitions`).

Every statement matches ``(id, RUNNING, lease_id)``. A requested cancel is decided inside the
statement (``CASE``), so a Retry or Release racing the request cannot re-queue the task: the
row's flag at the moment of the write wins. The error history is appended to and trimmed
to :data:`~roost.core.models.ERRORS_KEPT` in the same ``UPDATE``.
"""

from __future__ import annotations

from typing import Any

from ...models import ERRORS_KEPT
from ...store.transitions import Cancel, Checkpoint, Done, Release, Retry, Transition
from .rows import dumps, ms

_FENCE = " WHERE id = ? AND status = 'RUNNING' AND lease_id = ?"
_STILL_EXPIRED = " AND lease_expires_at < ?"
# the history with one entry more (``attempts`` is the row's value before this UPDATE: the
# attempt that ended), oldest dropped past ERRORS_KEPT; a history that is not a JSON array
# (written by hand) starts again rather than failing the transition
_HISTORY = (
    f"(SELECT CASE WHEN json_array_length(e) > {ERRORS_KEPT} THEN json_remove(e, '$[0]')"
    " ELSE e END"
    " FROM (SELECT json_insert(CASE WHEN NOT json_valid(errors) THEN '[]'"
    " WHEN json_type(errors) = 'array' THEN errors ELSE '[]' END,"
    " '$[#]', json_object('attempt', attempts, 'at', ?, 'error', ?)) AS e))"
)
_DONE = (
    "UPDATE tasks SET status = 'DONE', result = ?, updated_at = ?, finished_at = ?,"
    " lease_expires_at = NULL, dedupe_key = NULL, cancel_requested = 0" + _FENCE
)
# Retry and Release: PENDING again, the lock dropped; CANCELLED when a cancel was requested
_BACK = (
    "UPDATE tasks SET"
    " status = CASE WHEN cancel_requested THEN 'CANCELLED' ELSE 'PENDING' END,"
    " next_run_at = CASE WHEN cancel_requested THEN next_run_at ELSE ? END,"
    " finished_at = CASE WHEN cancel_requested THEN ? END,"
    " dedupe_key = CASE WHEN cancel_requested THEN NULL ELSE dedupe_key END,"
    " cancel_requested = 0, updated_at = ?, attempts = attempts - ?,"
    " last_error = coalesce(?, last_error){history},"
    " locked_by = NULL, locked_at = NULL, lease_id = NULL, lease_expires_at = NULL" + _FENCE
)
_BACK_PLAIN = _BACK.format(history="")
_BACK_ERROR = _BACK.format(history=", errors = " + _HISTORY)
_FAIL = (
    "UPDATE tasks SET status = 'FAILED', last_error = ?, errors = " + _HISTORY + ","
    " updated_at = ?, finished_at = ?, lease_expires_at = NULL, dedupe_key = NULL,"
    " cancel_requested = 0" + _FENCE
)
_CANCEL = (
    "UPDATE tasks SET status = 'CANCELLED', updated_at = ?, finished_at = ?,"
    " lease_expires_at = NULL, dedupe_key = NULL, cancel_requested = 0" + _FENCE
)
_CHECKPOINT = "UPDATE tasks SET checkpoint = ?, updated_at = ?" + _FENCE


def change_statement(change: Transition, now: int) -> tuple[str, tuple[Any, ...]]:
    """The one ``UPDATE`` (and its parameters) that carries out ``change`` at ``now`` (ms)."""
    fence = (change.task_id, change.lease_id)
    if isinstance(change, Done):
        return _DONE, (dumps(change.result), now, now, *fence)
    if isinstance(change, Release):
        return _BACK_PLAIN, (now, now, now, 1, None, *fence)
    if isinstance(change, Checkpoint):
        return _CHECKPOINT, (dumps(change.data), now, *fence)
    sql: str
    params: tuple[Any, ...]
    if isinstance(change, Retry):
        back = (ms(change.run_at), now, now, 0 if change.charge else 1, change.error)
        if change.error is None:
            sql, params = _BACK_PLAIN, (*back, *fence)
        else:
            sql, params = _BACK_ERROR, (*back, now, change.error, *fence)
    elif isinstance(change, Cancel):
        sql, params = _CANCEL, (now, now, *fence)
    else:
        sql, params = _FAIL, (change.error, now, change.error, now, now, *fence)
    if change.expired_before is None:
        return sql, params
    return sql + _STILL_EXPIRED, (*params, ms(change.expired_before))
