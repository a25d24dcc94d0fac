"""The database goes away under a running ``roost serve``: 503s, back-off, recovery, no loss."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from mongo_wire import WireServer, free_port, with_database
from roost.core.models import TaskStatus
from roost.core.store import TaskStore

from .procs import Proc, Procs, all_tasks, open_store, wait_until

pytestmark = pytest.mark.slow

PREFIX = "/api/v4/twitter"
TASKS = 20
#: a request during an outage gets its answer within one database timeout (pymongo's
#: server selection: 5 s; SQLite's busy timeout: 10 s), not after a queue of them
ANSWER_WITHIN = 15.0
Reply = tuple[int, dict[str, Any], float]


def http(method: str, url: str, body: Any = None, timeout: float = 60) -> Reply:
    """Status, JSON body and seconds taken; a hang fails the test at ``timeout``."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw), time.monotonic() - started


class Api:
    def __init__(self, proc: Proc, port: int) -> None:
        self.proc, self.base = proc, f"http://127.0.0.1:{port}"

    def __call__(self, method: str, path: str, body: Any = None) -> Reply:
        return http(method, self.base + path, body)

    def wait_ready(self) -> None:
        def up() -> bool:
            try:
                return self("GET", "/health")[0] == 200
            except OSError:
                assert self.proc.alive(), self.proc.tail()
                return False
        wait_until(up, 30, "the API to answer", self.proc.tail)

    def enqueue(self, n: int) -> list[str]:
        ids = []
        for i in range(n):
            status, body, _ = self("POST", f"{PREFIX}/tasks/slow", {"n": i, "seconds": 0.2})
            assert status == 201, body
            ids.append(body["data"]["taskId"])
        return ids


def serve(procs: Procs, **settings: Any) -> Api:
    port = free_port()
    proc = procs.start("serve", "serve", "--port", str(port), **settings)
    api = Api(proc, port)
    api.wait_ready()
    return api


def assert_unavailable(api: Api, method: str, path: str, body: Any = None) -> float:
    status, envelope, seconds = api(method, path, body)
    assert status == 503, envelope
    assert envelope["ok"] is False and envelope["error"]["code"] == "store_unavailable"
    assert "try again" in envelope["error"]["message"]
    assert seconds < ANSWER_WITHIN
    return seconds


def all_done(store: TaskStore, ids: list[str]) -> bool:
    tasks = {t.id: t for t in all_tasks(store)}
    return set(tasks) == set(ids) and all(t.status == TaskStatus.DONE for t in tasks.values())


@pytest.mark.parametrize("engine", ["wire"])
def test_mongo_server_stops_mid_run(tmp_path: Path, procs: Procs) -> None:
    server = WireServer(tmp_path / "mongo", persistent=True)
    server.start()
    url = with_database(server.url, "outage")
    try:
        api = serve(procs, store__url=url, worker__stale_timeout=4,
                    worker__recovery_interval=0.5, worker__max_concurrent=2)
        ids = api.enqueue(TASKS)
        store = open_store(url)
        wait_until(lambda: store.stats().done >= 2, 30, "some tasks done", procs.diagnose)

        server.stop(signal.SIGKILL)
        started = time.monotonic()
        took = [assert_unavailable(api, "GET", f"{PREFIX}/queue/stats"),
                assert_unavailable(api, "POST", f"{PREFIX}/tasks/slow", {"n": 99})]
        wait_until(lambda: "claim failed, backing off" in api.proc.text(), 30,
                   "the worker to back off", api.proc.tail)
        print(f"\n503 answered in {took}; outage lasted {time.monotonic() - started:.1f}s")
        assert api.proc.alive(), api.proc.tail()

        server.start()  # same port, same data
        wait_until(lambda: all_done(store, ids), 60, "every task DONE after the outage",
                   lambda: f"{store.stats()}\n{api.proc.tail()}")
        status, body, _ = api("GET", f"{PREFIX}/queue/stats")
        assert status == 200 and body["data"]["done"] == TASKS and body["data"]["total"] == TASKS
        store.close()
    finally:
        server.stop()


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sqlite_file_locked_mid_run(db: TaskStore, procs: Procs, tmp_path: Path) -> None:
    api = serve(procs, worker__stale_timeout=4, worker__recovery_interval=0.5,
                worker__max_concurrent=2)
    ids = api.enqueue(TASKS)
    wait_until(lambda: db.stats().done >= 2, 30, "some tasks done", procs.diagnose)

    # another process holds the write lock: every write waits, then gives up
    locker = sqlite3.connect(tmp_path / "roost.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        took = [assert_unavailable(api, "POST", f"{PREFIX}/tasks/slow", {"n": 99})]
        status, body, seconds = api("GET", f"{PREFIX}/queue/stats")
        took.append(seconds)
        assert status == 200 and seconds < ANSWER_WITHIN, body  # WAL: a writer blocks no reader
        # the worker's writes wait out the lock, then it logs the failure and carries on
        def met_the_lock() -> bool:
            text = api.proc.text()
            return "failed: SQLite: database is locked" in text or "gave up" in text
        wait_until(met_the_lock, 30, "the worker to meet the lock", api.proc.tail)
        print(f"\n503/200 answered in {took}")
        assert api.proc.alive(), api.proc.tail()
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    wait_until(lambda: all_done(db, ids), 60, "every task DONE after the lock",
               lambda: f"{db.stats()}\n{api.proc.tail()}")
    status, body, _ = api("GET", f"{PREFIX}/queue/stats")
    assert status == 200 and body["data"]["done"] == TASKS and body["data"]["total"] == TASKS
