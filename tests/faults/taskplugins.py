"""Task types for the fault tests, loaded into real ``roost worker`` processes.

Load with ``ROOST_PLUGINS__MODULES='["faults.taskplugins"]'`` and ``tests/`` on PYTHONPATH.
Every run start and every *accepted* completion (the ``task_succeeded`` hook, called only
after the fenced write succeeded) is appended as one JSON line to ``$ROOST_FAULTS_LOG``,
so a test counts executions and accepted completions per task across processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from roost.core.hookspecs import hookimpl
from roost.core.models import Task
from roost.core.retry import RetryPolicy
from roost.core.tasktypes import TaskContext, TaskType

LOG_ENV = "ROOST_FAULTS_LOG"
#: misbehaving types fail for good on their second run, quickly
TWICE = RetryPolicy(max_attempts=2, strategy="fixed", base_delay=0.1, jitter=0)
HANG_TIMEOUT = 0.5


class Job(BaseModel):
    n: int = 0
    seconds: float = 0.0


def record(event: str, task: Task, **extra: Any) -> None:
    """One line per event; a single O_APPEND write, so lines from processes never mix."""
    path = os.environ.get(LOG_ENV)
    if not path:
        return
    line = json.dumps({"event": event, "task": task.id, "lease": task.lease_id,
                       "attempt": task.attempts, "pid": os.getpid(), "t": time.time(), **extra})
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def outcome(ctx: TaskContext, job: Job) -> dict[str, Any]:
    return {"pid": os.getpid(), "lease": ctx.task.lease_id, "n": job.n}


async def slow(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """Runs ``seconds`` without blocking the loop."""
    record("start", ctx.task)
    await asyncio.sleep(job.seconds)
    return outcome(ctx, job)


async def zombie(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """First run: the process stops itself (SIGSTOP) mid-run, until the test sends SIGCONT."""
    record("start", ctx.task)
    if ctx.task.attempts == 1:
        # Stop only once the store is idle: a process frozen inside a SQLite write
        # transaction would hold the write lock and freeze every other writer with it.
        # The store runs one call at a time, in order, so when this fenced write returns,
        # what the worker sent before it (the start-up recovery, the claim) has finished.
        await ctx.checkpoint({"paused": True})
        os.kill(os.getpid(), signal.SIGSTOP)
    return outcome(ctx, job)


async def raises(ctx: TaskContext, job: Job) -> dict[str, Any]:
    record("start", ctx.task)
    raise RuntimeError(f"RAISES n={job.n} failed on purpose")


async def hangs(ctx: TaskContext, job: Job) -> dict[str, Any]:
    record("start", ctx.task)
    await asyncio.sleep(3600)
    return outcome(ctx, job)


async def garbage(ctx: TaskContext, job: Job) -> dict[str, Any]:
    record("start", ctx.task)
    return {"not json": {1, 2}}  # a set: not JSON-serialisable


async def blocks(ctx: TaskContext, job: Job) -> dict[str, Any]:
    """Blocks the whole event loop (a sync call inside an async handler)."""
    record("start", ctx.task)
    time.sleep(job.seconds)  # noqa: ASYNC251 - the misbehaviour under test
    return outcome(ctx, job)


@hookimpl
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(TaskType("SLOW", Job, slow, route="slow", description="sleeps, then succeeds"))
    register(TaskType("ZOMBIE", Job, zombie, description="stops its own process on run 1"))
    register(TaskType("RAISES", Job, raises, retry=TWICE))
    register(TaskType("HANGS", Job, hangs, retry=TWICE, timeout=HANG_TIMEOUT))
    register(TaskType("GARBAGE", Job, garbage, retry=TWICE))
    register(TaskType("BLOCKS", Job, blocks, retry=TWICE))


@hookimpl
def task_succeeded(task: Task, result: dict[str, Any] | None, seconds: float) -> None:
    record("accepted", task)
