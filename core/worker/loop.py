"""The worker's poll loop: claim due tasks into free slots, start them, stop, drain.

One asyncio loop: the poll loop (:meth:`Worker._poll_iteration`) claims at most the free
slots, :mod:`.maintenance` heartbeats every ``lease/3``, stops the runs an operator
cancelled and :mod:`.registry` writes this worker's entry every 10 s (``lease/3`` if shorter),
and it rescues expired leases every
``recovery_interval`` (:mod:`.retention` purges old finished tasks as often; :mod:`.sampler`
stores the queue's depth for the dashboard every few seconds),
:mod:`.executor` runs one task to its verdict, :mod:`.completer` batches the DONE writes. Signals are not handled here (the CLI does that): call
:meth:`Worker.stop`. How it stops, within a bound, is in :mod:`.shutdown`. A damaged store
or an unhandled error stops it for good: :attr:`Worker.failure`, raised by :meth:`Worker.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from .. import lifecycle
from ..errors import StoreCorrupt, StoreUnavailable
from ..models import Task
from . import completer, maintenance, retention, sampler
from .completer import Completer
from .events import Events
from .executor import execute
from .registry import Registration
from .runs import Deadline, Run
from .shutdown import Shutdown

if TYPE_CHECKING:
    from ..app import Roost

log = logging.getLogger("roost.worker")
#: a background job: every how many seconds, what, at once too, its name in the log
Job = tuple[float, Callable[[], Awaitable[object]], bool, str]


def make_worker_id() -> str:
    return f"worker-{os.getpid()}-{int(time.time() * 1000)}"


class Worker(Shutdown):
    """Claims and runs tasks until stopped; :class:`Shutdown` has how it stops."""

    def __init__(
        self,
        roost: Roost,
        *,
        worker_id: str | None = None,
        max_concurrent: int | None = None,
        types: list[str] | None = None,
    ) -> None:
        cfg = roost.settings.worker
        self.roost = roost
        self.store = roost.store
        self.id = worker_id or make_worker_id()
        self.max_concurrent = max_concurrent or cfg.max_concurrent
        self.lease = cfg.stale_timeout
        self.types = types or sorted(roost.registry.task_types)
        self.inflight: dict[str, Run] = {}
        self.is_running = False
        self._wake = asyncio.Event()
        self._init_shutdown()
        self._events = Events(roost.pm)
        self._completer = Completer(
            self.store, self.lease / 2, self._events.fire, self._release_slot, self._fatal
        )
        roost.store.on_enqueue.append(self._wake.set)

    # -- control ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "workerId": self.id,
            "running": self.is_running,
            "inflight": len(self.inflight),
            "maxConcurrent": self.max_concurrent,
        }

    async def run(self, *, burst: bool = False) -> None:
        """Work until :meth:`stop`; with ``burst``, return once nothing is due or running
        (expired leases recovered first). Raises :attr:`failure` if the worker stopped for
        good (:class:`StoreCorrupt`, :class:`WorkerCrashed`), after its shutdown."""
        cfg = self.roost.settings.worker
        self.is_running = True
        self._events.refresh()  # plugins registered since this worker was made listen too
        log.info(
            "worker start id=%s concurrency=%d lease=%gs", self.id, self.max_concurrent, self.lease
        )
        self._registration = reg = Registration(self)
        reg.start()
        store, runs = self.store, self.inflight
        beat = partial(maintenance.heartbeat, store, self.id, runs, self.lease)
        purge = partial(retention.purge_expired, store, self.roost.settings.retention)
        jobs: list[Job] = [
            (self.lease / 3, beat, False, "heartbeat"),
            (reg.interval, reg.beat, False, "registry"),
            (reg.interval, partial(maintenance.watch_cancels, store, runs), False, "cancels"),
            # a burst recovers before it decides the queue is empty
            (cfg.recovery_interval, self._recover, not burst, "recovery"),
            (cfg.recovery_interval, purge, False, "retention"),
            (sampler.EVERY, sampler.Sampler(self).sample, True, "sample"),
        ]
        every = partial(maintenance.every, self._fatal)
        background = [asyncio.create_task(every(t, fn, now, n), name=n) for t, fn, now, n in jobs]
        # the poll loop is a task of its own: a stop() while it waits for a claim stuck on
        # a locked database starts the shutdown clock at once, not when that claim returns
        poller = asyncio.create_task(self._poll(burst), name="poll")
        stopped = asyncio.create_task(self._stop.wait(), name="stop")
        try:
            await asyncio.wait({poller, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            self.is_running = False
            if poller.done() and not poller.cancelled() and poller.exception() is not None:
                self._fatal(poller.exception())  # type: ignore[arg-type]
            try:
                await self._shutdown(poller, background)
            finally:
                self._stopped.set()
                log.info("worker stop id=%s", self.id)
        if self.failure is not None:
            raise self.failure

    # -- the poll loop ------------------------------------------------------------------
    async def _poll(self, burst: bool) -> None:
        cfg = self.roost.settings.worker
        idle = cfg.poll_interval
        recovered = False  # a burst: expired leases recovered since the last claim found work
        while not self._stop.is_set():
            self._wake.clear()
            claimed = await self._poll_iteration()
            if claimed:
                idle = cfg.poll_interval
                recovered = False
                await asyncio.sleep(0)  # a claim made on the loop: let others go between two
                continue
            if burst and not self.inflight and claimed == 0:
                if not recovered:  # a crashed worker's expired leases first, then look again
                    recovered = await self._recover_for_burst()
                    continue
                return
            full = len(self.inflight) >= self.max_concurrent
            await self._sleep(None if full else idle)
            if not full:
                idle = min(idle * 2, cfg.max_poll_interval)

    async def _recover_for_burst(self) -> bool:
        """Recover expired leases before a burst worker decides the queue is empty (with
        only burst workers, e.g. from cron, nothing else would); False if the store failed."""
        try:
            await self._recover()
        except StoreUnavailable as exc:
            log.warning("recovery failed, backing off: %s", exc)
            await self._sleep(self.roost.settings.worker.max_poll_interval)
            return False
        return True

    async def _poll_iteration(self) -> int:
        """Claim into the free slots and start the tasks; the count, or -1 on a store error."""
        started = 0
        for types, limit in claim_plan(self.roost, self.types, self.max_concurrent, self.inflight):
            # claims the size the store makes on the event loop, one after the other
            size = self.store.claim_size or limit
            limit = min(limit, self.max_concurrent - len(self.inflight), size)
            if limit <= 0:
                break
            try:
                tasks = await self.store.claim(
                    self.id, types, limit, self.lease, unless=self._is_stopping
                )
            except StoreUnavailable as exc:
                log.warning("claim failed, backing off: %s", exc)
                await self._sleep(self.roost.settings.worker.max_poll_interval)
                return -1
            if self._stopping or tasks is None:  # claimed while stopping (or skipped: None)
                self._late.extend(tasks or ())  # never started: given back
                return started
            self._start(tasks)
            started += len(tasks)
        return started

    def _start(self, tasks: list[Task]) -> None:
        """Start a claimed batch. Its tasks started together, so those with the same timeout
        share one timer (a timer per run was ~15% of a no-op drain)."""
        loop = asyncio.get_running_loop()
        by_timeout: dict[float, list[Run]] = {}
        for task in tasks:
            self._events.fire("task_claimed", task=task, worker_id=self.id)
            job = loop.create_task(self._execute(task), name=f"task-{task.id}")
            run = self.inflight[task.id] = Run(task, job)
            job.add_done_callback(partial(self._finished, run))
            task_type = self.roost.registry.task_types.get(task.type)
            timeout = (task_type and task_type.timeout) or self.roost.settings.worker.task_timeout
            by_timeout.setdefault(timeout, []).append(run)
        for timeout, runs in by_timeout.items():
            deadline = Deadline(runs, timeout)
            for run in runs:
                run.deadline = deadline

    def _finished(self, run: Run, _: object = None) -> None:
        if run.completing:  # its DONE write is on its way: the flusher frees the slot
            return
        self._release_slot(run)

    def _release_slot(self, run: Run) -> None:
        if self.inflight.get(run.task.id) is run:
            del self.inflight[run.task.id]
            if run.deadline is not None:
                run.deadline.one_over()
        self._wake.set()

    async def _sleep(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # -- running one task -----------------------------------------------------------
    async def _execute(self, task: Task) -> None:
        """Run ``task`` (:mod:`.executor`) and write its verdict: a success joins the next
        batched DONE write (:mod:`.completer`), a retry or failure is written at once."""
        run = self.inflight[task.id]
        try:
            verdict = await execute(self.roost, run, time.monotonic(), self._events.fire)
            if verdict is None:
                return
            if verdict.event == "task_succeeded":
                self._completer.add(run, verdict)
                return
            verdict = await maintenance.unless_cancelled(self.store, run, verdict)
            applied = await completer.write(self.store, [verdict], self.lease / 2)
            if applied is not None:
                lifecycle.announce([verdict], applied, self._events.fire)
        except StoreCorrupt as exc:
            self._fatal(exc)
        except Exception:  # never let a task's bookkeeping kill the worker
            log.exception("task bookkeeping failed id=%s", task.id)

    # -- background ---------------------------------------------------------------------
    async def _recover(self) -> int:
        return await maintenance.rescue(self.roost, self._events)


def claim_plan(
    roost: Roost, types: list[str], max_concurrent: int, inflight: dict[str, Run]
) -> list[tuple[list[str], int]]:
    """One claim for the types without a ``concurrency`` limit, one per limited type."""
    known = roost.registry.task_types
    types = [name for name in types if name in known]
    free = [name for name in types if known[name].concurrency is None]
    plan = [(free, max_concurrent)] if free else []
    limited = {name: known[name].concurrency for name in types if name not in free}
    if limited:  # counting what runs costs a pass over the slots: only when needed
        busy = Counter(r.task.type for r in inflight.values())
        for name, limit in limited.items():
            if limit is not None and busy[name] < limit:
                plan.append(([name], limit - busy[name]))
    return plan
