"""A plugin for worker tests: task types whose handler does what the task's payload says.

The payload's ``script`` lists what each run of the task does, run after run (the last
step repeats): ``ok``, ``boom`` (an ordinary error), ``permanent`` (:class:`PermanentError`),
``after:S`` (``RetryAfter(S)``, not charged), ``charged:S`` (``RetryAfter(S, charge=True)``),
``wait`` (until the test opens the gate), ``waitboom`` (then an error), ``hang``, ``garbage`` (a result that is not a dict).
The plugin records the task event hooks the worker fires, so tests observe the worker
through its public events, its ``status()`` and the store, never its internals.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from roost.core.app import Roost
from roost.core.errors import PermanentError, RetryAfter
from roost.core.hookspecs import hookimpl
from roost.core.models import Task
from roost.core.retry import RetryPolicy
from roost.core.tasktypes import TaskContext, TaskType
from roost.core.worker import Worker

#: retries at once, three attempts: for tests about outcomes, not about backoff
AT_ONCE = RetryPolicy(max_attempts=3, strategy="fixed", base_delay=0)


class Script(BaseModel):
    script: list[str] = ["ok"]


@dataclass(frozen=True)
class Event:
    """One task event hook call, as a plugin received it."""

    name: str  # claimed, succeeded, retried, failed, cancelled
    task_id: str
    attempts: int  # task.attempts as the hook saw it
    error: str | None = None
    delay: float | None = None
    result: Any = None


class Scripted:
    """The plugin. ``types`` maps each task type name to its ``TaskType`` options."""

    def __init__(self, **types: dict[str, Any]) -> None:
        self.types = types or {"JOB": {"retry": AT_ONCE, "timeout": 60}}
        self.events: list[Event] = []
        self.runs: dict[str, int] = {}
        self.seen_attempts: dict[str, list[int]] = {}  # ctx.task.attempts, run by run
        self.cancelled: list[str] = []
        self.inside = 0  # handlers running right now
        self.peak = 0
        self.gate = asyncio.Semaphore(0)  # each release lets one ``wait`` step finish

    async def handle(self, ctx: TaskContext, job: Script) -> dict[str, Any] | None:
        tid = ctx.task.id
        run = self.runs[tid] = self.runs.get(tid, 0) + 1
        self.seen_attempts.setdefault(tid, []).append(ctx.task.attempts)
        step = job.script[min(run, len(job.script)) - 1]
        action, _, arg = step.partition(":")
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        try:
            match action:
                case "ok":
                    return {"run": run}
                case "boom":
                    raise RuntimeError("boom")
                case "permanent":
                    raise PermanentError("no such user")
                case "after":
                    raise RetryAfter(float(arg), "rate limited")
                case "charged":
                    raise RetryAfter(float(arg), "rate limited", charge=True)
                case "wait":
                    await self.gate.acquire()
                    return {"run": run, "waited": True}
                case "waitboom":
                    await self.gate.acquire()
                    raise RuntimeError("boom")
                case "hang":
                    await asyncio.sleep(3600)
                case "garbage":
                    return ["not", "a", "dict"]  # type: ignore[return-value]
            raise AssertionError(f"unknown step {step!r}")
        except asyncio.CancelledError:
            self.cancelled.append(tid)
            raise
        finally:
            self.inside -= 1

    # -- what a test reads --------------------------------------------------------------
    def of(self, task_id: str, name: str | None = None) -> list[Event]:
        return [e for e in self.events if e.task_id == task_id and name in (None, e.name)]

    def names(self, task_id: str) -> list[str]:
        return [e.name for e in self.of(task_id)]

    def started(self) -> int:
        return sum(self.runs.values())

    # -- hooks --------------------------------------------------------------------------
    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        for name, options in self.types.items():
            register(TaskType(name=name, payload=Script, handler=self.handle, **options))

    @hookimpl
    def task_claimed(self, task: Task, worker_id: str) -> None:
        self.events.append(Event("claimed", task.id, task.attempts))

    @hookimpl
    def task_succeeded(self, task: Task, result: dict[str, Any] | None, seconds: float) -> None:
        self.events.append(Event("succeeded", task.id, task.attempts, result=result))

    @hookimpl
    def task_retried(self, task: Task, error: str, delay: float) -> None:
        self.events.append(Event("retried", task.id, task.attempts, error=error, delay=delay))

    @hookimpl
    def task_failed(self, task: Task, error: str) -> None:
        self.events.append(Event("failed", task.id, task.attempts, error=error))

    @hookimpl
    def task_cancelled(self, task: Task) -> None:
        self.events.append(Event("cancelled", task.id, task.attempts))


async def until(condition: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Let the event loop run until ``condition()`` is truthy; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.005)
    return value


def stored(roost: Roost, task_id: str) -> Task:
    """The task as the store has it now (it must exist)."""
    task = roost.store.sync.get(task_id)
    assert task is not None, f"task {task_id} is gone"
    return task


class Running:
    """A worker running in the background of a test; stopped (and awaited) at the end."""

    def __init__(self, roost: Roost, **kw: Any) -> None:
        self.worker = Worker(roost, **kw)
        self.job: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Worker:
        self.job = asyncio.create_task(self.worker.run())
        await until(lambda: self.worker.status()["running"], "the worker to start")
        return self.worker

    async def __aexit__(self, *exc: object) -> None:
        assert self.job is not None
        self.worker.stop(force=True)
        await asyncio.wait_for(self.job, 20)


MakeRoost = Callable[..., Awaitable[Roost]]


@asynccontextmanager
async def roost_maker(
    make_settings: Callable[..., Any], worker: dict[str, Any], **settings: Any
) -> AsyncIterator[MakeRoost]:
    """``await make(plugin, **worker_settings)`` in the block: a started Roost with the
    ``Scripted`` plugin, ``worker`` settings under the test's own, closed after the block."""
    made: list[Roost] = []

    async def make(plugin: Scripted, **overrides: Any) -> Roost:
        config = make_settings(worker={**worker, **overrides}, **settings)
        roost = Roost.create(config, plugins=[plugin])
        await roost.start()
        made.append(roost)
        return roost

    try:
        yield make
    finally:
        for roost in made:
            await roost.close()
