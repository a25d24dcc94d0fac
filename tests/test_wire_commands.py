"""A worker over a real MongoDB wire connection: what its commands do (watched with
pymongo's command monitoring), and what it makes of a heartbeat reply that comes late.

How many commands a task costs, and how many an idle worker sends, are figures, not
pass/fail: ``make bench`` prints them (``python -m bench --only wire``).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mongo_wire import with_database
from pydantic import BaseModel
from pymongo import MongoClient, monitoring
from roost.core.app import Roost
from roost.core.hookspecs import hookimpl
from roost.core.models import NewTask, TaskStatus
from roost.core.retry import RetryPolicy
from roost.core.settings import Settings, StoreSettings
from roost.core.store import TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.tasktypes import TaskContext, TaskType
from roost.core.worker import Worker

pytestmark = pytest.mark.slow

CONCURRENCY = 10
LEASE = 3.0  # a heartbeat every second


def sets(statement: dict[str, Any]) -> set[str]:
    update = statement.get("u")
    return set(update.get("$set", {})) if isinstance(update, dict) else set()


class Watch(monitoring.CommandListener):
    """How many documents each heartbeat (an update that moves ``leaseExpiresAt`` and no
    ``status``) extended, how many reads the worker made, and any failed command."""

    def __init__(self) -> None:
        self.extended: list[int] = []
        self.reads = 0
        self.errors: list[str] = []
        self._heartbeats: set[int] = set()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "findAndModify"):
            self.reads += 1
        if event.command_name == "update":
            fields = set().union(*(sets(s) for s in event.command["updates"]))
            if "leaseExpiresAt" in fields and "status" not in fields:
                self._heartbeats.add(event.request_id)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.request_id in self._heartbeats:
            self._heartbeats.discard(event.request_id)
            self.extended.append(int(event.reply.get("n", 0)))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.errors.append(f"{event.command_name}: {event.failure}")


class Watched:
    """A plugin: the ``mongodb`` store, with the listener on its client."""

    def __init__(self, listener: Watch) -> None:
        self.listener = listener

    @hookimpl
    def register_stores(self, register: Callable[..., None]) -> None:
        def open_(cfg: StoreSettings) -> TaskStore:
            client: MongoClient[Any] = MongoClient(
                cfg.url, tz_aware=True, event_listeners=[self.listener]
            )
            return MongoStore(cfg.url, client=client)

        register("mongodb", open_)


@pytest.fixture
def watched(
    mongo_wire_url: str,
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Roost, Watch]]:
    listener = Watch()
    url = with_database(mongo_wire_url, f"commands_{uuid.uuid4().hex}")
    settings = make_settings(
        store={"url": url},
        plugins={"modules": ["faults.taskplugins"]},
        worker={
            "max_concurrent": CONCURRENCY,
            "lease": LEASE,
            "poll_interval": 0.01,
            "max_poll_interval": 0.2,
        },
    )
    monkeypatch.setenv("ROOST_FAULTS_GATE", str(tmp_path / "gate"))  # GATED runs wait for it
    roost = Roost.create(settings, plugins=[Watched(listener)])
    roost.store.sync.setup()
    yield roost, listener
    roost.store.sync.client.drop_database(roost.store.sync.db.name)  # type: ignore[attr-defined]
    roost.store.close()


async def until(condition: Callable[[], Any], timeout: float, what: Callable[[], str]) -> None:
    """Poll ``condition`` with a deadline; ``what`` says what was awaited, and what came."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what()}"
        await asyncio.sleep(0.02)


async def test_one_heartbeat_command_extends_every_lease_the_worker_holds(
    watched: tuple[Roost, Watch], tmp_path: Path
) -> None:
    roost, watch = watched
    ids = [(await roost.enqueue("GATED", {"n": i})).id for i in range(CONCURRENCY)]
    worker = Worker(roost)
    job = asyncio.create_task(worker.run())
    await until(
        lambda: worker.status()["inflight"] == CONCURRENCY,
        30,
        lambda: f"every slot running: {worker.status()}",
    )
    # a command per lease would never extend them all at once
    await until(
        lambda: CONCURRENCY in watch.extended,
        30,
        lambda: (
            f"one heartbeat command extending all {CONCURRENCY} leases; leases extended by "
            f"each heartbeat command: {watch.extended}"
        ),
    )
    (tmp_path / "gate").touch()
    await until(
        lambda: worker.status()["inflight"] == 0, 30, lambda: f"every run over: {worker.status()}"
    )
    worker.stop()
    await job
    tasks = [roost.store.sync.get(tid) for tid in ids]
    assert [(t.status, t.attempts) if t else None for t in tasks] == [
        (TaskStatus.DONE, 1)
    ] * CONCURRENCY, tasks
    assert watch.errors == []


