"""Database commands per task over the wire, counted with pymongo's command monitoring.

Targets (issue 3): at most 3 commands per task (enqueue, claim, complete) plus the
heartbeat's share, and an idle worker sends at most 2 queries a second. The figures are
printed (``pytest tests/test_wire_commands.py -s``) for the README.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from mongo_wire import with_database
from pymongo import MongoClient, monitoring
from roost.core.app import Roost
from roost.core.hookspecs import hookimpl
from roost.core.models import NewTask
from roost.core.settings import Settings, StoreSettings
from roost.core.store import TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.worker import Worker

pytestmark = pytest.mark.slow

TASKS = 200
CONCURRENCY = 10
LEASE = 3.0  # heartbeat every 1 s
IDLE_WINDOW = 5.0


class Commands(monitoring.CommandListener):
    """Counts commands by what they do for the queue."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.leases_per_heartbeat: list[int] = []
        self._claims: dict[int, str] = {}  # request id -> which claim command

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        cmd, name = event.command, event.command_name
        if name == "update":
            update = cmd["updates"][0]
            fields = set(update["u"].get("$set", {}))
            if fields == {"leaseExpiresAt", "updatedAt"}:
                self.counts["heartbeat"] += 1
                self.leases_per_heartbeat.append(len(update["q"].get("$or", [])))
                return
            status = update["u"].get("$set", {}).get("status")
            if status == "DONE":
                self.counts["complete"] += len(cmd["updates"])
                self.counts["complete commands"] += 1
                return
            if status == "RUNNING":  # a batch claim's fence
                self.counts["claim commands"] += 1
                return
        if name == "findAndModify":  # a one-task claim
            self._claims[event.request_id] = "one"
            return
        if name == "find" and "leaseId" in cmd["filter"]:  # a batch claim's read-back
            self._claims[event.request_id] = "read"
            return
        if name == "find" and cmd["filter"].get("status") == "PENDING":  # a batch claim's ids
            self._claims[event.request_id] = "ids"
            return
        self.counts[{"insert": "enqueue"}.get(name, f"other: {name}")] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        kind = self._claims.pop(event.request_id, None)
        if kind is None:
            return
        if kind == "one":
            got = int(event.reply.get("value") is not None)
        else:
            got = len(event.reply["cursor"]["firstBatch"])
        if kind != "read" and not got:
            self.counts["claim (empty poll)"] += 1
            return
        self.counts["claim commands"] += 1
        if kind != "ids":
            self.counts["claimed"] += got

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._claims.pop(event.request_id, None)
        self.counts[f"failed: {event.command_name}"] += 1


class CountingMongo:
    """A plugin: the ``mongodb`` store, with the listener on its client."""

    def __init__(self, listener: Commands) -> None:
        self.listener = listener

    @hookimpl
    def register_stores(self, register: Callable[..., None]) -> None:
        def open_(cfg: StoreSettings) -> TaskStore:
            client: MongoClient[Any] = MongoClient(cfg.url, tz_aware=True,
                                                   event_listeners=[self.listener])
            return MongoStore(cfg.url, client=client)
        register("mongodb", open_)


@pytest.fixture
def counted(
    mongo_wire_url: str, make_settings: Callable[..., Settings]
) -> Iterator[tuple[Roost, Commands]]:
    listener = Commands()
    url = with_database(mongo_wire_url, f"commands_{uuid.uuid4().hex}")
    settings = make_settings(
        store={"url": url},
        plugins={"modules": ["faults.taskplugins"]},
        worker={"max_concurrent": CONCURRENCY, "stale_timeout": LEASE},
    )
    roost = Roost.create(settings, plugins=[CountingMongo(listener)])
    roost.store.sync.setup()
    yield roost, listener
    roost.store.sync.client.drop_database(roost.store.sync.db.name)  # type: ignore[attr-defined]
    roost.store.close()


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` (the listener's counts) with a deadline."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


async def test_three_commands_per_task_plus_the_heartbeat_share(
    counted: tuple[Roost, Commands],
) -> None:
    roost, commands = counted
    for i in range(TASKS):  # one at a time, as POST /tasks/search does
        await roost.enqueue("SLOW", {"n": i, "seconds": 0.2})
    assert commands.counts["enqueue"] == TASKS
    commands.counts.clear()

    worker = Worker(roost)
    job = asyncio.create_task(worker.run())
    await until(lambda: commands.counts["complete"] >= TASKS, 120, "every task completed")
    worker.stop()
    await job
    counts = commands.counts

    per_task = {"enqueue": 1.0, "claim": counts["claim commands"] / TASKS,
                "complete": counts["complete commands"] / TASKS,
                "heartbeat": counts["heartbeat"] / TASKS}
    print("\ncommands per task over the wire "
          f"({TASKS} tasks of 0.2 s, concurrency {CONCURRENCY}, lease {LEASE:g} s):")
    for what, n in per_task.items():
        print(f"  {what:<10} {n:.3f}")
    print(f"  total      {sum(per_task.values()):.3f}")
    print(f"  outside the per-task path: {dict(sorted(counts.items()))}")
    print(f"  leases per heartbeat command: {Counter(commands.leases_per_heartbeat)}")

    assert counts["claimed"] == TASKS and counts["complete"] == TASKS
    assert per_task["enqueue"] + per_task["claim"] + per_task["complete"] <= 3
    # the heartbeat is one command for all of the worker's leases, not one per task
    assert max(commands.leases_per_heartbeat) > 1
    assert counts["heartbeat"] < TASKS / CONCURRENCY


async def test_an_idle_worker_sends_at_most_two_queries_a_second(
    counted: tuple[Roost, Commands],
) -> None:
    roost, commands = counted
    roost.store.sync.enqueue_many([NewTask(type="SLOW", payload={})])  # one task, then idle
    worker = Worker(roost)
    job = asyncio.create_task(worker.run())
    # the poll interval doubles while idle, up to worker.max_poll_interval: let it get there
    await until(lambda: commands.counts["claim (empty poll)"] >= 6, 30, "the worker to idle")
    before = sum(commands.counts.values())
    await asyncio.sleep(IDLE_WINDOW)  # the counting window, not a wait for a condition
    sent = sum(commands.counts.values()) - before
    worker.stop()
    await job
    print(f"\nidle worker: {sent} commands in {IDLE_WINDOW:g} s = {sent / IDLE_WINDOW:.2f}/s "
          f"({dict(commands.counts)})")
    assert sent / IDLE_WINDOW <= 2
