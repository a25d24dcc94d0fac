"""The registry of live workers across real processes: three ``roost worker`` and a
``roost serve`` (its in-process worker) on one database are all listed; one stopped with
SIGTERM is gone at once, one killed with SIGKILL is gone once it missed three heartbeats.
"""

from __future__ import annotations

import signal
import socket

import pytest
from mongo_wire import free_port
from roost.core.models import WorkerInfo, utcnow
from roost.core.store import TaskStore

from .procs import Proc, Procs, wait_until

pytestmark = pytest.mark.slow

LEASE = 3.0  # a heartbeat every second; an entry is valid for three (3 s)


def live(db: TaskStore) -> dict[int, WorkerInfo]:
    return {w.pid: w for w in db.list_workers(utcnow())}


def test_every_worker_process_is_listed_until_it_stops_or_dies(db: TaskStore, procs: Procs) -> None:
    settings = {"worker__lease": LEASE}
    workers = [
        procs.start(f"worker{i}", "worker", "--concurrency", str(i + 1), **settings)
        for i in range(3)
    ]
    serve = procs.start("serve", "serve", "--port", str(free_port()), **settings)
    everyone: list[Proc] = [*workers, serve]
    pids = {p.pid for p in everyone}
    listed = wait_until(
        lambda: (found := live(db)) and set(found) == pids and found,
        60,
        "the four workers to register",
        lambda: f"{live(db)}\n{procs.diagnose()}",
    )
    host = socket.gethostname()
    for proc, concurrency in zip(workers, (1, 2, 3), strict=True):
        info = listed[proc.pid]
        assert info.worker_id.startswith(proc.worker_prefix)
        assert (info.host, info.max_concurrent, info.inflight) == (host, concurrency, 0)
        assert info.started_at <= info.last_seen_at < info.expires_at and info.types
    assert listed[serve.pid].worker_id.startswith(serve.worker_prefix)

    # a clean stop: the entry is gone as soon as the process has exited
    stopped = workers[0]
    stopped.signal(signal.SIGTERM)
    assert stopped.wait(30) == 0, stopped.tail()
    assert stopped.pid not in live(db)

    # a crash: listed until three heartbeats were missed, then gone
    killed = workers[1]
    last = wait_until(lambda: live(db).get(killed.pid), 30, "the worker to be listed")
    killed.signal(signal.SIGKILL)
    killed.wait(10)

    def gone() -> bool:
        nonlocal last
        now = utcnow()
        found = {w.pid: w for w in db.list_workers(now)}
        if killed.pid in found:
            last = found[killed.pid]
            return False
        assert now >= last.expires_at, f"dropped out at {now}, before {last}"
        return True

    wait_until(gone, 30, "the killed worker to drop out", procs.diagnose)
    # the others are still listed (polled: on a loaded machine a beat can come late)
    left = pids - {stopped.pid, killed.pid}
    wait_until(lambda: set(live(db)) == left, 30, f"exactly {left} listed", procs.diagnose)
    for proc in (workers[2], serve):
        assert proc.alive() and "Traceback" not in proc.text(), proc.tail()
