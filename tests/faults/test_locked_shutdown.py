"""Real ``roost`` processes at the edges of their lifetime: shutdown while another process
holds the SQLite write lock, a burst worker after a crash, a worker that must stop (a bug,
a damaged file), a busy port. The issue "Hardening", items 1c, 2, 9a, 15 (and 5, 6 in
tests/test_lifecycle_hardening.py).

Assertions read the store through its public contract (``get`` by the ids enqueued).
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from damage import damaged_db
from mongo_wire import free_port
from roost.core.models import NewTask, Task, TaskStatus, utcnow
from roost.core.store import TaskStore

from .procs import Proc, Procs, wait_until

pytestmark = pytest.mark.slow

SHUTDOWN_TIMEOUT = 0.5
STORE_TIMEOUT = 2.0
#: the bound is a correctness property (a supervisor's stop timeout relies on it); the margin
#: is generous, for a loaded machine: process start-up and exit are not in the bound
BOUND = SHUTDOWN_TIMEOUT + STORE_TIMEOUT + 3.0


def enqueue(db: TaskStore, n: int, type_: str = "SLOW", seconds: float = 3600) -> list[str]:
    new = [NewTask(type=type_, payload={"n": i, "seconds": seconds}) for i in range(n)]
    return [t.id for t in db.enqueue_many(new)]


def tasks(db: TaskStore, ids: list[str]) -> list[Task]:
    found = [db.get(tid) for tid in ids]
    assert all(t is not None for t in found)
    return found  # type: ignore[return-value]


def running_under(db: TaskStore, ids: list[str], proc: Proc) -> bool:
    return all(
        t.status == TaskStatus.RUNNING and (t.locked_by or "").startswith(proc.worker_prefix)
        for t in tasks(db, ids)
    )


def lines_about(text: str, task_id: str) -> list[str]:
    return [line for line in text.splitlines() if f"id={task_id}" in line]


# -- item 3: shutdown while another process holds the write lock -------------------------------
@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize(
    ("n", "concurrency"),
    [(3, 3), (10, 20)],  # all slots busy; free slots (a claim is waiting on the lock, too)
    ids=["slots-full", "claim-waiting"],
)
def test_shutdown_on_a_locked_database_keeps_its_bound(
    db: TaskStore, procs: Procs, tmp_path: Path, n: int, concurrency: int
) -> None:
    ids = enqueue(db, n)
    worker = procs.start(
        "worker",
        "worker",
        "--concurrency",
        str(concurrency),
        worker__shutdown_timeout=SHUTDOWN_TIMEOUT,
        store__timeout=STORE_TIMEOUT,
    )
    wait_until(lambda: running_under(db, ids, worker), 30, f"{n} running tasks", procs.diagnose)
    locker = sqlite3.connect(tmp_path / "roost.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # every write of the worker now waits, then fails
    try:
        started = time.monotonic()
        worker.signal(signal.SIGTERM)
        code = worker.wait(60)
        took = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert code == 0, worker.tail()
    assert took < BOUND, f"shutdown took {took:.1f}s, bound {BOUND:g}s\n{worker.tail()}"
    # nothing could be written: the tasks are RUNNING, and the log says so for each of them
    assert running_under(db, ids, worker)
    text = worker.text()
    for tid in ids:
        about = lines_about(text, tid)
        assert any("left for recovery" in line for line in about), worker.tail()
        assert not any("released" in line for line in about), about


@pytest.mark.parametrize("engine", ["sqlite"])
def test_shutdown_releases_in_one_write_once_the_lock_is_free(
    db: TaskStore, procs: Procs, tmp_path: Path
) -> None:
    ids = enqueue(db, 10)
    worker = procs.start(
        "worker",
        "worker",
        "--concurrency",
        "10",
        worker__shutdown_timeout=SHUTDOWN_TIMEOUT,
        store__timeout=STORE_TIMEOUT,
    )
    wait_until(lambda: running_under(db, ids, worker), 30, "10 running tasks", procs.diagnose)
    locker = sqlite3.connect(tmp_path / "roost.db", isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        worker.signal(signal.SIGTERM)
        # the scenario: another process holds the lock past shutdown_timeout, then lets go
        time.sleep(SHUTDOWN_TIMEOUT + STORE_TIMEOUT / 2)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert worker.wait(60) == 0, worker.tail()
    assert time.monotonic() - started < BOUND, worker.tail()
    # given back, uncharged, no lease: the guarantee holds when the store lets it
    assert {(t.status, t.attempts, t.lease_id) for t in tasks(db, ids)} == {
        (TaskStatus.PENDING, 0, None)
    }
    text = worker.text()
    assert all(any("released" in line for line in lines_about(text, t)) for t in ids), worker.tail()


# -- item 2: only burst workers run (cron) and one of them crashed ----------------------------
def test_a_burst_worker_recovers_what_a_crashed_worker_held(db: TaskStore, procs: Procs) -> None:
    ids = enqueue(db, 3, "ZOMBIE", seconds=0)  # run 1 stops its own process mid-run
    victim = procs.start("victim", "worker", "--burst", "--concurrency", "3", worker__lease=1)
    wait_until(
        lambda: running_under(db, ids, victim) and procs.events.count("start"),
        30,
        "the victim to hold the tasks, then freeze",
        procs.diagnose,
    )
    victim.signal(signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL

    def expired() -> bool:
        return all(
            t.lease_expires_at is not None and t.lease_expires_at < utcnow() for t in tasks(db, ids)
        )

    wait_until(expired, 30, "the victim's leases to expire", procs.diagnose)

    # recovery retries them after the policy's delay: none here, so this very burst runs them
    burst = procs.start("burst", "worker", "--burst", retry__base_delay=0)
    assert burst.wait(60) == 0, burst.tail()
    done = tasks(db, ids)
    assert {(t.status, t.attempts) for t in done} == {(TaskStatus.DONE, 2)}, burst.tail()
    assert all(t.result is not None and t.result["pid"] == burst.pid for t in done)


# -- items 1c, 9a: a worker that cannot go on stops the process, non-zero ---------------------
@pytest.mark.parametrize("engine", ["sqlite"])
def test_serve_exits_when_its_in_process_worker_stops(procs: Procs, tmp_path: Path) -> None:
    url = f"buggy:///{tmp_path / 'roost.db'}"
    serve = procs.start(
        "serve",
        "serve",
        "--port",
        str(free_port()),
        store__url=url,
        plugins__modules='["faults.brokenstore"]',
    )
    assert serve.wait(60) == 5, serve.tail()
    assert "bug in the engine's claim" in serve.text()


@pytest.mark.parametrize("engine", ["sqlite"])
@pytest.mark.parametrize("command", [["worker"], ["serve", "--port", "0"]])
def test_a_damaged_database_stops_the_process_with_exit_4(
    procs: Procs, tmp_path: Path, command: list[str]
) -> None:
    path = damaged_db(tmp_path / "roost.db", "tasks")  # opens fine; the tasks cannot be read
    proc = procs.start(command[0], *command)
    assert proc.wait(60) == 4, proc.tail()
    text = proc.text()
    assert f"{path.resolve()} is damaged" in text and ".dump" in text
    assert "backing off" not in text


# -- item 5: roost serve on a busy port ------------------------------------------------------
@pytest.mark.parametrize("engine", ["sqlite"])
def test_serve_on_a_busy_port_is_one_line_and_starts_nothing(procs: Procs, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        serve = procs.start("serve", "serve", "--port", str(port))
        assert serve.wait(60) == 2, serve.tail()
    text = serve.text()
    errors = [line for line in text.splitlines() if line.startswith("roost:")]
    assert errors == [errors[0]] and f"127.0.0.1:{port}" in errors[0], text
    assert "in use" in errors[0] and "--port" in errors[0]
    assert "Traceback" not in text and "worker start" not in text
    assert not (tmp_path / "roost.db").exists()  # the store was not even opened
    # and it said, first, what it would have used
    assert f"store.url=sqlite:///{tmp_path / 'roost.db'}" in text
