"""The SQLite engine's task statements, and conversion between rows and tasks (exact
millisecond times, fast JSON, salvage of rows that do not decode)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic_core import PydanticSerializationError, from_json, to_json

from ...models import ERRORS_KEPT, AttemptError, NewTask, Task, TaskStatus, new_id
from ..salvage import Salvage, sound

INSERT = (
    "INSERT INTO tasks (id, type, status, payload, priority, max_attempts,"
    " created_at, updated_at, next_run_at, dedupe_key)"
    " VALUES (?, ?, 'PENDING', ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING"
)


def new_task(new: NewTask, now: datetime) -> Task:
    """The PENDING :class:`Task` an enqueue stores (and returns)."""
    return Task(
        id=new_id(),
        type=new.type,
        payload=new.payload,
        priority=new.priority,
        max_attempts=new.max_attempts,
        created_at=now,
        updated_at=now,
        next_run_at=new.run_at or now,
        dedupe_key=new.dedupe_key,
    )


def new_row(task: Task, new: NewTask, now: int) -> tuple[Any, ...]:
    """``task``'s parameters for :data:`INSERT` (times in ms; ``now`` when not given)."""
    run_at = now if new.run_at is None else ms(new.run_at)
    return (
        task.id,
        task.type,
        dumps(task.payload),
        task.priority,
        task.max_attempts,
        now,
        now,
        run_at,
        task.dedupe_key,
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def ms(dt: datetime) -> int:
    """An aware datetime to epoch milliseconds, exactly (``timestamp() * 1000`` is a float:
    one time in ~200 came back a millisecond early)."""
    return (dt - _EPOCH) // _MS


_FLOAT_EXACT_MS = 4_000_000_000_000  # to 2096: float seconds still round to the exact µs


def from_ms(value: int | None) -> datetime | None:
    """Epoch milliseconds to a UTC datetime, exactly (float seconds are ~4x faster but, past
    2096, lose the last millisecond: 9999-12-31T23:59:59.999Z read back as .998)."""
    if value is None:
        return None
    if -_FLOAT_EXACT_MS < value < _FLOAT_EXACT_MS:
        return datetime.fromtimestamp(value / 1000, UTC)
    return _EPOCH + timedelta(milliseconds=value)


# JSON through pydantic-core (already a dependency): ~7x faster than the json module on a
# small payload, which a claim decodes once per task
def loads(text: str | None) -> Any:
    return None if text is None else from_json(text)


_encode = json.JSONEncoder(separators=(",", ":")).encode


def dumps(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return to_json(value).decode()
    except PydanticSerializationError:  # e.g. a lone surrogate: the json module escapes it
        return _encode(value)


_STATUS = {status.value: status for status in TaskStatus}


def row_to_task(row: sqlite3.Row) -> Task:
    try:
        task = _row_to_task(row)
    except (ValueError, TypeError, OverflowError, OSError, KeyError):
        task = None
    if task is not None and sound(task):
        return task
    return salvage(dict(zip(row.keys(), row, strict=True)))


def _row_to_task(row: sqlite3.Row) -> Task:
    return Task(
        id=row["id"],
        type=row["type"],
        payload=from_json(row["payload"]),
        status=_STATUS[row["status"]],
        priority=row["priority"],
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        created_at=from_ms(row["created_at"]),  # type: ignore[arg-type]
        updated_at=from_ms(row["updated_at"]),  # type: ignore[arg-type]
        next_run_at=from_ms(row["next_run_at"]),  # type: ignore[arg-type]
        locked_by=row["locked_by"],
        locked_at=from_ms(row["locked_at"]),
        lease_id=row["lease_id"],
        lease_expires_at=from_ms(row["lease_expires_at"]),
        finished_at=from_ms(row["finished_at"]),
        result=loads(row["result"]),
        last_error=row["last_error"],
        checkpoint=loads(row["checkpoint"]),
        dedupe_key=row["dedupe_key"],
        cancel_requested=_FLAG[row["cancel_requested"]],
        errors=history(row["errors"]),
    )


_FLAG = {0: False, 1: True}


def history(text: str | None) -> list[AttemptError]:
    """The ``errors`` column: a JSON list of ``{attempt, at (ms), error}``, oldest first;
    the newest :data:`ERRORS_KEPT` are kept (a longer list was written by hand)."""
    if text is None:
        return []
    entries = from_json(text)
    if type(entries) is not list:
        raise ValueError("errors is not a JSON array")
    out = []
    for e in entries[-ERRORS_KEPT:]:
        attempt, at, error = e["attempt"], e["at"], e["error"]
        if type(attempt) is not int or type(at) is not int or type(error) is not str:
            raise ValueError("an errors entry is not {attempt, at, error}")
        out.append(AttemptError(attempt, from_ms(at), error))  # type: ignore[arg-type]
    return out


# what a claim reads back: the columns a PENDING task can differ in (the rest are known)
CLAIMED = (
    "id, type, payload, priority, attempts, max_attempts, created_at, next_run_at,"
    " last_error, checkpoint, dedupe_key, errors"
)
CLAIMED_COLUMNS = CLAIMED.replace(" ", "").split(",")


def claimed_task(
    row: tuple[Any, ...], worker_id: str, now: datetime, lease_id: str, expires: datetime
) -> Task:
    """The :class:`Task` a claim returns, from a ``RETURNING CLAIMED`` row: a third of
    :func:`row_to_task`'s cost, which matters at one call per task run. A row that does
    not decode is salvaged, so one bad row cannot fail the claim of its batch."""
    try:
        task = _claimed_task(row, worker_id, now, lease_id, expires)
    except (ValueError, TypeError, OverflowError, OSError, KeyError):
        task = None
    if task is not None and sound(task):
        return task
    known = {
        "status": TaskStatus.RUNNING.value,
        "updated_at": now,
        "locked_by": worker_id,
        "locked_at": now,
        "lease_id": lease_id,
        "lease_expires_at": expires,
    }
    return salvage({**dict(zip(CLAIMED_COLUMNS, row, strict=True)), **known})


def _claimed_task(
    row: tuple[Any, ...], worker_id: str, now: datetime, lease_id: str, expires: datetime
) -> Task:
    tid, type_, payload, priority, attempts, max_attempts, created, next_run = row[:8]
    last_error, checkpoint, dedupe_key, errors = row[8:]
    return Task(
        tid,
        type_,
        from_json(payload),
        TaskStatus.RUNNING,
        priority,
        attempts,
        max_attempts,
        from_ms(created),  # type: ignore[arg-type]
        now,
        from_ms(next_run),  # type: ignore[arg-type]
        worker_id,
        now,
        lease_id,
        expires,
        None,
        None,
        last_error,
        loads(checkpoint),
        dedupe_key,
        False,  # a PENDING task has no cancel request (each way out of RUNNING clears it)
        [] if errors is None else history(errors),
    )


def salvage(row: dict[str, Any]) -> Task:
    """A task from a row that does not decode as written; see :mod:`.salvage`."""
    s = Salvage(ms=True)
    return s.task(
        id=str(row["id"]),
        type=s.text("type", row.get("type"), required=True),
        payload=s.obj("payload", s.json("payload", row.get("payload")), required=True),
        status=s.status("status", row.get("status")),
        priority=s.integer("priority", row.get("priority"), 0),
        attempts=s.integer("attempts", row.get("attempts"), 0),
        max_attempts=s.integer("max_attempts", row.get("max_attempts"), 3),
        created_at=s.time("created_at", row.get("created_at"), required=True),
        updated_at=s.time("updated_at", row.get("updated_at"), required=True),
        next_run_at=s.time("next_run_at", row.get("next_run_at"), required=True),
        locked_by=s.text("locked_by", row.get("locked_by")),
        locked_at=s.time("locked_at", row.get("locked_at")),
        lease_id=s.text("lease_id", row.get("lease_id")),
        lease_expires_at=s.time("lease_expires_at", row.get("lease_expires_at")),
        finished_at=s.time("finished_at", row.get("finished_at")),
        result=s.obj("result", s.json("result", row.get("result"))),
        last_error=s.text("last_error", row.get("last_error")),
        checkpoint=s.obj("checkpoint", s.json("checkpoint", row.get("checkpoint"))),
        dedupe_key=s.text("dedupe_key", row.get("dedupe_key")),
        cancel_requested=s.flag("cancel_requested", row.get("cancel_requested")),
        errors=s.errors(row.get("errors")),
    )
