"""The fenced state changes a worker (or the rescuer) asks the store to make.

Each names a running task by ``(task_id, lease_id)``: the store applies it only while the task
is still RUNNING under that lease, so a worker whose lease was recovered and re-claimed
elsewhere cannot overwrite the newer run. The engines carry these out; they decide nothing.
What change an outcome becomes is decided in :mod:`roost.core.lifecycle`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Done:
    """RUNNING -> DONE with the handler's result (a completion that wins the race with a
    cancel request: ``cancel_requested`` is cleared)."""

    task_id: str
    lease_id: str
    result: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """RUNNING -> PENDING, due at ``run_at``; ``charge=False`` gives the attempt back. An
    ``error`` is added to the task's history with the attempt it ended.

    A cancel requested meanwhile wins over the re-queue: such a task (for :class:`Retry` and
    :class:`Release` alike) ends CANCELLED instead, so a cancelled task never runs again.

    With ``expired_before`` (the rescuer) it applies only while the lease is still expired
    at that instant, so a worker that heartbeated meanwhile keeps its task."""

    task_id: str
    lease_id: str
    run_at: datetime
    error: str | None = None
    charge: bool = True
    expired_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Fail:
    """RUNNING -> FAILED for good, the error added to the history (see :class:`Retry` for ``expired_before``)."""

    task_id: str
    lease_id: str
    error: str
    expired_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Cancel:
    """RUNNING -> CANCELLED (its cancel was requested; the handler was stopped). Not an
    error: the history is not touched (see :class:`Retry` for ``expired_before``)."""

    task_id: str
    lease_id: str
    expired_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class Release:
    """RUNNING -> PENDING now, the attempt not charged (shutdown)."""

    task_id: str
    lease_id: str


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Save resumable progress on a task that stays RUNNING."""

    task_id: str
    lease_id: str
    data: dict[str, Any]


Transition = Done | Retry | Fail | Cancel | Release | Checkpoint
