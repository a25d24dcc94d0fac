"""The worker: claims due tasks into free slots, runs their handlers, writes outcomes.

One asyncio loop: a small poll loop (``_poll_iteration``) that claims at most the free
slots, a heartbeat that extends all held leases in one write every ``lease/3``, and a
periodic recovery of expired leases. Every write after the claim is fenced on the lease.
Signals are not handled here (the CLI does that): call :meth:`stop`.

How it stops, within a bound, is in :mod:`.shutdown`. A damaged store or an unhandled
error stops it for good: :attr:`Worker.failure`, raised by :meth:`Worker.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from pydantic import ValidationError

from .app import Roost
from .errors import LeaseLost, PermanentError, StoreCorrupt, StoreUnavailable
from .limits import after
from .models import Task, utcnow
from .retry import decide
from .runs import Deadline, Running, check_result
from .shutdown import Shutdown
from .tasktypes import TaskContext

log = logging.getLogger("roost.worker")


TASK_EVENTS = ("task_claimed", "task_succeeded", "task_retried", "task_failed")


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
        self.inflight: dict[str, Running] = {}
        self._listened: set[str] = set()
        self.running = False
        self._wake = asyncio.Event()
        self._init_shutdown()
        # successful runs waiting for the next grouped DONE write: (task, result, seconds)
        self._completions: list[tuple[Task, Any, float]] = []
        self._flusher: asyncio.Task[None] | None = None
        roost.store.on_enqueue.append(self._wake.set)

    # -- control ------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return {
            "workerId": self.id,
            "running": self.running,
            "inflight": len(self.inflight),
            "maxConcurrent": self.max_concurrent,
        }

    async def run(self, *, burst: bool = False) -> None:
        """Work until :meth:`stop`; with ``burst``, return once nothing is due or running
        (expired leases recovered first). Raises :attr:`failure` if the worker stopped for
        good (:class:`StoreCorrupt`, :class:`WorkerCrashed`), after its shutdown."""
        cfg = self.roost.settings.worker
        self.running = True
        # plugins are registered when the Roost is created: which task events have listeners
        hooks = self.roost.pm.hook
        self._listened = {name for name in TASK_EVENTS if getattr(hooks, name).get_hookimpls()}
        log.info(
            "worker start id=%s concurrency=%d lease=%gs", self.id, self.max_concurrent, self.lease
        )
        background = [
            asyncio.create_task(self._every(self.lease / 3, self._heartbeat), name="heartbeat"),
            asyncio.create_task(  # a burst recovers before it decides the queue is empty
                self._every(cfg.recovery_interval, self._recover, now=not burst), name="recovery"
            ),
        ]
        # the poll loop is a task of its own: a stop() while it waits for a claim stuck on
        # a locked database starts the shutdown clock at once, not when that claim returns
        poller = asyncio.create_task(self._poll(burst), name="poll")
        stopped = asyncio.create_task(self._stop.wait(), name="stop")
        try:
            await asyncio.wait({poller, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            self.running = False
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
        for types, limit in self._claim_plan():
            # claims the size the store makes on the event loop, one after the other
            limit = min(limit, self.max_concurrent - len(self.inflight), self.store.chunk or limit)
            if limit <= 0:
                break
            try:
                tasks = await self.store.quick(
                    "claim", self.id, types, limit, self.lease, rows=limit, unless=self._is_stopping
                )
            except StoreUnavailable as exc:
                log.warning("claim failed, backing off: %s", exc)
                await self._sleep(self.roost.settings.worker.max_poll_interval)
                return -1
            if self._stopping:  # claimed while stopping (or skipped: None): never started
                self._late.extend(tasks or ())
                return started
            self._start(tasks)
            started += len(tasks)
        return started

    def _claim_plan(self) -> list[tuple[list[str], int]]:
        """One claim for the types without a ``concurrency`` limit, one per limited type."""
        known = self.roost.registry.task_types
        types = [name for name in self.types if name in known]
        free = [name for name in types if known[name].concurrency is None]
        plan = [(free, self.max_concurrent)] if free else []
        limited = {name: known[name].concurrency for name in types if name not in free}
        if limited:  # counting what runs costs a pass over the slots: only when needed
            busy = Counter(r.task.type for r in self.inflight.values())
            for name, limit in limited.items():
                if limit is not None and busy[name] < limit:
                    plan.append(([name], limit - busy[name]))
        return plan

    def _start(self, tasks: list[Task]) -> None:
        """Start a claimed batch. Its tasks started together, so those with the same timeout
        share one timer (a timer per run was ~15% of a no-op drain)."""
        loop = asyncio.get_running_loop()
        by_timeout: dict[float, list[Running]] = {}
        for task in tasks:
            self._hook("task_claimed", task=task, worker_id=self.id)
            job = loop.create_task(self._execute(task), name=f"task-{task.id}")
            running = self.inflight[task.id] = Running(task, job)
            job.add_done_callback(partial(self._finished, running))
            task_type = self.roost.registry.task_types.get(task.type)
            timeout = (task_type and task_type.timeout) or self.roost.settings.worker.task_timeout
            by_timeout.setdefault(timeout, []).append(running)
        for timeout, runs in by_timeout.items():
            deadline = Deadline(runs, timeout)
            for running in runs:
                running.deadline = deadline

    def _finished(self, running: Running, _: object = None) -> None:
        if running.completing:  # its DONE write is on its way: the flusher frees the slot
            return
        self._release_slot(running)

    def _release_slot(self, running: Running) -> None:
        if self.inflight.get(running.task.id) is running:
            del self.inflight[running.task.id]
            if running.deadline is not None:
                running.deadline.one_over()
        self._wake.set()

    async def _sleep(self, timeout: float | None) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    # -- running one task ---------------------------------------------------------------
    async def _execute(self, task: Task) -> None:
        running = self.inflight[task.id]
        started = time.monotonic()
        task_type = self.roost.registry.task_types.get(task.type)
        try:
            try:
                if task.unreadable:  # see stores/salvage.py: running it would only guess
                    raise PermanentError(f"stored task cannot be read: {task.unreadable}")
                if task_type is None:
                    raise PermanentError(f"no handler for task type {task.type!r} in this worker")
                try:
                    payload = task_type.parse(task.payload)
                except ValidationError as exc:
                    raise PermanentError(f"stored payload does not fit {task.type}: {exc}") from exc
                ctx = TaskContext(task, self.store, self.roost.runtime, log)
                result = await task_type.handler(ctx, payload)
                check_result(result)
            except asyncio.CancelledError:
                if not (running.lost or running.released or running.timed_out):
                    raise
                if running.released:
                    pass  # the shutdown gives it back, with the others, in one write
                elif running.lost:
                    log.warning("task lost lease id=%s type=%s: run abandoned", task.id, task.type)
                else:
                    await self._failed(task, TimeoutError())
                return
            except LeaseLost as exc:
                log.warning("task lost lease id=%s: %s", task.id, exc)
                return
            except Exception as exc:
                await self._failed(task, exc)
                return
            self._complete(running, result, time.monotonic() - started)
        except StoreCorrupt as exc:
            self._fatal(exc)
        except Exception:  # never let a task's bookkeeping kill the worker
            log.exception("task bookkeeping failed id=%s", task.id)

    async def _failed(self, task: Task, exc: BaseException) -> None:
        task_type = self.roost.registry.task_types.get(task.type)
        policy = self.roost.policy_for(task_type) if task_type else self.roost.retry_policy
        # the task keeps the max_attempts it was enqueued with, even if settings changed since
        policy = dataclasses.replace(policy, max_attempts=task.max_attempts)
        decision = decide(policy, task.attempts, exc)
        if decision.retry:
            run_at = after(decision.delay, utcnow())  # no later than the engines can store
            if await self._fenced(
                "reschedule",
                task.id,
                task.lease_id,
                run_at,
                decision.error,
                charge=decision.charge,
                what="retry",
            ):
                log.info(
                    "task retry id=%s type=%s attempt=%d in=%.1fs error=%s",
                    task.id,
                    task.type,
                    task.attempts,
                    decision.delay,
                    decision.error,
                )
                self._hook("task_retried", task=task, error=decision.error, delay=decision.delay)
        elif await self._fenced("fail", task.id, task.lease_id, decision.error, what="fail"):
            log.warning(
                "task failed id=%s type=%s attempt=%d error=%s",
                task.id,
                task.type,
                task.attempts,
                decision.error,
            )
            self._hook("task_failed", task=task, error=decision.error)

    def _complete(self, running: Running, result: dict[str, Any] | None, seconds: float) -> None:
        """Queue ``running``'s DONE write; the runs that finish in the same loop turn share
        one write (one commit, one thread hop). The slot stays taken until it is written."""
        running.completing = True
        self._completions.append((running.task, result, seconds))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_completions(), name="completions")

    async def _flush_completions(self) -> None:
        while self._completions:
            await asyncio.sleep(0)  # let the runs finishing in this loop turn join the batch
            size = self.store.chunk or len(self._completions)  # a write the loop can make
            batch, self._completions = self._completions[:size], self._completions[size:]
            items = [(task.id, task.lease_id, result) for task, result, _ in batch]
            ident = items[0][0] if len(items) == 1 else f"{items[0][0]} (+{len(items) - 1})"
            try:
                held = await self._write(
                    "complete_many", items, what="complete", ident=ident, rows=len(items)
                )
            except StoreCorrupt as exc:
                self._fatal(exc)
                held = None
            except Exception:
                log.exception("complete failed id=%s (recovery will re-run it)", ident)
                held = None
            finally:  # also when cancelled: never keep a slot for a write that is over
                for task, _, _ in batch:
                    running = self.inflight.get(task.id)
                    if running is not None and running.task is task:
                        self._release_slot(running)
            for (task, result, seconds), ok in zip(
                batch, held or [False] * len(batch), strict=True
            ):
                if ok:
                    self._hook("task_succeeded", task=task, result=result, seconds=seconds)
                elif held is not None:
                    log.warning(
                        "complete refused id=%s: lease lost, a newer run owns the task", task.id
                    )

    async def _fenced(self, method: str, *args: Any, what: str, **kwargs: Any) -> bool:
        """A fenced write, retried through short store outages while the lease can still hold.

        False when the lease was lost (the write changed nothing) or the store stayed away;
        recovery then re-runs the task: at-least-once, never a lost task.
        """
        held = await self._write(method, *args, what=what, ident=args[0], **kwargs)
        if held is False:
            log.warning("%s refused id=%s: lease lost, a newer run owns the task", what, args[0])
        return bool(held)

    async def _write(self, method: str, *args: Any, what: str, ident: str, **kwargs: Any) -> Any:
        """A store write, retried through short outages while leases can still hold; None
        when the store stayed away (recovery then re-runs the tasks)."""
        delay, deadline = 0.05, time.monotonic() + self.lease / 2
        while True:
            try:
                return await self.store.quick(method, *args, **kwargs)
            except StoreUnavailable as exc:
                if time.monotonic() + delay > deadline:
                    log.error("%s gave up id=%s: %s (recovery will re-run it)", what, ident, exc)
                    return None
                log.warning("%s failed id=%s, retrying: %s", what, ident, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    # -- background ---------------------------------------------------------------------
    async def _every(
        self, interval: float, fn: Callable[[], Awaitable[object]], now: bool = False
    ) -> None:
        if not now:
            await asyncio.sleep(interval)
        while True:
            try:
                await fn()
            except StoreUnavailable as exc:
                log.warning("%s failed: %s", fn.__name__.strip("_"), exc)
            except StoreCorrupt as exc:
                self._fatal(exc)
                return
            except Exception:
                log.exception("%s failed", fn.__name__.strip("_"))
            await asyncio.sleep(interval)

    async def _heartbeat(self) -> None:
        leases = {tid: r.task.lease_id for tid, r in self.inflight.items() if r.task.lease_id}
        if not leases:
            return
        held = await self.store.quick("heartbeat", self.id, leases, self.lease, rows=len(leases))
        for tid in leases.keys() - held:
            running = self.inflight.get(tid)
            # only the run that sent this lease: the task may have been claimed again since
            if running is not None and running.task.lease_id == leases[tid]:
                log.warning("heartbeat: lease lost id=%s, cancelling the run", tid)
                running.lost = True
                running.job.cancel()

    async def _recover(self) -> int:
        count = await self.store.recover()
        if count:
            log.warning("recovered %d task(s) with expired leases", count)
        return count

    def _hook(self, name: str, **kwargs: Any) -> None:
        if name not in self._listened:  # nobody listens: skip pluggy's call (2 a task)
            return
        try:
            getattr(self.roost.pm.hook, name)(**kwargs)
        except Exception:
            log.exception("plugin hook %s raised (ignored)", name)
