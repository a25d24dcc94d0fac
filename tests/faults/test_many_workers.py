"""Several ``roost worker`` processes share one database: each task runs once."""

from __future__ import annotations

from collections import Counter

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Procs, assert_history, read_tasks, wait_until

pytestmark = pytest.mark.slow

#: the wire server is a slow Python emulator: fewer tasks there, the same race
TASKS = {"sqlite": 500, "wire": 120}
WORKERS = 3
CONCURRENCY = 4


def test_tasks_over_3_workers_each_claimed_once(engine: str, db: TaskStore, procs: Procs) -> None:
    # every worker holds CONCURRENCY gated tasks before the rest is enqueued: all of them
    # are up and claiming when the race starts (a full worker cannot take another's share)
    gates = [
        t.id
        for t in db.enqueue_many(
            [NewTask(type="GATED", payload={"n": -i}) for i in range(WORKERS * CONCURRENCY)]
        )
    ]
    workers = [
        procs.start(f"worker{i}", "worker", "--concurrency", str(CONCURRENCY))
        for i in range(WORKERS)
    ]

    def all_claimed() -> bool:
        return all(t.status == TaskStatus.RUNNING for t in read_tasks(db, gates).values())

    wait_until(all_claimed, 60, "every worker to fill its slots", procs.diagnose)
    n = TASKS[engine]
    ids = [
        t.id for t in db.enqueue_many([NewTask(type="SLOW", payload={"n": i}) for i in range(n)])
    ]
    procs.open_gate()

    wait_until(
        lambda: db.stats().done == n + len(gates),
        120,
        f"{n} tasks DONE",
        lambda: f"{db.stats()}\n{procs.diagnose()}",
    )

    tasks = assert_history(db, [*gates, *ids], procs.events)
    assert {(t.status, t.attempts) for t in tasks.values()} == {(TaskStatus.DONE, 1)}
    # claimed exactly once: one run and one accepted completion per task, none recovered
    assert procs.events.count("start") == Counter({tid: 1 for tid in tasks})
    assert procs.events.count("accepted") == Counter({tid: 1 for tid in tasks})
    assert all(t.last_error is None for t in tasks.values())
    by_worker = Counter(tasks[tid].result["pid"] for tid in ids)  # type: ignore[index]
    assert set(by_worker) == {w.pid for w in workers}, by_worker  # they really competed
    print(f"\ntasks per worker process: {sorted(by_worker.values())}")
    for w in workers:
        assert w.alive() and "Traceback" not in w.text(), w.tail()
