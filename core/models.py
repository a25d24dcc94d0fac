"""The task record and its status: the one shape every storage engine returns."""

from __future__ import annotations

import enum
import itertools
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId


class TaskStatus(enum.StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: The states a task ends in (``finished_at`` is set; retention and purge act on these).
FINISHED = frozenset({TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED})
#: The states ``retry`` and ``redrive`` put back to PENDING.
RETRYABLE = frozenset({TaskStatus.FAILED, TaskStatus.CANCELLED})
#: How many errors a task keeps in its history (the newest; older ones are dropped).
ERRORS_KEPT = 5


def utcnow() -> datetime:
    """Now, UTC, truncated to milliseconds (what BSON dates and the API carry)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


class _Ids:
    """ObjectId strings made the way bson makes them (4-byte seconds, 5 random bytes per
    process, 3-byte counter) in a fifth of the time: one per enqueued task adds up."""

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)  # a child must not repeat our ids

    def reset(self) -> None:
        self.process = secrets.token_hex(5)
        self.counter = itertools.count(secrets.randbelow(0xFFFFFF))

    def __call__(self) -> str:
        count = next(self.counter) & 0xFFFFFF  # next() on a count is atomic under the GIL
        return f"{int(time.time()) & 0xFFFFFFFF:08x}{self.process}{count:06x}"


_ids = _Ids()


def new_id() -> str:
    """A 24-hex ObjectId string: sortable by creation time, the same on every engine."""
    return _ids()


def is_task_id(value: str) -> bool:
    return ObjectId.is_valid(value) and len(value) == 24


def iso(dt: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and ``Z``, as the REST contract documents."""
    if dt is None:
        return None
    # isoformat pads the year to four digits (strftime's %Y does not, below year 1000)
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


@dataclass(frozen=True, slots=True)
class AttemptError:
    """One entry of a task's error history: the attempt that failed, when, and why."""

    attempt: int
    at: datetime
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "at": iso(self.at), "error": self.error}


@dataclass(slots=True)
class Task:
    """One task as stored. Engines map their rows/documents to and from this."""

    id: str
    type: str
    payload: dict[str, Any]
    status: TaskStatus = TaskStatus.PENDING
    priority: int = 0
    attempts: int = 0
    max_attempts: int = 3
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    next_run_at: datetime = field(default_factory=utcnow)
    locked_by: str | None = None
    locked_at: datetime | None = None
    lease_id: str | None = None
    lease_expires_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    last_error: str | None = None
    checkpoint: dict[str, Any] | None = None
    dedupe_key: str | None = None
    #: Set while a RUNNING task is being cancelled (its worker stops it within 10 s).
    cancel_requested: bool = False
    #: The last :data:`ERRORS_KEPT` errors, oldest first: every Retry and Fail with an error
    #: adds one, with the attempt it ended (the ``attempts`` count at that moment).
    errors: list[AttemptError] = field(default_factory=list)
    #: Why the stored row/document could not be read as it is (its unreadable fields are
    #: clamped or emptied here); the worker fails such a task instead of running it.
    unreadable: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The public (REST/CLI) view: camelCase, ISO times, no lease token."""
        return {
            "taskId": self.id,
            "type": self.type,
            "status": self.status.value,
            "payload": self.payload,
            "priority": self.priority,
            "attempts": self.attempts,
            "maxAttempts": self.max_attempts,
            "createdAt": iso(self.created_at),
            "updatedAt": iso(self.updated_at),
            "nextRunAt": iso(self.next_run_at),
            "lockedBy": self.locked_by,
            "lockedAt": iso(self.locked_at),
            "leaseExpiresAt": iso(self.lease_expires_at),
            "finishedAt": iso(self.finished_at),
            "result": self.result,
            "lastError": self.last_error,
            "errors": [e.to_json() for e in self.errors],
            "cancelRequested": self.cancel_requested,
            "checkpoint": self.checkpoint,
        }


@dataclass(frozen=True, slots=True)
class NewTask:
    """What ``enqueue`` stores: validated payload plus scheduling options."""

    type: str
    payload: dict[str, Any]
    priority: int = 0
    run_at: datetime | None = None
    max_attempts: int = 3
    dedupe_key: str | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    pending: int = 0
    running: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.running + self.done + self.failed + self.cancelled

    def to_json(self) -> dict[str, int]:
        return {
            "pending": self.pending,
            "running": self.running,
            "done": self.done,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "total": self.total,
        }


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """Which tasks :meth:`TaskStore.list_tasks` returns: newest first (by id, descending),
    only ids below ``before`` when given (keyset paging: stable under concurrent inserts)."""

    statuses: frozenset[TaskStatus] | None = None  # None: every status
    type: str | None = None
    limit: int = 50
    before: str | None = None  # a task id (the last one of the previous page)


@dataclass(frozen=True, slots=True)
class RecordPage:
    """A page of the records one task found, in the order found; ``next`` is the engine's
    own position string for the following page (None: this was the last)."""

    records: list[dict[str, Any]]
    next: str | None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One live worker process, as it registers itself on every heartbeat."""

    worker_id: str
    host: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    #: ``last_seen_at`` plus three heartbeat intervals: after it, the worker counts as dead.
    expires_at: datetime
    running: bool  # claiming work (False while it drains for a stop)
    inflight: int
    max_concurrent: int
    types: list[str] | None  # None: every registered type
    #: the session slots of its runtime, as the API shows them (``name``, ``state``,
    #: ``reason``, ``coolUntil``, ``leases``); None: its runtime has none, or has not started
    slots: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "workerId": self.worker_id,
            "host": self.host,
            "pid": self.pid,
            "startedAt": iso(self.started_at),
            "lastSeenAt": iso(self.last_seen_at),
            "running": self.running,
            "inflight": self.inflight,
            "maxConcurrent": self.max_concurrent,
            "types": self.types,
            "slots": self.slots,
        }
