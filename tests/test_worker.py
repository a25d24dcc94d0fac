"""The worker loop against a real SQLite file: outcomes, retries, timeouts, shutdown, leases."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel
from roost.core.app import Roost
from roost.core.errors import PermanentError, RetryAfter
from roost.core.hookspecs import hookimpl
from roost.core.models import TaskStatus
from roost.core.retry import RetryPolicy
from roost.core.tasktypes import TaskContext, TaskType
from roost.core.worker import Worker


class Job(BaseModel):
    action: str = "ok"
    seconds: float = 0.0


class Behaviours:
    """A plugin whose task type does what the payload says, and records the events it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.runs: dict[str, int] = {}

    async def handle(self, ctx: TaskContext, job: Job) -> dict[str, Any] | None:
        self.runs[ctx.task.id] = self.runs.get(ctx.task.id, 0) + 1
        self.started.set()
        match job.action:
            case "ok":
                return {"attempt": ctx.task.attempts}
            case "boom":
                raise RuntimeError("boom")
            case "permanent":
                raise PermanentError("no such user")
            case "retry_after":
                raise RetryAfter(0, "rate limited")
            case "sleep":
                await asyncio.sleep(job.seconds)
                return {"slept": job.seconds}
            case "wait":
                await self.release.wait()
                return {"waited": True}
            case "garbage":
                return ["not", "a", "dict"]  # type: ignore[return-value]
            case "fail_once":
                if ctx.task.attempts == 1:
                    raise RuntimeError("first attempt fails")
                return {"attempt": ctx.task.attempts}
        raise AssertionError(job.action)

    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        register(
            TaskType(
                name="JOB",
                payload=Job,
                handler=self.handle,
                timeout=5,
                retry=RetryPolicy(max_attempts=3, strategy="fixed", base_delay=0),
            )
        )

    @hookimpl
    def task_succeeded(self, task: Any, result: Any, seconds: float) -> None:
        self.events.append(("succeeded", task.id))

    @hookimpl
    def task_retried(self, task: Any, error: str, delay: float) -> None:
        self.events.append(("retried", task.id))

    @hookimpl
    def task_failed(self, task: Any, error: str) -> None:
        self.events.append(("failed", task.id))


@pytest.fixture
def plugin() -> Behaviours:
    return Behaviours()


@pytest.fixture
def roost(make_settings: Callable[..., Any], plugin: Behaviours) -> Roost:
    settings = make_settings(
        worker={
            "max_concurrent": 3,
            "stale_timeout": 30,
            "shutdown_timeout": 0.5,
            "poll_interval": 0.01,
            "max_poll_interval": 0.05,
        }
    )
    return Roost.create(settings, plugins=[plugin])


async def enqueue(roost: Roost, action: str, **kw: Any) -> str:
    return (await roost.enqueue("JOB", {"action": action, **kw})).id


async def burst(roost: Roost, **kw: Any) -> Worker:
    await roost.start()
    worker = Worker(roost, **kw)
    await asyncio.wait_for(worker.run(burst=True), 20)
    return worker


def status(roost: Roost, task_id: str) -> Any:
    task = roost.store.sync.get(task_id)
    assert task is not None
    return task


async def test_success_stores_the_result_and_fires_the_hook(
    roost: Roost, plugin: Behaviours
) -> None:
    await roost.start()
    tid = await enqueue(roost, "ok")
    await burst(roost)
    task = status(roost, tid)
    assert (task.status, task.result, task.attempts) == (TaskStatus.DONE, {"attempt": 1}, 1)
    assert plugin.events == [("succeeded", tid)]
    await roost.close()


async def test_failure_retries_then_fails_for_good(roost: Roost, plugin: Behaviours) -> None:
    await roost.start()
    tid = await enqueue(roost, "boom")
    await burst(roost)
    task = status(roost, tid)
    assert task.status == TaskStatus.FAILED and task.attempts == 3
    assert task.last_error == "RuntimeError: boom"
    assert plugin.events == [("retried", tid), ("retried", tid), ("failed", tid)]
    await roost.close()


async def test_a_retry_can_succeed(roost: Roost) -> None:
    await roost.start()
    tid = await enqueue(roost, "fail_once")
    await burst(roost)
    task = status(roost, tid)
    assert (task.status, task.result, task.last_error) == (
        TaskStatus.DONE,
        {"attempt": 2},
        "RuntimeError: first attempt fails",
    )
    await roost.close()


async def test_permanent_error_fails_at_once(roost: Roost, plugin: Behaviours) -> None:
    await roost.start()
    tid = await enqueue(roost, "permanent")
    await burst(roost)
    task = status(roost, tid)
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 1)
    assert task.last_error == "PermanentError: no such user"
    await roost.close()


async def test_retry_after_does_not_burn_attempts(roost: Roost, plugin: Behaviours) -> None:
    await roost.start()
    tid = await enqueue(roost, "retry_after")
    await roost.store.call(roost.store.sync.setup)
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    # it comes back again and again, never charged: wait for five runs, then stop
    for _ in range(200):
        if plugin.runs.get(tid, 0) >= 5:
            break
        await asyncio.sleep(0.01)
    worker.stop()
    await run
    task = status(roost, tid)
    assert plugin.runs[tid] >= 5 and task.attempts <= 1 and task.status != TaskStatus.FAILED
    await roost.close()


