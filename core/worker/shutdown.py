"""How a worker stops: asked to (:meth:`Shutdown.stop`), or for good on a failure.

The bound: ``worker.shutdown_timeout`` from the first :meth:`~Shutdown.stop` for the runs
to finish, then what is still held (runs going on, outcomes not yet written, tasks a claim
brought back after the stop) goes back to PENDING uncharged in ONE write answered within
``store.timeout``: a locked database is waited out once, not once per task, and calls
stuck in the store's threads are not waited for. A task whose cancel was requested is
cancelled, not given back. The log and the events say what became of each task. Last,
the worker's registry entry is removed, within the same bound.
A mixin of :class:`roost.core.worker.Worker`, split out by concern.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from .. import lifecycle
from ..errors import RoostError, StoreCorrupt, WorkerCrashed
from ..models import Task
from ..store import AsyncStore
from ..store.transitions import Cancel
from .runs import Run

if TYPE_CHECKING:
    from ..app import Roost
    from .completer import Completer
    from .events import Events
    from .registry import Registration

log = logging.getLogger("roost.worker")


class Shutdown:
    """The worker's stop: the state it needs, the sequence, the failure that ends a run."""

    id: str
    roost: Roost
    store: AsyncStore
    inflight: dict[str, Run]
    _wake: asyncio.Event
    _completer: Completer
    _events: Events
    _registration: Registration

    def _init_shutdown(self) -> None:
        #: why the worker stopped though nobody asked it to (a damaged store, a bug); None
        #: while it works or once it stopped as asked. :meth:`Worker.run` raises it.
        self.failure: StoreCorrupt | WorkerCrashed | None = None
        self._stop = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stop_at: float | None = None  # time.monotonic() of the first stop()
        self._stopping = False  # a plain bool: read from the store's threads too
        self._forced = False
        self._late: list[Task] = []  # claimed after stop(): given back, never started

    def stop(self, *, force: bool = False) -> None:
        """Stop claiming; running tasks get ``shutdown_timeout`` from now to finish (none
        with ``force``), then what is still running is cancelled and given back uncharged."""
        if self._stop_at is None:
            self._stop_at = time.monotonic()
        self._stopping = True
        self._forced = self._forced or force
        self._stop.set()
        self._wake.set()

    async def wait_stopped(self) -> None:
        """Until :meth:`Worker.run` is over (asked to stop, or stopped by :attr:`failure`)."""
        await self._stopped.wait()

    def _is_stopping(self) -> bool:
        return self._stopping

    def _fatal(self, exc: BaseException) -> None:
        """Stop for good: the store is damaged (no retry can help) or the worker failed
        (a bug). :meth:`Worker.run` raises it once the shutdown is over; /health reports it."""
        if self.failure is None:
            if isinstance(exc, StoreCorrupt):
                log.critical("worker stopping id=%s: %s", self.id, exc)
                self.failure = exc
            else:
                log.critical("worker stopping id=%s: unexpected error", self.id, exc_info=exc)
                self.failure = WorkerCrashed(f"the worker stopped on an unexpected error: {exc!r}")
                self.failure.__cause__ = exc
        self.stop()

    async def _shutdown(
        self, poller: asyncio.Task[None], background: list[asyncio.Task[None]]
    ) -> None:
        """Wait for the runs until ``shutdown_timeout`` after :meth:`stop`, then give back
        what is still held in one write, answered within ``store.timeout``."""
        cfg = self.roost.settings
        if self._stop_at is None:  # a burst that is over, or a failure
            self._stop_at = time.monotonic()
        self._stopping = True
        self._stop.set()
        self._wake.set()
        until = self._stop_at + cfg.worker.shutdown_timeout
        if self.inflight and not self._forced:
            left = max(0.0, until - time.monotonic())
            log.info(
                "shutdown: waiting up to %.1fs for %d running task(s)", left, len(self.inflight)
            )
            await self._wait_runs(until)
        deadline = time.monotonic() + cfg.store.timeout
        # what is still in hand: runs going on, and finished runs whose outcome is not written
        held = list(self.inflight.values())
        for run in held:
            if not run.job.done():
                run.released = True
        ending = [r.job for r in held if not r.job.done()] + background
        flusher = self._completer.flusher
        if flusher is not None and not flusher.done():
            ending.append(flusher)
        for job in ending:
            job.cancel()
        if ending:  # their writes still queued in the store's threads are dropped with them
            await asyncio.wait(ending, timeout=max(0.0, deadline - time.monotonic()))
        self._completer.clear()
        late, self._late = self._late, []
        cancelling = {r.task.id for r in held if r.cancelling}
        back = [r.task for r in held if not r.lost] + late
        await give_back(self.store, back, deadline, self._events.fire, cancelling)
        if not poller.done():  # a claim still in the store's threads: what it takes goes back
            await asyncio.wait([poller], timeout=max(0.0, deadline - time.monotonic()))
            late, self._late = self._late, []
            await give_back(self.store, late, deadline, self._events.fire)
            if not poller.done():
                poller.cancel()
                log.warning(
                    "shutdown: a claim was still waiting for the store; tasks it claims, if "
                    "any, return to the queue when their leases expire"
                )
        await asyncio.gather(poller, return_exceptions=True)
        self.inflight.clear()
        await self._registration.remove(deadline)

    async def _wait_runs(self, until: float) -> None:
        """Until no run is left (outcomes written), ``until`` passes, or a forced stop."""
        while self.inflight and not self._forced:
            left = until - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()  # set by every slot freed, and by stop()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                return


