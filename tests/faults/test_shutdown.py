"""Graceful shutdown of a real worker process: SIGTERM once waits, twice cancels at once.

The running tasks are GATED: they run until the test opens the gate, so no duration has to
outlast another; each signal is delivered (taken by the process) before the test goes on.
"""

from __future__ import annotations

import signal

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Proc, Procs, assert_history, held_by, read_tasks, wait_until

pytestmark = pytest.mark.slow

SLOTS = 3


def enqueue(db: TaskStore, n: int, first: int = 0) -> list[str]:
    return [
        t.id
        for t in db.enqueue_many(
            [NewTask(type="GATED", payload={"n": i}) for i in range(first, first + n)]
        )
    ]


def start_holding(db: TaskStore, procs: Procs, ids: list[str], **settings: float) -> Proc:
    """A worker with every slot taken by a run of ``ids``."""
    worker = procs.start("worker", "worker", "--concurrency", str(SLOTS), **settings)
    wait_until(
        lambda: len(held_by(db, worker, ids)) == SLOTS, 30, f"{SLOTS} running tasks", procs.diagnose
    )
    return worker


def assert_released(db: TaskStore, procs: Procs, ids: list[str]) -> None:
    """Back in the queue, the attempt given back, no lease, the run cancelled, no completion."""
    tasks = assert_history(db, ids, procs.events)
    for task in tasks.values():
        assert (task.status, task.attempts, task.lease_id) == (TaskStatus.PENDING, 0, None), task
    assert procs.events.count("cancelled") == {tid: 1 for tid in ids}
    assert procs.events.count("accepted") == {}


def test_sigterm_lets_running_tasks_finish(db: TaskStore, procs: Procs) -> None:
    running = enqueue(db, SLOTS)
    worker = start_holding(
        db,
        procs,
        running,
        worker__shutdown_timeout=60,
        worker__poll_interval=0.01,
        worker__max_poll_interval=0.05,
    )
    worker.deliver(signal.SIGTERM)
    waiting = enqueue(db, SLOTS, first=SLOTS)  # due now, after the signal
    procs.open_gate(0)  # one run finishes: a worker still claiming fills its slot at once
    wait_until(
        lambda: read_tasks(db, running)[running[0]].status == TaskStatus.DONE,
        30,
        "the first running task DONE",
        procs.diagnose,
    )
    procs.open_gate()  # the other runs finish, and so would anything claimed since
    assert worker.wait(60) == 0, worker.tail()
    tasks = assert_history(db, [*running, *waiting], procs.events)
    assert {(tasks[t].status, tasks[t].attempts) for t in running} == {(TaskStatus.DONE, 1)}
    assert {(tasks[t].status, tasks[t].attempts) for t in waiting} == {(TaskStatus.PENDING, 0)}
    assert procs.events.count("cancelled") == {}


def test_sigterm_releases_what_outlasts_shutdown_timeout(db: TaskStore, procs: Procs) -> None:
    ids = enqueue(db, SLOTS)
    worker = start_holding(db, procs, ids, worker__shutdown_timeout=0.5)
    worker.deliver(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.tail()  # the gate never opens
    assert_released(db, procs, ids)


def test_second_sigterm_cancels_at_once(db: TaskStore, procs: Procs) -> None:
    ids = enqueue(db, SLOTS)
    worker = start_holding(db, procs, ids, worker__shutdown_timeout=600)
    worker.deliver(signal.SIGTERM)
    worker.deliver(signal.SIGTERM)
    assert worker.wait(30) == 0, worker.tail()  # not the 600 s of shutdown_timeout
    assert_released(db, procs, ids)
