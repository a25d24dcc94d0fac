"""Process lifecycle and store robustness, in-process: the issue "Hardening", items 1c, 2, 5,
6, 9a, 15 (the parts that need real processes are in tests/faults/test_locked_shutdown.py).

Real SQLite files (some damaged on purpose, see :mod:`damage`), the Mongo engine on
mongomock and over the wire, the CLI through ``main``, HTTP through the app factory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from damage import Damage, damaged_db
from faults import brokenstore
from mongo_wire import with_database
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.errors import StoreCorrupt, StoreUnavailable, WorkerCrashed
from roost.core.models import TaskStatus, utcnow
from roost.core.store import AsyncStore, Release, TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.stores.sqlite import SQLiteStore
from roost.core.worker import Worker
from roost.plugins.api.app import make_app
from storekit import release_many

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]
FAST = {"poll_interval": 0.01, "max_poll_interval": 0.05, "shutdown_timeout": 0.5}


async def until(condition: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)


# -- 1. the in-process worker of `roost serve` stops: /health says so --------------------------
async def test_health_names_the_in_process_worker_once_it_stopped(
    aiohttp_client: Client, make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    settings = make_settings(store={"url": f"buggy:///{tmp_path / 'roost.db'}"}, worker=FAST)
    roost = Roost.create(settings, plugins=[brokenstore])
    worker = Worker(roost)
    client = await aiohttp_client(make_app(roost, worker))
    assert (await client.post(f"{P}/tasks/search", json={"query": "x"})).status == 201

    async def unhealthy() -> bool:
        return (await client.get("/health")).status == 503

    await until(unhealthy, 20, "/health to report the stopped worker")
    body = await (await client.get("/health")).json()
    assert body["ok"] is False and body["error"]["code"] == "worker_stopped"
    assert worker.id in body["error"]["message"] and "restart" in body["error"]["message"]
    assert isinstance(worker.failure, WorkerCrashed)
    assert brokenstore.BUG in str(worker.failure.__cause__)
    status = (await (await client.get(f"{P}/worker/status")).json())["data"]
    assert status["running"] is False


# -- 2. a burst worker recovers expired leases before it calls the queue empty ----------------
@pytest.fixture(params=["sqlite", "mongomock", "wire"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'roost.db'}"
    elif request.param == "mongomock":
        yield f"mongomock://{uuid.uuid4().hex}/roost_test"
    else:
        url = with_database(request.getfixturevalue("mongo_wire_url"), f"h2_{uuid.uuid4().hex}")
        yield url
        store = MongoStore(url)
        store.client.drop_database(store.db.name)
        store.close()


async def test_burst_recovers_a_dead_workers_expired_leases(
    make_settings: Callable[..., Any], store_url: str
) -> None:
    # recovery charges the attempt and waits the policy's delay: none here, so a burst runs them
    retry = {"strategy": "fixed", "base_delay": 0}
    roost = Roost.create(make_settings(store={"url": store_url}, worker=FAST, retry=retry))
    await roost.start()
    ids = [(await roost.enqueue("SEARCH", {"query": f"q{i}", "limit": 1})).id for i in range(3)]
    # a worker claims them, then dies: no heartbeat will ever extend these leases
    dead = roost.store.sync.claim("worker-dead-1", None, 3, lease=0.05)
    assert {t.id for t in dead} == set(ids)

    async def expired() -> bool:
        tasks = [roost.store.sync.get(t) for t in ids]
        return all(t is not None and t.lease_expires_at < utcnow() for t in tasks)  # type: ignore[operator]

    await until(expired, 10, "the dead worker's leases to expire")
    await asyncio.wait_for(Worker(roost).run(burst=True), 30)
    for tid in ids:
        task = roost.store.sync.get(tid)
        assert task is not None and (task.status, task.attempts) == (TaskStatus.DONE, 2)
    await roost.close()


# -- 3. a stopping worker gives back what it holds in one write, by a deadline ----------------
def test_release_many_gives_back_only_what_the_lease_still_holds(store: TaskStore) -> None:
    from roost.core.models import NewTask

    store.enqueue_many([NewTask(type="T", payload={"n": i}) for i in range(4)])
    a, b, c, d = sorted(store.claim("w1", None, 4, 60), key=lambda t: t.payload["n"])
    now = utcnow()
    items = [(a.id, a.lease_id), (b.id, b.lease_id), (c.id, "not-its-lease"), (a.id, a.lease_id)]
    assert release_many(store, items, now) == [True, True, False, False]  # type: ignore[arg-type]
    for task in (a, b):
        back = store.get(task.id)
        assert back is not None
        uncharged = (TaskStatus.PENDING, 0, None, None)
        assert (back.status, back.attempts, back.lease_id, back.locked_by) == uncharged
        assert abs(back.next_run_at - now) < timedelta(seconds=1)
    for task in (c, d):  # a wrong lease, or not given: still RUNNING under w1
        kept = store.get(task.id)
        assert kept is not None and kept.status == TaskStatus.RUNNING
        assert kept.lease_id == task.lease_id
    assert release_many(store, [], now) == []
    assert release_many(store, [(a.id, a.lease_id)], now) == [False]  # type: ignore[list-item]


@pytest.fixture
def locked_store(tmp_path: Path) -> Iterator[tuple[AsyncStore, sqlite3.Connection, list[Any]]]:
    """An AsyncStore on a real file (busy timeout 30 s), two RUNNING tasks, and another
    connection holding the write lock (``BEGIN IMMEDIATE``)."""
    from roost.core.models import NewTask

    url = f"sqlite:///{tmp_path / 'roost.db'}"
    engine = SQLiteStore(url, busy_timeout=30)
    engine.setup()
    engine.enqueue_many([NewTask(type="T", payload={}) for _ in range(2)])
    claimed = engine.claim("w1", None, 2, 60)
    locker = sqlite3.connect(tmp_path / "roost.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    store = AsyncStore(engine)
    yield store, locker, claimed
    if locker.in_transaction:
        locker.execute("ROLLBACK")
    locker.close()
    store.close()


async def test_a_last_write_gives_up_at_its_deadline_not_the_busy_timeout(
    locked_store: tuple[AsyncStore, sqlite3.Connection, list[Any]],
) -> None:
    store, _, claimed = locked_store
    items = [(t.id, t.lease_id) for t in claimed]
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.apply_by(time.monotonic() + 0.3, [Release(t, lid) for t, lid in items])
    assert time.monotonic() - started < 10  # the deadline (0.3 s), far from the 30 s busy timeout
    assert {t.status for t in map(store.sync.get, [t.id for t in claimed])} == {TaskStatus.RUNNING}


async def test_a_last_write_goes_through_once_the_lock_is_free(
    locked_store: tuple[AsyncStore, sqlite3.Connection, list[Any]],
) -> None:
    store, locker, claimed = locked_store
    asyncio.get_running_loop().call_later(0.2, locker.execute, "ROLLBACK")
    items = [(t.id, t.lease_id) for t in claimed]
    released = await store.apply_by(time.monotonic() + 20, [Release(t, lid) for t, lid in items])
    assert released == [True, True]
    assert {t.status for t in map(store.sync.get, [t.id for t in claimed])} == {TaskStatus.PENDING}


# -- 4. a damaged database is its own error, at every entry point -----------------------------
@pytest.mark.parametrize("how", ["header", "tasks"])
def test_the_cli_says_the_database_is_damaged_and_how_to_recover(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: Damage
) -> None:
    path = damaged_db(tmp_path / "roost.db", how)
    # (commands that touch the damaged part: `recover` with nothing RUNNING reads an index only)
    for argv in (["stats"], ["enqueue", "search", "x"], ["task", "a" * 24]):
        assert main(argv) == 4, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("roost: the task store is damaged: the SQLite file ")
        assert str(path.resolve()) in err and f"sqlite3 {path.resolve()} .dump" in err
        assert "try again" not in err and "Traceback" not in err and len(err.splitlines()) == 1


@pytest.fixture
async def damaged_api(
    aiohttp_client: Client, make_settings: Callable[..., Any], tmp_path: Path
) -> TestClient:
    damaged_db(tmp_path / "roost.db", "tasks")  # the schema reads: the API starts
    return await aiohttp_client(make_app(Roost.create(make_settings())))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/health", None),
        ("GET", f"{P}/queue/stats", None),
        ("POST", f"{P}/tasks/search", {"query": "x"}),
        ("GET", f"{P}/tasks/{'a' * 24}", None),
    ],
)
async def test_http_says_the_store_is_damaged_not_try_again(
    damaged_api: TestClient, method: str, path: str, body: Any
) -> None:
    resp = await damaged_api.request(method, path, json=body)
    envelope = await resp.json()
    assert resp.status == 503 and "Retry-After" not in resp.headers
    assert envelope["ok"] is False and envelope["error"]["code"] == "store_corrupt"
    assert "damaged" in envelope["error"]["message"]
    assert "try again" not in envelope["error"]["message"]


async def test_a_worker_stops_on_a_damaged_database_instead_of_backing_off(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    damaged_db(tmp_path / "roost.db", "tasks")
    roost = Roost.create(make_settings(worker=FAST))
    await roost.start()
    worker = Worker(roost)
    with pytest.raises(StoreCorrupt, match="roost.db is damaged"):
        await asyncio.wait_for(worker.run(), 30)  # not burst: it would run until stopped
    assert worker.failure is not None
    await roost.close()


# -- 6. commands that only read or enqueue never create a database ----------------------------
@pytest.mark.parametrize(
    "argv", [["stats"], ["task", "a" * 24], ["enqueue", "search", "bitcoin"], ["recover"]]
)
def test_read_and_enqueue_commands_do_not_create_a_database(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("roost: error: no task database at ") and len(err.splitlines()) == 1
    assert str(tmp_path / "roost.db") in err and "sqlite:///roost.db" in err
    assert "--config" in err and "ROOST_STORE__URL" in err
    assert not (tmp_path / "roost.db").exists()


def test_config_shows_the_settings_file(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config"]) == 0
    assert json.loads(capsys.readouterr().out)["settingsFile"] is None
    (tmp_path / "settings.toml").write_text("[worker]\nmax_concurrent = 7\n")
    assert main(["config"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["settingsFile"] == str((tmp_path / "settings.toml").resolve())
    assert shown["worker"]["max_concurrent"] == 7


def test_worker_logs_its_settings_file_and_store_at_start(
    make_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (tmp_path / "settings.toml").write_text("[store]\ntimeout = 0.3\n")
    monkeypatch.setenv("ROOST_STORE__URL", "mongodb://admin:hunter2@127.0.0.1:1/crypto")
    with caplog.at_level(logging.INFO, logger="roost"):
        assert main(["worker", "--burst"]) == 3  # nothing listens there; it said what it used
    start = [r.getMessage() for r in caplog.records if "store.url=" in r.getMessage()]
    assert len(start) == 1, caplog.text
    assert str((tmp_path / "settings.toml").resolve()) in start[0]
    assert "mongodb://admin:****@127.0.0.1:1/crypto" in start[0] and "hunter2" not in caplog.text

    monkeypatch.delenv("ROOST_STORE__URL")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="roost"):
        assert main(["worker", "--burst"]) == 0
    start = [r.getMessage() for r in caplog.records if "store.url=" in r.getMessage()]
    assert start and f"sqlite:///roost.db ({tmp_path / 'roost.db'})" in start[0]