async def give_back(
    store: AsyncStore,
    tasks: list[Task],
    deadline: float,
    fire: lifecycle.Fire,
    cancelling: set[str] | None = None,
) -> None:
    """Release ``tasks`` (a stopping worker's) to PENDING uncharged, in one write answered by
    ``deadline`` (``time.monotonic()``), and log what became of each, truthfully: released,
    cancelled (its cancel was requested: ``cancelling``, or found so now), no longer this
    worker's, or left RUNNING for recovery (which charges the attempt)."""
    tasks = [task for task in tasks if task.lease_id is not None]
    if not tasks:
        return
    requested = (cancelling or set()) | await _requested(store, tasks, deadline)
    verdicts = [
        lifecycle.unless_cancelled(lifecycle.released(task), task.id in requested) for task in tasks
    ]
    changes = [verdict.change for verdict in verdicts]
    try:
        held = await store.apply_by(deadline, changes)
    except Exception as exc:
        if not isinstance(exc, RoostError):
            log.exception("release failed")
        log.warning(
            "shutdown: could not release %d task(s) in time (%s): they stay RUNNING until "
            "their leases expire, then recovery returns them to the queue, charging the attempt",
            len(tasks),
            exc,
        )
        for task in tasks:
            log.warning("task left for recovery id=%s type=%s (shutdown)", task.id, task.type)
        return
    for task, verdict, released in zip(tasks, verdicts, held, strict=True):
        if released and isinstance(verdict.change, Cancel):
            lifecycle.announce([verdict], [True], fire)
        elif released:
            log.info("task released id=%s type=%s (shutdown)", task.id, task.type)
        else:
            log.info(
                "task not released id=%s: no longer this worker's (finished, recovered)", task.id
            )


async def _requested(store: AsyncStore, tasks: list[Task], deadline: float) -> set[str]:
    """Of ``tasks``, those whose cancel was requested since the last heartbeat: they end
    CANCELLED (the engines' rule too), so the events say so. Asked within a quarter of
    what is left before ``deadline``; unknown (empty) if the store does not answer."""
    left = max(0.0, deadline - time.monotonic()) / 4
    try:
        return await asyncio.wait_for(store.cancel_requested([t.id for t in tasks]), left)
    except Exception as exc:
        log.warning("shutdown: cannot tell which tasks were being cancelled: %r", exc)
        return set()
