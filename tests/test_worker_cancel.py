"""Cancelling a running task: the worker stops its handler within one heartbeat and the
task ends CANCELLED, fenced (never retried, never charged twice); a handler that finishes
first wins as DONE (the request cleared); a dead worker's cancelled task is cancelled by the rescuer; a stopping
worker cancels, rather than gives back, a task whose cancel was requested.

Real stores (a SQLite file, the wire server; mongomock where no worker runs), observed as a
plugin or an operator would: the task event hooks (``scripted.Scripted``), the stored tasks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.models import NewTask, TaskStatus
from roost.core.worker import Worker, registry
from roost.core.worker.maintenance import rescue
from scripted import MakeRoost, Running, Scripted, roost_maker, stored, until
from store_urls import store_url

#: a heartbeat every 0.4 s; a short shutdown bound
WORKER = {
    "max_concurrent": 4,
    "lease": 1.2,
    "shutdown_timeout": 0.5,
    "poll_interval": 0.01,
    "max_poll_interval": 0.05,
}
SLOW_HEARTBEAT = {"lease": 60}  # no heartbeat within a test (with ``unwatched``)


@pytest.fixture
def unwatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker does not look for cancels within a test (nor beat the registry)."""
    monkeypatch.setattr(registry, "EVERY", 3600.0)


