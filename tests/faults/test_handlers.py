"""Handlers that misbehave inside a real worker: the policy decides, the rest keeps running."""

from __future__ import annotations

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore
from storekit import recover

from .procs import Procs, assert_history, wait_until

pytestmark = pytest.mark.slow

LEASE = 6.0  # heartbeat every 2 s; the loop is blocked for 0.8 s, the long task runs 7 s
# (a heartbeat may come 3 s late on a loaded machine and still hold the lease)


def test_raise_hang_garbage_and_a_blocked_loop(db: TaskStore, procs: Procs) -> None:
    def add(kind: str, n: int = 0, seconds: float = 0.0) -> str:
        return db.enqueue(
            NewTask(type=kind, payload={"n": n, "seconds": seconds}, max_attempts=2)
        ).id

    raises, hangs, garbage = add("RAISES"), add("HANGS"), add("GARBAGE")
    blocks = add("BLOCKS", seconds=0.8)
    long = add("SLOW", seconds=7.0)  # outlives its lease: only heartbeats keep it
    quick = [add("SLOW", n=i, seconds=0.05) for i in range(5)]
    ids = [raises, hangs, garbage, blocks, long, *quick]
    worker = procs.start(
        "worker",
        "worker",
        "--concurrency",
        "10",
        worker__lease=LEASE,
        worker__recovery_interval=0.25,
    )

    def settled() -> bool:
        recover(db)  # as an impatient second worker would: any expired lease is taken away
        stats = db.stats()
        return stats.pending == stats.running == 0

    wait_until(
        settled, 30, "every task DONE or FAILED", lambda: f"{db.stats()}\n{procs.diagnose()}"
    )

    tasks = assert_history(db, ids, procs.events, failing={raises, hangs, garbage})
    starts = procs.events.count("start")
    for tid, needle in (
        (raises, "RuntimeError: RAISES n=0 failed on purpose"),
        (hangs, "TimeoutError"),
        (garbage, "not JSON-serialisable"),
    ):
        task = tasks[tid]
        assert (task.status, task.attempts, starts[tid]) == (TaskStatus.FAILED, 2, 2), task
        assert needle in (task.last_error or ""), task.last_error
    for tid in (blocks, long, *quick):
        task = tasks[tid]
        assert (task.status, task.attempts, starts[tid]) == (TaskStatus.DONE, 1, 1), task
        assert task.last_error is None  # never recovered: the heartbeat held every lease
    # the quick tasks did not wait for the hanging one
    assert max(tasks[t].finished_at for t in quick) < tasks[hangs].finished_at  # type: ignore[type-var]
    assert worker.alive(), worker.tail()
    assert "Traceback" not in worker.text(), worker.tail()
