"""THE decision point: what a run's outcome does to its task, and which event it fires.

Every path is here: success, an error or a timeout (the retry policy decides), a lost lease
(nothing to write: the newer run owns the task), shutdown (given back uncharged), an
expired lease found by the rescuer (an error charged as an attempt, decided by the same
policy), an unreadable task (a permanent error), a cancel requested by an operator (the
handler stopped: CANCELLED, never retried; it also wins over any re-queue). The result is a :class:`Verdict`: the
fenced change the store applies, and the task event hook fired once it is applied.
Engines carry changes out and decide nothing.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .limits import after
from .models import Task
from .retry import RetryPolicy, decide
from .store.transitions import Cancel, Done, Fail, Release, Retry, Transition

log = logging.getLogger("roost.worker")
LEASE_EXPIRED = "lease expired: the worker stopped heartbeating (crashed or stalled)"
Fire = Callable[..., None]  # fire(hook_name, **arguments): see roost.core.worker.events


class LeaseExpired(Exception):
    """The rescuer's view of a run whose worker stopped heartbeating: an ordinary error."""


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~2x, and one is made a run
class Verdict:
    """A change to apply, and the task event ``event(task=task, **details)`` once applied."""

    task: Task
    change: Transition
    event: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def task_policy(policy: RetryPolicy, task: Task) -> RetryPolicy:
    """The task keeps the max_attempts it was enqueued with, even if settings changed since."""
    return dataclasses.replace(policy, max_attempts=task.max_attempts)


def succeeded(task: Task, result: dict[str, Any] | None, seconds: float) -> Verdict:
    change = Done(task.id, task.lease_id or "", result)
    return Verdict(task, change, "task_succeeded", {"result": result, "seconds": seconds})


def errored(
    task: Task, exc: BaseException, policy: RetryPolicy, now: datetime, *, expired: bool = False
) -> Verdict:
    """A run that raised (a timeout is a ``TimeoutError``): retried after the policy's delay
    or failed for good. ``expired``: the rescuer's, applied only while the lease is still
    expired at ``now`` (a worker that heartbeated meanwhile keeps its task)."""
    decision = decide(task_policy(policy, task), task.attempts, exc)
    error = str(exc) if isinstance(exc, LeaseExpired) else decision.error
    fence = now if expired else None
    lease = task.lease_id or ""
    if decision.retry:
        run_at = after(decision.delay, now)  # no later than the engines can store
        retry = Retry(task.id, lease, run_at, error, decision.charge, expired_before=fence)
        return Verdict(task, retry, "task_retried", {"error": error, "delay": decision.delay})
    fail = Fail(task.id, lease, error, expired_before=fence)
    return Verdict(task, fail, "task_failed", {"error": error})


def expired(task: Task, policy: RetryPolicy, now: datetime) -> Verdict:
    """An expired lease the rescuer found: the attempt is charged, like any error; a task
    whose cancel was requested is cancelled instead (its worker died before doing it)."""
    if task.cancel_requested:
        return cancelled(task, expired_before=now)
    return errored(task, LeaseExpired(LEASE_EXPIRED), policy, now, expired=True)


def cancelled(task: Task, *, expired_before: datetime | None = None) -> Verdict:
    """Its cancel was requested and the run is over (the handler was stopped, or the
    rescuer found its lease expired): CANCELLED, the attempt already charged once."""
    change = Cancel(task.id, task.lease_id or "", expired_before=expired_before)
    return Verdict(task, change, "task_cancelled")


def unless_cancelled(verdict: Verdict, requested: bool) -> Verdict:
    """A requested cancel wins over a re-queue (a retry, a shutdown's release): what the
    engines do too, decided here first so that the event fired says what happened."""
    if requested and isinstance(verdict.change, Retry | Release):
        return cancelled(verdict.task)
    return verdict


def released(task: Task) -> Verdict:
    """Shutdown: the run is given back, its attempt not charged; no event."""
    return Verdict(task, Release(task.id, task.lease_id or ""))


def announce(verdicts: Sequence[Verdict], applied: Sequence[bool], fire: Fire) -> None:
    """Log and fire the event of each verdict the store applied; a refused one lost its
    lease (a newer run owns the task): nothing happened, nothing is fired."""
    for verdict, ok in zip(verdicts, applied, strict=True):
        task, change = verdict.task, verdict.change
        if ok and type(change) is Done:  # the hot path (one a task run): nothing to log
            fire("task_succeeded", task=task, **verdict.details)
            continue
        if not ok:
            if not isinstance(change, Release) and getattr(change, "expired_before", None) is None:
                log.warning("write refused id=%s: lease lost, a newer run owns the task", task.id)
                fire("task_lease_lost", task=task)
            continue
        if isinstance(change, Cancel):
            log.info(
                "task cancelled id=%s type=%s attempt=%d (%s)",
                task.id,
                task.type,
                task.attempts,
                "lease expired" if change.expired_before else "cancel requested",
            )
        elif isinstance(change, Retry):
            log.info(
                "task retry id=%s type=%s attempt=%d in=%.1fs error=%s",
                task.id,
                task.type,
                task.attempts,
                verdict.details["delay"],
                change.error,
            )
        elif isinstance(change, Fail):  # INFO: a task's failure is its own, not the server's
            log.info(
                "task failed id=%s type=%s attempt=%d error=%s",
                task.id,
                task.type,
                task.attempts,
                change.error,
            )
        if verdict.event is not None:
            fire(verdict.event, task=task, **verdict.details)
