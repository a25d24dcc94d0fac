"""Graceful shutdown of a real worker process: SIGTERM once waits, twice cancels at once."""

from __future__ import annotations

import signal

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Proc, Procs, all_tasks, held_by, wait_until

pytestmark = pytest.mark.slow


def enqueue(db: TaskStore, n: int, seconds: float) -> list[str]:
    return [t.id for t in db.enqueue_many(
        [NewTask(type="SLOW", payload={"n": i, "seconds": seconds}) for i in range(n)])]


def start(procs: Procs, **settings: float) -> Proc:
    return procs.start("worker", "worker", "--concurrency", "3", **settings)


def statuses(db: TaskStore) -> dict[str, tuple[TaskStatus, int]]:
    return {t.id: (t.status, t.attempts) for t in all_tasks(db)}


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sigterm_lets_running_tasks_finish(db: TaskStore, procs: Procs) -> None:
    running = enqueue(db, 3, 1.0)
    waiting = enqueue(db, 3, 1.0)
    worker = start(procs, worker__shutdown_timeout=20)
    wait_until(lambda: len(held_by(db, worker)) == 3, 30, "3 running tasks", procs.diagnose)
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0, worker.tail()
    after = statuses(db)
    assert {after[t] for t in running} == {(TaskStatus.DONE, 1)}
    assert {after[t] for t in waiting} == {(TaskStatus.PENDING, 0)}  # not claimed after the signal
    assert "shutdown: waiting" in worker.text()


def test_sigterm_releases_what_outlasts_shutdown_timeout(db: TaskStore, procs: Procs) -> None:
    ids = enqueue(db, 3, 3600)
    worker = start(procs, worker__shutdown_timeout=0.5)
    wait_until(lambda: len(held_by(db, worker)) == 3, 30, "3 running tasks", procs.diagnose)
    worker.signal(signal.SIGTERM)
    assert worker.wait(15) == 0, worker.tail()
    tasks = {t.id: t for t in all_tasks(db)}
    for tid in ids:  # back in the queue, the attempt given back, no lease
        task = tasks[tid]
        assert (task.status, task.attempts, task.lease_id) == (TaskStatus.PENDING, 0, None)
    assert db.stats().running == 0
    assert worker.text().count("(shutdown)") == 3, worker.tail()
    assert procs.events.count("accepted") == {}


@pytest.mark.parametrize("engine", ["sqlite"])
def test_second_sigterm_cancels_at_once(db: TaskStore, procs: Procs) -> None:
    ids = enqueue(db, 2, 3600)
    worker = start(procs, worker__shutdown_timeout=600)
    wait_until(lambda: len(held_by(db, worker)) == 2, 30, "2 running tasks", procs.diagnose)
    worker.signal(signal.SIGTERM)
    wait_until(lambda: "shutdown: waiting" in worker.text(), 10, "the worker to start draining",
               procs.diagnose)
    worker.signal(signal.SIGTERM)
    assert worker.wait(10) == 0, worker.tail()  # not the 600 s of shutdown_timeout
    assert {statuses(db)[t] for t in ids} == {(TaskStatus.PENDING, 0)}
    assert db.stats().running == 0