async def test_timeout_and_garbage_results_are_failures(roost: Roost) -> None:
    roost.registry.task_types["JOB"] = TaskType(
        name="JOB",
        payload=Job,
        handler=roost.registry.task_types["JOB"].handler,
        timeout=0.05,
        retry=RetryPolicy(max_attempts=1),
    )
    await roost.start()
    slow = (await roost.enqueue("JOB", {"action": "sleep", "seconds": 30})).id
    garbage = await enqueue(roost, "garbage")
    await burst(roost)
    assert status(roost, slow).status == TaskStatus.FAILED
    assert "timeout" in status(roost, slow).last_error.lower()
    assert status(roost, garbage).status == TaskStatus.FAILED
    assert "expected a dict" in status(roost, garbage).last_error
    await roost.close()


async def test_unknown_payload_and_type_fail_permanently(roost: Roost) -> None:
    from roost.core.models import NewTask

    await roost.start()
    bad = roost.store.sync.enqueue(NewTask(type="JOB", payload={"action": 1}))
    await burst(roost)
    task = status(roost, bad.id)
    assert task.status == TaskStatus.FAILED and task.attempts == 1
    assert "stored payload does not fit JOB" in task.last_error
    await roost.close()


async def test_never_runs_more_than_max_concurrent(roost: Roost, plugin: Behaviours) -> None:
    await roost.start()
    ids = [await enqueue(roost, "wait") for _ in range(5)]
    worker = Worker(roost)
    run = asyncio.create_task(worker.run(burst=True))
    await plugin.started.wait()
    await asyncio.sleep(0.1)  # give a wrong implementation time to over-claim
    assert worker.status()["inflight"] == 3
    assert roost.store.sync.stats().running == 3 and roost.store.sync.stats().pending == 2
    plugin.release.set()
    await asyncio.wait_for(run, 10)
    assert all(status(roost, i).status == TaskStatus.DONE for i in ids)
    await roost.close()


async def test_graceful_stop_waits_for_running_tasks(roost: Roost, plugin: Behaviours) -> None:
    await roost.start()
    tid = await enqueue(roost, "sleep", seconds=0.2)
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await plugin.started.wait()
    worker.stop()
    await run
    assert status(roost, tid).status == TaskStatus.DONE
    await roost.close()


async def test_shutdown_timeout_releases_without_charging(roost: Roost, plugin: Behaviours) -> None:
    await roost.start()
    tid = await enqueue(roost, "wait")
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await plugin.started.wait()
    worker.stop()  # shutdown_timeout is 0.5 s; the task never finishes by itself
    await asyncio.wait_for(run, 5)
    task = status(roost, tid)
    assert (task.status, task.attempts, task.lease_id) == (TaskStatus.PENDING, 0, None)
    await roost.close()


async def test_forced_stop_releases_at_once(roost: Roost, plugin: Behaviours) -> None:
    roost.settings.worker.shutdown_timeout = 60
    await roost.start()
    tid = await enqueue(roost, "wait")
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await plugin.started.wait()
    worker.stop()
    worker.stop(force=True)
    await asyncio.wait_for(run, 5)
    assert (status(roost, tid).status, status(roost, tid).attempts) == (TaskStatus.PENDING, 0)
    await roost.close()


async def test_lost_lease_cancels_the_run_and_keeps_the_newer_result(
    roost: Roost, plugin: Behaviours
) -> None:
    await roost.start()
    tid = await enqueue(roost, "wait")
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await plugin.started.wait()
    # another worker takes the task over (as if our lease had expired and been recovered)
    store = roost.store.sync
    first = status(roost, tid)
    assert store.reschedule(tid, first.lease_id, first.next_run_at, "recovered", charge=True)
    [other] = store.claim("worker-other", None, 1, 60)
    assert store.complete(other.id, other.lease_id, {"by": "other"})
    await worker._heartbeat()  # the heartbeat learns the lease is gone and cancels the run
    for _ in range(100):
        if not worker.inflight:
            break
        await asyncio.sleep(0.01)
    assert worker.inflight == {}
    worker.stop()
    await run
    task = status(roost, tid)
    assert (task.status, task.result) == (TaskStatus.DONE, {"by": "other"})
    assert ("succeeded", tid) not in plugin.events
    await roost.close()


async def test_enqueue_wakes_an_idle_worker_in_the_same_process(roost: Roost) -> None:
    roost.settings.worker.poll_interval = 30  # polling alone would not find it in time
    roost.settings.worker.max_poll_interval = 30
    await roost.start()
    worker = Worker(roost)
    run = asyncio.create_task(worker.run())
    await asyncio.sleep(0.05)  # let the worker go idle
    tid = await enqueue(roost, "ok")
    for _ in range(500):
        if status(roost, tid).status == TaskStatus.DONE:
            break
        await asyncio.sleep(0.01)
    assert status(roost, tid).status == TaskStatus.DONE
    worker.stop()
    await run
    await roost.close()


async def test_per_type_concurrency_limits_claims(make_settings: Callable[..., Any]) -> None:
    running = 0
    peak = 0

    async def handler(ctx: TaskContext, job: Job) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1

    class OneAtATime:
        @hookimpl
        def register_task_types(self, register: Callable[[TaskType], None]) -> None:
            register(TaskType(name="SOLO", payload=Job, handler=handler, concurrency=1))

    roost = Roost.create(
        make_settings(worker={"max_concurrent": 4, "poll_interval": 0.01}), plugins=[OneAtATime()]
    )
    await roost.start()
    for _ in range(4):
        await roost.enqueue("SOLO", {})
    await burst(roost)
    assert peak == 1 and roost.store.sync.stats().done == 4
    await roost.close()