async def test_an_idle_worker_still_finds_a_task_another_process_enqueues(
    watched: tuple[Roost, Watch],
) -> None:
    roost, watch = watched
    worker = Worker(roost)
    job = asyncio.create_task(worker.run())
    # on an empty queue its polls back off to worker.max_poll_interval (0.2 s) in 5 reads
    await until(lambda: watch.reads >= 8, 30, lambda: f"8 reads, the worker idle: {watch.reads}")
    other = MongoStore(roost.settings.store.url)  # no in-process wake-up: only polling finds it
    try:
        task = other.enqueue(NewTask(type="SLOW", payload={"n": 1}))
        await until(
            lambda: (t := other.get(task.id)) is not None and t.status == TaskStatus.DONE,
            30,
            lambda: f"the idle worker to run the task: {other.get(task.id)}",
        )
    finally:
        other.close()
    worker.stop()
    await job
    assert watch.errors == []


class NoPayload(BaseModel):
    pass


class LateHeartbeat:
    """A plugin: a ``mongodb`` store whose first heartbeat waits in the store's thread until
    the test lets it go (a reply that comes late over the network), and a FLAKY type whose
    first run fails once that heartbeat has taken its lease, and whose second run waits."""

    def __init__(self) -> None:
        self.entered, self.go = threading.Event(), threading.Event()
        self.heartbeats = 0
        self.second, self.finish = asyncio.Event(), asyncio.Event()
        self.cancelled = False

    @hookimpl
    def register_stores(self, register: Callable[..., None]) -> None:
        plugin = self

        class Held(MongoStore):
            def heartbeat(self, *args: Any, **kwargs: Any) -> set[str]:
                plugin.heartbeats += 1
                if plugin.heartbeats == 1:
                    plugin.entered.set()
                    assert plugin.go.wait(60), "the test never let the heartbeat go"
                return super().heartbeat(*args, **kwargs)

        register("mongodb", lambda cfg: Held(cfg.url))

    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        register(
            TaskType(
                "FLAKY",
                NoPayload,
                self.run,
                retry=RetryPolicy(max_attempts=3, strategy="fixed", base_delay=0),
            )
        )

    async def run(self, ctx: TaskContext, job: NoPayload) -> dict[str, Any]:
        if ctx.task.attempts == 1:
            await until(self.entered.is_set, 30, lambda: "the first heartbeat")
            raise RuntimeError("the first run fails, with its lease in a heartbeat")
        self.second.set()
        try:
            await self.finish.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return {"run": ctx.task.attempts}


async def test_a_late_heartbeat_reply_does_not_cancel_a_newer_run_of_the_task(
    mongo_wire_url: str,
    make_settings: Callable[..., Settings],
) -> None:
    plugin = LateHeartbeat()
    url = with_database(mongo_wire_url, f"late_{uuid.uuid4().hex}")
    roost = Roost.create(
        make_settings(store={"url": url}, worker={"max_concurrent": 1, "lease": LEASE}),
        plugins=[plugin],
    )
    await roost.start()
    try:
        task = await roost.enqueue("FLAKY", {})
        worker = Worker(roost)
        job = asyncio.create_task(worker.run())
        # run 1 failed and was retried at once; run 2 runs while that heartbeat still waits
        await asyncio.wait_for(plugin.second.wait(), 30)
        plugin.go.set()  # its reply: run 1's lease is gone (the retry ended it)
        await until(
            lambda: plugin.heartbeats >= 2 or plugin.cancelled,
            30,
            lambda: "the late reply to be handled and the next heartbeat to begin",
        )
        assert not plugin.cancelled, "the late reply about run 1 cancelled run 2"
        plugin.finish.set()
        await until(lambda: worker.status()["inflight"] == 0, 30, lambda: f"{worker.status()}")
        worker.stop()
        await job
        done = await roost.store.get(task.id)
        assert done is not None
        assert (done.status, done.attempts, done.result) == (TaskStatus.DONE, 2, {"run": 2}), done
    finally:
        plugin.go.set()
        roost.store.sync.client.drop_database(roost.store.sync.db.name)  # type: ignore[attr-defined]
        await roost.close()
