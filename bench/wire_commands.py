"""MongoDB commands per task over a real TCP connection, and an idle worker's query rate.

Counted with pymongo's command monitoring on the store's own client, against the wire
lane's server (``tests/mongo_wire.py``: ``mongod`` when it is on PATH, else mongoeco).
Command counts do not depend on the server's speed, so these figures hold for MongoDB;
the rates of ``bench/mongo.py`` do not. Targets (issue 3): at most 3 commands per task
for enqueue, claim and complete, plus the heartbeat's share; an idle worker at most 2
queries a second.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pymongo import MongoClient, monitoring
from roost.core.app import Roost
from roost.core.hookspecs import hookimpl
from roost.core.models import NewTask
from roost.core.settings import StoreSettings
from roost.core.store import TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.tasktypes import TaskContext, TaskType
from roost.core.worker import Worker

from .common import Config, Row
from .mongo import wire_server
from .noop import settings

CONCURRENCY = 10
LEASE = 3.0  # a heartbeat every second
TASK_SECONDS = 0.2


def sets(statement: dict[str, Any]) -> set[str]:
    update = statement.get("u")
    return set(update.get("$set", {})) if isinstance(update, dict) else set()


class Commands(monitoring.CommandListener):
    """Counts commands by what they do for the queue."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.leases_per_heartbeat: list[int] = []  # documents each heartbeat matched
        self._open: dict[int, str] = {}  # request id -> what the command is

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        cmd, name = event.command, event.command_name
        if name == "update":
            fields = set().union(*(sets(s) for s in cmd["updates"]))
            status = {s["u"]["$set"].get("status") for s in cmd["updates"] if "status" in sets(s)}
            if "leaseExpiresAt" in fields and not status:
                self._open[event.request_id] = "heartbeat"
            elif status == {"DONE"}:
                self.counts["complete commands"] += 1
                self.counts["completed"] += len(cmd["updates"])
            elif status == {"RUNNING"}:  # a batch claim's fence
                self.counts["claim commands"] += 1
            else:
                self.counts["other: update"] += 1
        elif name == "findAndModify":  # a one-task claim
            self._open[event.request_id] = "claim one"
        elif name == "find" and "leaseId" in cmd["filter"]:  # a batch claim's read-back
            self._open[event.request_id] = "claim read"
        elif name == "find" and cmd["filter"].get("status") == "PENDING":  # a batch's ids
            self._open[event.request_id] = "claim ids"
        else:
            self.counts[{"insert": "enqueue"}.get(name, f"other: {name}")] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        kind = self._open.pop(event.request_id, None)
        if kind is None:
            return
        if kind == "heartbeat":
            self.counts["heartbeat"] += 1
            self.leases_per_heartbeat.append(int(event.reply.get("n", 0)))
            return
        if kind == "claim one":
            got = int(event.reply.get("value") is not None)
        else:
            got = len(event.reply["cursor"]["firstBatch"])
        if kind != "claim read" and not got:
            self.counts["claim (empty poll)"] += 1
            return
        self.counts["claim commands"] += 1
        if kind != "claim ids":
            self.counts["claimed"] += got

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._open.pop(event.request_id, None)
        self.counts[f"failed: {event.command_name}"] += 1


class Job(BaseModel):
    seconds: float = 0.0


class Plugin:
    """The ``mongodb`` store with the listener on its client, and a SLEEP task type."""

    def __init__(self, listener: Commands) -> None:
        self.listener = listener

    @hookimpl
    def register_stores(self, register: Callable[..., None]) -> None:
        def open_(cfg: StoreSettings) -> TaskStore:
            client: MongoClient[Any] = MongoClient(cfg.url, tz_aware=True,
                                                   event_listeners=[self.listener])
            return MongoStore(cfg.url, client=client)
        register("mongodb", open_)

    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        async def sleep(ctx: TaskContext, job: Job) -> None:
            await asyncio.sleep(job.seconds)
        register(TaskType(name="SLEEP", payload=Job, handler=sleep))


async def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"wire_commands: timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)