@pytest.fixture(params=["sqlite", "wire"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url(str(request.param), tmp_path, request) as url:
        yield url


@pytest.fixture
async def make_roost(make_settings: Callable[..., Any], url: str) -> AsyncIterator[MakeRoost]:
    async with roost_maker(make_settings, WORKER, store={"url": url}) as make:
        yield make


async def enqueue(roost: Roost, *script: str) -> str:
    return (await roost.enqueue("JOB", {"script": list(script)})).id


def ended(roost: Roost, task_id: str, status: TaskStatus) -> Callable[[], bool]:
    return lambda: stored(roost, task_id).status == status


async def test_cancel_stops_a_running_handler_and_the_task_ends_cancelled(
    make_roost: MakeRoost,
) -> None:
    plugin = Scripted()
    roost = await make_roost(plugin)
    async with Running(roost):
        tid = await enqueue(roost, "hang")
        await until(lambda: plugin.started() == 1, "the handler to start")
        asked = await roost.store.cancel(tid)
        assert asked is not None and asked.status == TaskStatus.RUNNING and asked.cancel_requested
        await until(ended(roost, tid, TaskStatus.CANCELLED), "the task to end CANCELLED", 15)
        assert plugin.cancelled == [tid]  # the handler itself saw CancelledError
        task = stored(roost, tid)
        assert task.attempts == 1 and task.finished_at is not None
        assert task.errors == [] and task.last_error is None  # a cancel is not an error
        # never run again: the worker goes on with other work, this task stays CANCELLED
        other = await enqueue(roost, "ok")
        await until(ended(roost, other, TaskStatus.DONE), "another task to run")
    assert plugin.runs[tid] == 1 and plugin.names(tid) == ["claimed", "cancelled"]
    assert stored(roost, tid).status == TaskStatus.CANCELLED


async def test_a_cancel_is_seen_within_seconds_whatever_the_lease(
    make_roost: MakeRoost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the lease heartbeat of the default 300 s lease comes every 100 s: cancels are
    # looked for apart from it, every registry.EVERY (10 s; shortened here)
    monkeypatch.setattr(registry, "EVERY", 0.3)
    plugin = Scripted()
    roost = await make_roost(plugin, lease=300)
    async with Running(roost):
        tid = await enqueue(roost, "hang")
        await until(lambda: plugin.started() == 1, "the handler to start")
        await roost.store.cancel(tid)
        await until(ended(roost, tid, TaskStatus.CANCELLED), "the task to end CANCELLED", 15)
    assert plugin.cancelled == [tid]


async def test_cancels_racing_completions_end_one_way_each(make_roost: MakeRoost) -> None:
    """Cancel six running tasks while three of their handlers are let through: each task
    ends DONE (its handler finished first) or CANCELLED (stopped), never both, never
    retried, and its events say the same as the store."""
    plugin = Scripted()
    roost = await make_roost(plugin, max_concurrent=6)
    async with Running(roost):
        ids = [await enqueue(roost, "wait") for _ in range(6)]
        await until(lambda: plugin.started() == 6, "six handlers to start")
        for n, tid in enumerate(ids):
            if n % 2:
                plugin.gate.release()  # one handler (whichever) may finish now
            assert (await roost.store.cancel(tid)) is not None
        finished = {TaskStatus.DONE, TaskStatus.CANCELLED}
        await until(
            lambda: all(stored(roost, t).status in finished for t in ids), "every task to end", 15
        )
    tasks = {tid: stored(roost, tid) for tid in ids}
    for tid, task in tasks.items():
        names = plugin.names(tid)
        if task.status == TaskStatus.DONE:
            assert names == ["claimed", "succeeded"] and tid not in plugin.cancelled
        else:
            assert names == ["claimed", "cancelled"] and tid in plugin.cancelled
        assert task.attempts == 1 and plugin.runs[tid] == 1 and not task.cancel_requested
    # at most three handlers were let through: the others could only be stopped
    assert sum(t.status == TaskStatus.CANCELLED for t in tasks.values()) >= 3


async def test_a_cancel_requested_meanwhile_wins_over_a_retry(
    make_roost: MakeRoost, unwatched: None
) -> None:
    """The handler fails (retryable) after the cancel was asked, before a heartbeat told
    the worker: the re-queue becomes CANCELLED, and the event says so."""
    plugin = Scripted()
    roost = await make_roost(plugin, **SLOW_HEARTBEAT)
    async with Running(roost):
        tid = await enqueue(roost, "waitboom", "ok")
        await until(lambda: plugin.started() == 1, "the handler to start")
        assert (await roost.store.cancel(tid)) is not None
        plugin.gate.release()
        await until(ended(roost, tid, TaskStatus.CANCELLED), "the task to end CANCELLED")
    task = stored(roost, tid)
    assert task.attempts == 1 and plugin.runs[tid] == 1
    assert plugin.names(tid) == ["claimed", "cancelled"]


async def test_a_stopping_worker_cancels_a_task_whose_cancel_it_had_not_seen(
    make_roost: MakeRoost,
    unwatched: None,
) -> None:
    plugin = Scripted()
    roost = await make_roost(plugin, **SLOW_HEARTBEAT)
    worker = Worker(roost)
    job = asyncio.create_task(worker.run())
    tid = await enqueue(roost, "hang")
    kept = await enqueue(roost, "hang")
    await until(lambda: plugin.started() == 2, "the handlers to start")
    assert (await roost.store.cancel(tid)) is not None
    worker.stop(force=True)
    await asyncio.wait_for(job, 20)
    assert stored(roost, tid).status == TaskStatus.CANCELLED
    assert plugin.names(tid) == ["claimed", "cancelled"]  # the event says what happened
    back = stored(roost, kept)
    assert (back.status, back.attempts) == (TaskStatus.PENDING, 0)  # given back uncharged
    assert plugin.names(kept) == ["claimed"]


@pytest.fixture
def any_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with store_url(engine, tmp_path, request) as url:
        yield url


async def test_the_rescuer_cancels_a_dead_workers_task_whose_cancel_was_requested(
    make_settings: Callable[..., Any], any_url: str
) -> None:
    plugin = Scripted()
    roost = Roost.create(make_settings(store={"url": any_url}), plugins=[plugin])
    await roost.start()
    try:
        store = roost.store.sync
        doomed, plain = store.enqueue_many(
            [NewTask(type="JOB", payload={"script": ["ok"]}) for _ in range(2)]
        )
        assert len(store.claim("worker-dead", None, 2, lease=-1)) == 2  # its leases: expired
        asked = store.cancel(doomed.id)
        assert asked is not None and asked.cancel_requested
        assert await rescue(roost) == 2
        cancelled, retried = stored(roost, doomed.id), stored(roost, plain.id)
        assert (cancelled.status, cancelled.attempts) == (TaskStatus.CANCELLED, 1)
        assert cancelled.errors == [] and cancelled.finished_at is not None
        assert (retried.status, retried.attempts) == (TaskStatus.PENDING, 1)  # the usual path
        assert plugin.names(doomed.id) == ["cancelled"] and plugin.names(plain.id) == ["retried"]
        assert await rescue(roost) == 0  # nothing left to rescue: never retried
    finally:
        await roost.close()
