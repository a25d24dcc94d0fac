"""Several ``roost worker`` processes share one MongoDB over the wire: each task runs once."""

from __future__ import annotations

from collections import Counter

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Procs, all_tasks, wait_until

pytestmark = pytest.mark.slow

TASKS = 500
WORKERS = 3


@pytest.mark.parametrize("engine", ["wire"])
def test_500_tasks_over_3_workers_each_claimed_once(db: TaskStore, procs: Procs) -> None:
    workers = [procs.start(f"worker{i}", "worker", "--concurrency", "4") for i in range(WORKERS)]
    for w in workers:
        wait_until(lambda w=w: "worker start" in w.text(), 30, f"{w.name} to start", w.tail)
    ids = {t.id for t in db.enqueue_many(
        [NewTask(type="SLOW", payload={"n": i}) for i in range(TASKS)])}

    wait_until(lambda: db.stats().done == TASKS, 120, f"{TASKS} tasks DONE",
               lambda: f"{db.stats()}\n{procs.diagnose()}")

    tasks = all_tasks(db)
    assert {t.id for t in tasks} == ids
    assert {(t.status, t.attempts) for t in tasks} == {(TaskStatus.DONE, 1)}
    # claimed exactly once: one run and one accepted completion per task, none recovered
    assert procs.events.count("start") == Counter({tid: 1 for tid in ids})
    assert procs.events.count("accepted") == Counter({tid: 1 for tid in ids})
    assert all(t.last_error is None for t in tasks)
    by_worker = Counter(t.result["pid"] for t in tasks if t.result)
    assert set(by_worker) == {w.pid for w in workers}, by_worker  # they really competed
    print(f"\ntasks per worker process: {sorted(by_worker.values())}")
    for w in workers:
        assert w.alive() and "Traceback" not in w.text(), w.tail()
