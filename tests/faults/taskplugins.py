"""Task types for the fault tests, loaded into real ``roost worker`` processes.

Load with ``ROOST_PLUGINS__MODULES='["faults.taskplugins"]'`` and ``tests/`` on PYTHONPATH.
Each run appends JSON lines to ``$ROOST_FAULTS_LOG``: ``start`` (with the claim's time and
lease expiry), then ``finish`` when the handler returned or ``cancelled`` when it was
cancelled; and ``accepted`` for every *accepted* completion (the ``task_succeeded`` hook,
called only after the fenced write succeeded). So a test follows every run of every task
across processes, from a source independent of the store.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from roost.core.hookspecs import hookimpl
from roost.core.models import Task
from roost.core.retry import RetryPolicy
from roost.core.tasktypes import Exposure, TaskContext, TaskType

LOG_ENV = "ROOST_FAULTS_LOG"
#: the file whose existence lets GATED runs finish (see :func:`gated`)
GATE_ENV = "ROOST_FAULTS_GATE"
#: misbehaving types fail for good on their second run, quickly
TWICE = RetryPolicy(max_attempts=2, strategy="fixed", base_delay=0.1, jitter=0)
HANG_TIMEOUT = 0.5

Handler = Callable[[TaskContext, "Job"], Awaitable[dict[str, Any]]]


class Job(BaseModel):
    n: int = 0
    seconds: float = 0.0


def stamp(value: Any) -> float | None:
    return None if value is None else float(value.timestamp())


def record(event: str, task: Task, **extra: Any) -> None:
    """One line per event; a single O_APPEND write, so lines from processes never mix."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    line = json.dumps(
        {
            "event": event,
            "task": task.id,
            "lease": task.lease_id,
            "attempt": task.attempts,
            "pid": os.getpid(),
            "t": time.time(),
            "claimed": stamp(task.locked_at),
            "expires": stamp(task.lease_expires_at),
            **extra,
        }
    )
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def logged(handler: Handler) -> Handler:
    """``handler`` with its run recorded: start, then finish or cancelled."""

    @functools.wraps(handler)
    async def run(ctx: TaskContext, job: Job) -> dict[str, Any]:
        record("start", ctx.task)
        try:
            out = await handler(ctx, job)
        except asyncio.CancelledError:
            record("cancelled", ctx.task)
            raise
        record("finish", ctx.task)
        return out

    return run


def outcome(ctx: TaskContext, job: Job) -> dict[str, Any]:
    return {"pid": os.getpid(), "lease": ctx.task.lease_id, "n": job.n}


async def slow(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """Runs ``seconds`` without blocking the loop."""
    await asyncio.sleep(job.seconds)
    return outcome(ctx, job)


async def gated(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """Runs until the test opens its gate: the file ``$ROOST_FAULTS_GATE`` (every run's) or
    ``$ROOST_FAULTS_GATE.<n>`` (this ``n``'s). No duration has to outlast another."""
    gate = os.environ[GATE_ENV]
    gates = (gate, f"{gate}.{job.n}")
    while not any(map(os.path.exists, gates)):  # noqa: ASYNC110 - files another process makes
        await asyncio.sleep(0.01)
    return outcome(ctx, job)


async def zombie(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """First run: the process stops itself (SIGSTOP) mid-run, until the test sends SIGCONT."""
    if ctx.task.attempts == 1:
        # Stop only once the store is idle: a process frozen inside a SQLite write
        # transaction would hold the write lock and freeze every other writer with it.
        # The store runs one call at a time, in order, so when this fenced write returns,
        # what the worker sent before it (the start-up recovery, the claim) has finished.
        await ctx.checkpoint({"paused": True})
        os.kill(os.getpid(), signal.SIGSTOP)
    return outcome(ctx, job)


async def raises(ctx: TaskContext, job: Job) -> dict[str, Any]:
    raise RuntimeError(f"RAISES n={job.n} failed on purpose")


async def hangs(ctx: TaskContext, job: Job) -> dict[str, Any]:
    await asyncio.sleep(3600)
    return outcome(ctx, job)


async def garbage(ctx: TaskContext, job: Job) -> dict[str, Any]:
    return {"not json": {1, 2}}  # a set: not JSON-serialisable


async def blocks(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """Blocks the whole event loop (a sync call inside an async handler)."""
    time.sleep(job.seconds)  # noqa: ASYNC251 - the misbehaviour under test
    return outcome(ctx, job)


@hookimpl
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    register(Exposure("SLOW"))  # POST .../tasks/slow and `roost enqueue slow`


@hookimpl
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(TaskType("SLOW", Job, logged(slow), description="sleeps, then succeeds"))
    register(TaskType("GATED", Job, logged(gated), description="runs until the test's gate opens"))
    register(TaskType("ZOMBIE", Job, logged(zombie), description="stops its own process on run 1"))
    register(TaskType("RAISES", Job, logged(raises), retry=TWICE))
    register(TaskType("HANGS", Job, logged(hangs), retry=TWICE, timeout=HANG_TIMEOUT))
    register(TaskType("GARBAGE", Job, logged(garbage), retry=TWICE))
    register(TaskType("BLOCKS", Job, logged(blocks), retry=TWICE))


@hookimpl
def task_succeeded(task: Task, result: dict[str, Any] | None, seconds: float) -> None:
    record("accepted", task)
