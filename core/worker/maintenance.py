"""The worker's upkeep of leases: the heartbeat, and the rescuer of expired ones.

The heartbeat extends every held lease in one write, then asks which of those tasks an
operator asked to cancel and stops their handlers: a cancel reaches a running task within
one heartbeat (``lease/3``); the run then ends CANCELLED (:func:`lifecycle.cancelled`).

The rescuer (River's name): find RUNNING tasks whose lease expired -> ask
:mod:`roost.core.lifecycle` what each becomes (an error charged as an attempt: PENDING
after the policy's delay, or FAILED) -> apply, fenced on the lease still being expired ->
fire the events. A worker runs it every ``recovery_interval``; ``POST /queue/recover`` and
``roost recover`` run it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from .. import lifecycle
from ..errors import StoreCorrupt, StoreUnavailable
from ..models import Task, utcnow
from ..retry import RetryPolicy
from ..store import AsyncStore, TaskStore
from ..store.transitions import Retry
from .events import Events
from .runs import Run

if TYPE_CHECKING:
    from ..app import Roost

log = logging.getLogger("roost.worker")
RESCUE_BATCH = 1_000  # expired tasks read and written per round
PolicyFor = Callable[[Task], RetryPolicy]


def policy_for(roost: Roost) -> PolicyFor:
    """The retry policy of a task's type (the settings' when the type is unknown here)."""

    def policy(task: Task) -> RetryPolicy:
        task_type = roost.registry.task_types.get(task.type)
        return roost.policy_for(task_type) if task_type else roost.retry_policy

    return policy


def _verdicts(tasks: list[Task], policy: PolicyFor, now: datetime) -> list[lifecycle.Verdict]:
    return [lifecycle.expired(task, policy(task), now) for task in tasks]


async def rescue(roost: Roost, events: Events | None = None) -> int:
    """Rescue every lease expired by now through ``roost.store``; how many were rescued."""
    store, policy = roost.store, policy_for(roost)
    fire = (events or Events(roost.pm)).fire
    now, count = utcnow(), 0
    while True:
        verdicts = _verdicts(await store.find_expired(now, RESCUE_BATCH), policy, now)
        applied = await store.apply([v.change for v in verdicts])
        lifecycle.announce(verdicts, applied, fire)
        count += sum(applied)
        if len(verdicts) < RESCUE_BATCH or not any(applied):  # the rest: the next round's
            break
    if count:
        log.warning("recovered %d task(s) with expired leases", count)
    return count


def rescue_now(store: TaskStore, policy: PolicyFor, now: datetime | None = None) -> int:
    """:func:`rescue` on a bare store, from any thread, firing no events (tools and tests)."""
    now = now or utcnow()
    verdicts = _verdicts(store.find_expired(now, RESCUE_BATCH), policy, now)
    return sum(store.apply([v.change for v in verdicts]))


async def every(
    fatal: Callable[[BaseException], None],
    interval: float,
    fn: Callable[[], Awaitable[object]],
    now: bool = False,
    name: str = "",
) -> None:
    """Call ``fn`` every ``interval`` seconds (at once too with ``now``) until cancelled: a
    store outage or a bug is logged and the next round tries again; a damaged store is
    ``fatal`` (the worker stops). ``name`` (else ``fn``'s) is what the log calls it."""
    name = name or fn.__name__.strip("_")
    if not now:
        await asyncio.sleep(interval)
    while True:
        try:
            await fn()
        except StoreUnavailable as exc:
            log.warning("%s failed: %s", name, exc)
        except StoreCorrupt as exc:
            fatal(exc)
            return
        except Exception:
            log.exception("%s failed", name)
        await asyncio.sleep(interval)


async def heartbeat(store: AsyncStore, worker_id: str, runs: dict[str, Run], lease: float) -> None:
    """Extend the leases of every run in one write; cancel the runs whose lease was lost."""
    leases = {tid: r.task.lease_id for tid, r in runs.items() if r.task.lease_id}
    if not leases:
        return
    held = await store.heartbeat(worker_id, leases, lease)
    for tid in leases.keys() - held:
        run = runs.get(tid)
        # only the run that sent this lease: the task may have been claimed again since
        if run is not None and run.task.lease_id == leases[tid]:
            log.warning("heartbeat: lease lost id=%s, cancelling the run", tid)
            run.lost = True
            run.job.cancel()


async def watch_cancels(store: AsyncStore, runs: dict[str, Run]) -> None:
    """Stop the runs an operator cancelled (one read for all of them)."""
    leases = {tid: r.task.lease_id for tid, r in runs.items() if r.task.lease_id}
    if leases:
        stop_requested(runs, leases, await store.cancel_requested(sorted(leases)))


async def unless_cancelled(
    store: AsyncStore, run: Run, verdict: lifecycle.Verdict
) -> lifecycle.Verdict:
    """``verdict``, or CANCELLED instead of a retry when ``run``'s cancel was requested:
    known since a heartbeat, or asked now. Unknown when the store is away: the engine's
    own rule (a requested cancel wins over a re-queue) then decides, unannounced."""
    if not isinstance(verdict.change, Retry):
        return verdict
    requested = run.cancelling
    if not requested:
        with contextlib.suppress(StoreUnavailable):
            requested = run.task.id in await store.cancel_requested([run.task.id])
    return lifecycle.unless_cancelled(verdict, requested)


def stop_requested(runs: dict[str, Run], leases: dict[str, str], requested: set[str]) -> None:
    """Mark the runs whose cancel was requested, and stop the handlers still running. A
    handler that is over already keeps its verdict: a success wins as DONE (the fence
    decides), a re-queue becomes CANCELLED (:func:`lifecycle.unless_cancelled`)."""
    for tid in requested:
        run = runs.get(tid)
        if run is None or run.task.lease_id != leases.get(tid) or run.cancelling:
            continue
        run.cancelling = True
        if not run.handled and not run.job.done():
            log.info(
                "task cancel requested id=%s type=%s: stopping its handler", tid, run.task.type
            )
            run.job.cancel()
