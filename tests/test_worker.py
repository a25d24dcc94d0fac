"""The worker loop against a real SQLite file: outcomes, timeouts, shutdown, leases, wake-ups.

Tests observe the worker the way a plugin or an operator does: the task event hooks
(``scripted.Scripted``), ``worker.status()`` and the stored tasks. Retry policies and
backoff through the worker are in ``test_worker_retry.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.models import NewTask, TaskStatus, utcnow
from roost.core.retry import RetryPolicy
from roost.core.worker import Worker
from scripted import MakeRoost, Running, Scripted, roost_maker, stored, until
from storekit import complete, retry

WORKER = {
    "max_concurrent": 3,
    "lease": 30,
    "shutdown_timeout": 0.5,
    "poll_interval": 0.01,
    "max_poll_interval": 0.05,
}


@pytest.fixture
def plugin() -> Scripted:
    return Scripted()


@pytest.fixture
async def make_roost(make_settings: Callable[..., Any]) -> AsyncIterator[MakeRoost]:
    """``await make_roost(plugin, **worker_settings)``: a started Roost, closed after the test."""
    async with roost_maker(make_settings, WORKER) as make:
        yield make


@pytest.fixture
async def roost(make_roost: MakeRoost, plugin: Scripted) -> Roost:
    return await make_roost(plugin)


async def enqueue(roost: Roost, *script: str, type_name: str = "JOB") -> str:
    return (await roost.enqueue(type_name, {"script": list(script)})).id


async def burst(roost: Roost, **kw: Any) -> Worker:
    worker = Worker(roost, **kw)
    await asyncio.wait_for(worker.run(burst=True), 20)
    return worker


async def test_success_stores_the_result_and_fires_the_hooks(
    roost: Roost, plugin: Scripted
) -> None:
    tid = await enqueue(roost, "ok")
    await burst(roost)
    task = stored(roost, tid)
    assert (task.status, task.result, task.attempts) == (TaskStatus.DONE, {"run": 1}, 1)
    assert task.finished_at is not None and task.lease_expires_at is None
    assert plugin.names(tid) == ["claimed", "succeeded"]
    assert [e.result for e in plugin.of(tid, "succeeded")] == [{"run": 1}]


async def test_failure_retries_then_fails_for_good(roost: Roost, plugin: Scripted) -> None:
    tid = await enqueue(roost, "boom")
    await burst(roost)
    task = stored(roost, tid)
    assert task.status == TaskStatus.FAILED and task.attempts == 3
    assert task.last_error == "RuntimeError: boom"
    assert plugin.names(tid) == ["claimed", "retried"] * 2 + ["claimed", "failed"]
    assert [e.attempts for e in plugin.of(tid, "retried")] == [1, 2]
    assert [e.error for e in plugin.of(tid, "failed")] == ["RuntimeError: boom"]


async def test_a_retry_can_succeed(roost: Roost, plugin: Scripted) -> None:
    tid = await enqueue(roost, "boom", "ok")
    await burst(roost)
    task = stored(roost, tid)
    assert (task.status, task.result, task.attempts, task.last_error) == (
        TaskStatus.DONE,
        {"run": 2},
        2,
        "RuntimeError: boom",
    )
    assert plugin.names(tid) == ["claimed", "retried", "claimed", "succeeded"]


async def test_timeout_and_garbage_results_are_failures(make_roost: MakeRoost) -> None:
    plugin = Scripted(QUICK={"timeout": 0.05, "retry": RetryPolicy(max_attempts=1)})
    roost = await make_roost(plugin)
    slow = await enqueue(roost, "hang", type_name="QUICK")
    garbage = await enqueue(roost, "garbage", type_name="QUICK")
    await burst(roost)
    assert stored(roost, slow).status == TaskStatus.FAILED
    assert "timeout" in (stored(roost, slow).last_error or "").lower()
    assert plugin.cancelled == [slow]  # the handler itself was stopped
    assert stored(roost, garbage).status == TaskStatus.FAILED
    assert "expected a dict" in (stored(roost, garbage).last_error or "")
    assert plugin.names(slow) == plugin.names(garbage) == ["claimed", "failed"]


async def test_a_stored_payload_that_does_not_fit_fails_permanently(
    roost: Roost, plugin: Scripted
) -> None:
    bad = roost.store.sync.enqueue(NewTask(type="JOB", payload={"script": 1}))
    await burst(roost)
    task = stored(roost, bad.id)
    assert task.status == TaskStatus.FAILED and task.attempts == 1
    assert "stored payload does not fit JOB" in (task.last_error or "")
    assert plugin.runs == {} and plugin.names(bad.id) == ["claimed", "failed"]


async def test_tasks_of_a_type_the_worker_does_not_serve_are_left_for_another(
    roost: Roost, plugin: Scripted
) -> None:
    other = roost.store.sync.enqueue(NewTask(type="NOT_HERE", payload={}))
    mine = await enqueue(roost, "ok")
    await burst(roost)
    assert stored(roost, mine).status == TaskStatus.DONE
    left = stored(roost, other.id)
    assert (left.status, left.attempts) == (TaskStatus.PENDING, 0)
    assert plugin.of(other.id) == []


async def test_never_runs_more_than_max_concurrent(roost: Roost, plugin: Scripted) -> None:
    ids = [await enqueue(roost, "wait") for _ in range(7)]
    worker = Worker(roost)
    run = asyncio.create_task(worker.run(burst=True))
    inflight: list[int] = []
    # every handler blocks until the gate lets one through: whatever the worker claims
    # beyond its 3 slots, at any moment, shows up as a 4th handler running at once
    for released in range(7):
        want = min(3 + released, 7)
        await until(lambda: plugin.started() >= want, "a free slot's claim")  # noqa: B023 - awaited here
        inflight.append(worker.status()["inflight"])
        assert roost.store.sync.stats().running <= 3
        plugin.gate.release()
    await asyncio.wait_for(run, 10)
    assert plugin.peak == 3 and max(inflight) == 3
    assert all(stored(roost, i).status == TaskStatus.DONE for i in ids)


async def test_graceful_stop_waits_for_running_tasks(make_roost: MakeRoost) -> None:
    plugin = Scripted()
    roost = await make_roost(plugin, shutdown_timeout=30)
    tid = await enqueue(roost, "wait")
    later = await enqueue(roost, "ok")  # not started yet when the stop comes: never claimed
    worker = Worker(roost, max_concurrent=1)
    run = asyncio.create_task(worker.run())
    await until(lambda: plugin.started() == 1, "the task to start")
    worker.stop()
    await until(lambda: not worker.status()["running"], "the worker to stop claiming")
    assert worker.status()["inflight"] == 1 and plugin.cancelled == []
    plugin.gate.release()  # the running task finishes in its own time
    await asyncio.wait_for(run, 10)
    assert stored(roost, tid).status == TaskStatus.DONE
    assert stored(roost, later).status == TaskStatus.PENDING
    assert plugin.names(tid) == ["claimed", "succeeded"] and plugin.of(later) == []


async def test_shutdown_timeout_releases_without_charging(roost: Roost, plugin: Scripted) -> None:
    tid = await enqueue(roost, "wait")
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await until(lambda: plugin.started() == 1, "the task to start")
    worker.stop()  # shutdown_timeout is 0.5 s; the task never finishes by itself
    await asyncio.wait_for(run, 5)
    task = stored(roost, tid)
    assert (task.status, task.attempts, task.lease_id) == (TaskStatus.PENDING, 0, None)
    assert plugin.cancelled == [tid]
    assert plugin.names(tid) == ["claimed"]  # neither a retry nor a failure


async def test_forced_stop_releases_at_once(make_roost: MakeRoost) -> None:
    plugin = Scripted()
    roost = await make_roost(plugin, shutdown_timeout=60)
    tid = await enqueue(roost, "wait")
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await until(lambda: plugin.started() == 1, "the task to start")
    worker.stop()
    worker.stop(force=True)
    await asyncio.wait_for(run, 5)  # far less than the 60 s shutdown_timeout
    assert (stored(roost, tid).status, stored(roost, tid).attempts) == (TaskStatus.PENDING, 0)
    assert plugin.cancelled == [tid] and plugin.names(tid) == ["claimed"]


async def test_lost_lease_cancels_the_run_and_keeps_the_newer_result(
    make_roost: MakeRoost,
) -> None:
    plugin = Scripted()
    roost = await make_roost(plugin, lease=1.5)  # the heartbeat runs every 0.5 s
    tid = await enqueue(roost, "wait")
    async with Running(roost) as worker:
        await until(lambda: plugin.started() == 1, "the task to start")
        # another worker takes the task over (as if our lease had expired and been recovered)
        store = roost.store.sync
        first = stored(roost, tid)
        assert first.lease_id is not None
        assert retry(store, tid, first.lease_id, utcnow(), "recovered", charge=True)
        [other] = store.claim("worker-other", None, 1, 60)
        assert other.lease_id is not None and complete(store, other.id, other.lease_id, {"by": 2})
        # the next heartbeat learns the lease is gone and cancels the run
        await until(lambda: plugin.cancelled == [tid], "the heartbeat to cancel the run")
        await until(lambda: worker.status()["inflight"] == 0, "the slot to be freed")
    task = stored(roost, tid)
    assert (task.status, task.result) == (TaskStatus.DONE, {"by": 2})
    assert plugin.names(tid) == ["claimed"]  # the abandoned run reports nothing


async def test_enqueue_wakes_an_idle_worker_in_the_same_process(make_roost: MakeRoost) -> None:
    plugin = Scripted()
    # polling alone would not find the task for 30 s
    roost = await make_roost(plugin, poll_interval=30, max_poll_interval=30)
    async with Running(roost):
        # The worker has no public "idle" signal. It has polled the empty queue once it
        # reports running and a call through the store's one thread, queued behind any
        # claim the worker handed it, has returned: from then on only a wake-up (or the
        # next poll, 30 s away) can find a new task.
        await roost.store.stats()
        tid = await enqueue(roost, "ok")
        await until(lambda: stored(roost, tid).status == TaskStatus.DONE, "the task to run", 5)
    assert plugin.names(tid) == ["claimed", "succeeded"]


async def test_per_type_concurrency_limits_claims(make_roost: MakeRoost) -> None:
    plugin = Scripted(SOLO={"concurrency": 1}, FREE={})
    roost = await make_roost(plugin, max_concurrent=4)
    solo = [await enqueue(roost, "wait", type_name="SOLO") for _ in range(3)]
    free = [await enqueue(roost, "wait", type_name="FREE") for _ in range(3)]
    worker = Worker(roost)
    run = asyncio.create_task(worker.run(burst=True))
    # one SOLO and the three FREE fill the 4 slots; the other SOLO tasks wait their turn
    await until(lambda: plugin.started() == 4, "four tasks to start")
    assert {t: plugin.runs.get(t, 0) for t in free} == dict.fromkeys(free, 1)
    assert sum(plugin.runs.get(t, 0) for t in solo) == 1
    for _ in range(6):
        plugin.gate.release()
    await asyncio.wait_for(run, 10)
    assert all(stored(roost, t).status == TaskStatus.DONE for t in solo + free)
    # a SOLO task is claimed only once the one before it has succeeded
    assert [e.name for e in plugin.events if e.task_id in solo] == ["claimed", "succeeded"] * 3
