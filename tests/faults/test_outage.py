"""The database goes away under a running ``roost serve``: 503s, then recovery, no loss.

On the wire the MongoDB server process is killed (and restarted on its data); SQLite has
no server, so another process holds the file's write lock (every write waits, then gives
up; WAL readers go on).
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mongo_wire import WireServer, free_port, with_database
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Proc, Procs, assert_history, read_tasks, wait_until

pytestmark = pytest.mark.slow

PREFIX = "/api/v4/twitter"
TASKS = 20
#: a request during an outage gets its answer within one database timeout (pymongo's
#: server selection: 5 s; SQLite's busy timeout: 10 s), not after a queue of them
ANSWER_WITHIN = 15.0
Reply = tuple[int, dict[str, Any], float]


class Outage:
    """Makes the store unavailable and available again."""

    url: str
    reads_survive = False  # whether a read is answered during the outage

    def begin(self) -> None: ...

    def end(self) -> None: ...


class LockedFile(Outage):
    reads_survive = True  # WAL: a writer blocks no reader

    def __init__(self, path: Path) -> None:
        self.url, self.path = f"sqlite:///{path}", path
        self.locker: sqlite3.Connection | None = None

    def begin(self) -> None:
        self.locker = sqlite3.connect(self.path, isolation_level=None)
        self.locker.execute("BEGIN IMMEDIATE")

    def end(self) -> None:
        if self.locker is not None:
            self.locker.execute("ROLLBACK")
            self.locker.close()
            self.locker = None


class StoppedServer(Outage):
    def __init__(self, server: WireServer) -> None:
        self.server, self.url = server, with_database(server.url, "outage")

    def begin(self) -> None:
        self.server.stop(signal.SIGKILL)

    def end(self) -> None:
        self.server.start()  # same port, same data


@pytest.fixture
def outage(engine: str, tmp_path: Path) -> Iterator[Outage]:
    if engine == "sqlite":
        locked = LockedFile(tmp_path / "roost.db")
        yield locked
        locked.end()
        return
    server = WireServer(tmp_path / "mongo", persistent=True)  # one of its own, to stop
    server.start()
    try:
        yield StoppedServer(server)
    finally:
        server.stop()


@pytest.fixture
def db_url(outage: Outage) -> str:
    return outage.url


def http(method: str, url: str, body: Any = None, timeout: float = 60) -> Reply:
    """Status, JSON body and seconds taken; a hang fails the test at ``timeout``."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
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
    assert seconds < ANSWER_WITHIN
    return seconds


def test_the_store_goes_away_mid_run(outage: Outage, db: TaskStore, procs: Procs) -> None:
    # two GATED runs hold slots across the start of the outage and finish inside it: the
    # worker has outcomes to write while the store is away, whatever else it is doing
    gated = [
        t.id for t in db.enqueue_many([NewTask(type="GATED", payload={"n": i}) for i in range(2)])
    ]
    api = serve(procs, worker__lease=4, worker__recovery_interval=0.5, worker__max_concurrent=4)
    ids = api.enqueue(TASKS)
    wait_until(lambda: db.stats().done >= 2, 30, "some tasks done", procs.diagnose)
    wait_until(
        lambda: {t.status for t in read_tasks(db, gated).values()} == {TaskStatus.RUNNING},
        30,
        "the gated runs to be running",
        procs.diagnose,
    )

    outage.begin()
    began = time.monotonic()
    procs.open_gate()
    wait_until(
        lambda: all(procs.events.by("finish", tid) for tid in gated),
        30,
        "the gated runs to finish, inside the outage",
        procs.diagnose,
    )
    took = [assert_unavailable(api, "POST", f"{PREFIX}/tasks/slow", {"n": 99})]
    if outage.reads_survive:
        status, body, seconds = api("GET", f"{PREFIX}/queue/stats")
        assert status == 200 and seconds < ANSWER_WITHIN, body
        took.append(seconds)
    else:
        took.append(assert_unavailable(api, "GET", f"{PREFIX}/queue/stats"))
    print(f"\nanswered in {took}; outage lasted {time.monotonic() - began:.1f}s")
    assert api.proc.alive(), api.proc.tail()

    outage.end()
    every = [*gated, *ids]
    wait_until(
        lambda: db.stats().done == len(every),
        60,
        "every task DONE after the outage",
        lambda: f"{db.stats()}\n{api.proc.tail()}",
    )
    tasks = assert_history(db, every, procs.events)  # also: the refused enqueue stored nothing
    assert {t.status for t in tasks.values()} == {TaskStatus.DONE}
    status, body, _ = api("GET", f"{PREFIX}/queue/stats")
    assert status == 200, body
    assert (body["data"]["done"], body["data"]["total"]) == (len(every), len(every)), body
    assert api.proc.alive(), api.proc.tail()