def open_roost(url: str, listener: Commands) -> Roost:
    roost = Roost.create(settings(url, worker={"max_concurrent": CONCURRENCY,
                                               "lease": LEASE}),
                         plugins=[Plugin(listener)])
    roost.store.sync.setup()
    return roost


def close(roost: Roost) -> None:
    roost.store.sync.client.drop_database(roost.store.sync.db.name)  # type: ignore[attr-defined]
    roost.store.close()


async def per_task(url: str, n: int) -> tuple[dict[str, float], Commands]:
    """Enqueue ``n`` tasks one at a time (as POST /tasks does), then drain them."""
    commands = Commands()
    roost = open_roost(url, commands)
    try:
        for _ in range(n):
            await roost.enqueue("SLEEP", {"seconds": TASK_SECONDS})
        enqueued = commands.counts["enqueue"]
        commands.counts.clear()
        worker = Worker(roost)
        job = asyncio.create_task(worker.run())
        await until(lambda: commands.counts["completed"] >= n, 300, f"{n} tasks completed")
        worker.stop()
        await job
    finally:
        close(roost)
    counts = commands.counts
    if counts["claimed"] != n:
        raise RuntimeError(f"wire_commands: {counts['claimed']} claimed for {n} tasks: {counts}")
    return {"enqueue": enqueued / n, "claim": counts["claim commands"] / n,
            "complete": counts["complete commands"] / n,
            "heartbeat": counts["heartbeat"] / n}, commands


async def idle_rate(url: str, seconds: float) -> tuple[float, Commands]:
    """Commands a second of a worker with nothing to do, once its polling has backed off."""
    commands = Commands()
    roost = open_roost(url, commands)
    try:
        roost.store.sync.enqueue_many([NewTask(type="SLEEP", payload={})])  # one, then idle
        worker = Worker(roost)
        job = asyncio.create_task(worker.run())
        # the poll interval doubles while idle, up to worker.max_poll_interval
        await until(lambda: commands.counts["claim (empty poll)"] >= 6, 60, "the worker to idle")
        before = sum(commands.counts.values())
        await asyncio.sleep(seconds)  # the counting window
        sent = sum(commands.counts.values()) - before
        worker.stop()
        await job
    finally:
        close(roost)
    return sent / seconds, commands


def run(cfg: Config) -> list[Row]:
    server = wire_server(cfg.workdir)
    if server is None or isinstance(server, str):
        return [Row("wire", "commands per task", None, "", note=f"not run: {server or 'missing'}")]
    try:
        url = server.url.replace("/?", f"/bench{uuid.uuid4().hex[:8]}?")
        n = cfg.wire_n
        shares, commands = asyncio.run(per_task(url, n))
        rate, idle = asyncio.run(idle_rate(url, cfg.wire_idle_seconds))
    finally:
        server.stop()
    path = shares["enqueue"] + shares["claim"] + shares["complete"]
    cfg.detail("wire: commands while draining (all of them, by kind)",
               f"{dict(sorted(commands.counts.items()))}\n"
               f"leases per heartbeat command: {dict(Counter(commands.leases_per_heartbeat))}\n"
               f"idle worker, {cfg.wire_idle_seconds:g} s: {dict(sorted(idle.counts.items()))}")
    where = (f"{n} tasks of {TASK_SECONDS:g} s, concurrency {CONCURRENCY}, lease {LEASE:g} s, "
             f"{server.kind}")
    return [
        Row("wire", f"commands per task: enqueue + claim + complete ({where})", path, "",
            target="<= 3", met=path <= 3,
            note=", ".join(f"{k} {v:.3f}" for k, v in shares.items())),
        Row("wire", "commands per task: the heartbeat's share", shares["heartbeat"], "",
            target=f"< 1/{CONCURRENCY}", met=shares["heartbeat"] < 1 / CONCURRENCY,
            note=f"most leases in one heartbeat: {max(commands.leases_per_heartbeat, default=0)}"),
        Row("wire", "idle worker, after its polling backed off", rate, "commands/s",
            target="<= 2/s", met=rate <= 2),
    ]
