"""A worker's entry in the registry of live workers, in process (across processes:
``faults/test_registry.py``): written at start and every few seconds with the worker's
facts, removed when it stops cleanly; a registry that fails never stops the worker.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.errors import StoreUnavailable
from roost.core.hookspecs import hookimpl
from roost.core.models import TaskStatus, WorkerInfo, utcnow
from roost.core.settings import StoreSettings
from roost.core.store import TaskStore
from roost.core.stores.sqlite import SQLiteStore
from roost.core.worker import Worker, registry
from scripted import Scripted, until
from store_urls import store_url

WORKER = {"lease": 0.9, "poll_interval": 0.01, "max_poll_interval": 0.05}


@pytest.fixture(params=["sqlite", "wire"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url(str(request.param), tmp_path, request) as url:
        yield url


@pytest.fixture
def plugin() -> Scripted:
    return Scripted()


@pytest.fixture
async def roost(
    make_settings: Callable[..., Any], url: str, plugin: Scripted
) -> AsyncIterator[Roost]:
    roost = Roost.create(make_settings(store={"url": url}, worker=WORKER), plugins=[plugin])
    await roost.start()
    try:
        yield roost
    finally:
        await roost.close()


def listed(roost: Roost) -> list[WorkerInfo]:
    return roost.store.sync.list_workers(utcnow())


@asynccontextmanager
async def working(roost: Roost, **kw: Any) -> AsyncIterator[Worker]:
    """A worker running until the block ends, then stopped gracefully and awaited."""
    worker = Worker(roost, **kw)
    job = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(job, 20)


async def test_a_worker_is_listed_with_its_facts_while_it_runs_and_gone_once_stopped(
    roost: Roost, plugin: Scripted
) -> None:
    async with working(roost, max_concurrent=2) as worker:
        [info] = await until(lambda: listed(roost), "the worker to register")
        assert (info.worker_id, info.host, info.pid) == (
            worker.id,
            socket.gethostname(),
            os.getpid(),
        )
        assert (info.running, info.max_concurrent) == (True, 2)
        assert info.types is not None and "JOB" in info.types  # the types it claims
        first_seen = info.last_seen_at
        assert (info.expires_at - first_seen).total_seconds() == pytest.approx(0.9, abs=0.01)
        # the heartbeat writes it again, with what the worker is doing
        tid = (await roost.enqueue("JOB", {"script": ["wait"]})).id
        [busy] = await until(
            lambda: [w for w in listed(roost) if w.inflight == 1],
            "a beat with the task running",
        )
        assert busy.last_seen_at > first_seen and busy.started_at == info.started_at
        plugin.gate.release()
    assert roost.store.sync.get(tid).status == TaskStatus.DONE  # type: ignore[union-attr]
    assert listed(roost) == []  # gone at once: a clean stop removes its entry


async def test_the_entry_stays_fresh_when_the_lease_heartbeat_is_slow(
    make_settings: Callable[..., Any], url: str, plugin: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the default lease (300 s) beats every 100 s; a status page must not show a worker's
    # inflight and last heartbeat that old: the entry is written every registry.EVERY
    monkeypatch.setattr(registry, "EVERY", 0.2)
    settings = make_settings(store={"url": url}, worker={**WORKER, "lease": 300})
    roost = Roost.create(settings, plugins=[plugin])
    await roost.start()
    try:
        async with working(roost):
            [info] = await until(lambda: listed(roost), "the worker to register")
            assert (info.expires_at - info.last_seen_at).total_seconds() == pytest.approx(0.6)
            await roost.enqueue("JOB", {"script": ["wait"]})
            [busy] = await until(
                lambda: [w for w in listed(roost) if w.inflight == 1],
                "a registry write with the task running",
                timeout=10,  # far below the lease heartbeat's 100 s
            )
            assert busy.last_seen_at > info.last_seen_at
            plugin.gate.release()
    finally:
        await roost.close()


async def test_a_burst_worker_is_listed_while_it_drains_and_leaves_no_entry_behind(
    roost: Roost, plugin: Scripted
) -> None:
    await roost.enqueue("JOB", {"script": ["wait"]})
    worker = Worker(roost)
    job = asyncio.create_task(worker.run(burst=True))
    [info] = await until(lambda: listed(roost), "the burst worker to register")
    assert info.worker_id == worker.id
    plugin.gate.release()
    await asyncio.wait_for(job, 20)  # the queue is drained: the burst is over
    assert listed(roost) == []


class RegistryDown(SQLiteStore):
    """The SQLite engine whose registry writes fail (as a broken engine's would)."""

    failure: type[Exception] = StoreUnavailable
    tried = 0  # registry writes asked of it

    def beat_worker(self, info: WorkerInfo) -> None:
        RegistryDown.tried += 1
        raise self.failure("the registry is down (on purpose)")

    def remove_worker(self, worker_id: str) -> None:
        RegistryDown.tried += 1
        raise self.failure("the registry is down (on purpose)")


class RegistryDownPlugin:
    def __init__(self, failure: type[Exception]) -> None:
        self.failure = failure

    @hookimpl
    def register_stores(
        self, register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]
    ) -> None:
        def open_(config: StoreSettings) -> TaskStore:
            store = RegistryDown("sqlite:" + config.url.removeprefix("regdown:"))
            store.failure = self.failure
            return store

        register("regdown", open_)


@pytest.mark.parametrize("failure", [StoreUnavailable, RuntimeError])
async def test_a_failing_registry_never_stops_the_worker(
    make_settings: Callable[..., Any], tmp_path: Path, failure: type[Exception]
) -> None:
    plugin = Scripted()
    settings = make_settings(
        store={"url": f"regdown:///{tmp_path / 'roost.db'}"}, worker={**WORKER, "lease": 0.3}
    )
    roost = Roost.create(settings, plugins=[plugin, RegistryDownPlugin(failure)])
    RegistryDown.tried = 0
    await roost.start()
    try:
        async with working(roost) as worker:
            ids = [(await roost.enqueue("JOB", {"script": ["wait"]})).id for _ in range(2)]
            await until(lambda: plugin.started() == 2, "the tasks to start")
            # heartbeats go on (each extends the leases, then beats the registry, which fails)
            leases: set[object] = set()

            def extended_twice() -> bool:
                task = roost.store.sync.get(ids[0])
                leases.add(task.lease_expires_at if task else None)
                return len(leases) >= 3

            await until(extended_twice, "two heartbeats")
            plugin.gate.release()
            plugin.gate.release()
            await until(
                lambda: all(
                    roost.store.sync.get(t).status == TaskStatus.DONE  # type: ignore[union-attr]
                    for t in ids
                ),
                "the tasks to finish",
            )
            assert worker.failure is None and worker.status()["running"]
        assert worker.failure is None
        assert RegistryDown.tried >= 3  # the start, a heartbeat's beat, the removal: all failed
    finally:
        await roost.close()
