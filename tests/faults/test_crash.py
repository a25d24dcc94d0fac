"""A worker killed (SIGKILL) while it holds tasks: nothing is lost, nothing completes twice."""

from __future__ import annotations

import signal

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Procs, assert_history, held_by, wait_until

pytestmark = pytest.mark.slow

TASKS = 40
LEASE = 2.0  # short leases: the killed worker's tasks come back after ~2 s


def test_sigkill_a_worker_holding_tasks(db: TaskStore, procs: Procs) -> None:
    ids = [
        t.id
        for t in db.enqueue_many(
            [NewTask(type="SLOW", payload={"n": i, "seconds": 0.4}) for i in range(TASKS)]
        )
    ]
    settings = {"worker__lease": LEASE, "worker__recovery_interval": 0.25}
    # the victim runs alone until it dies: with the queue full it holds tasks at every moment
    # (others started first could drain the queue before it dies, however slowly they start)
    victim = procs.start("worker0", "worker", "--concurrency", "3", **settings)
    wait_until(
        lambda: len(held_by(db, victim, ids)) >= 2, 30, "the victim to hold 2 tasks", procs.diagnose
    )
    victim.signal(signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    frozen = held_by(db, victim, ids)  # its leases as they are now: they can only expire
    others = [procs.start(f"worker{i}", "worker", "--concurrency", "3", **settings) for i in (1, 2)]
    held = {t.id for t in frozen}
    assert held, "the victim held no task when it died"

    wait_until(
        lambda: db.stats().done == TASKS,
        60,
        f"all {TASKS} tasks DONE",
        lambda: f"{db.stats()}\n{procs.diagnose()}",
    )

    tasks = assert_history(db, ids, procs.events, frozen=frozen)
    assert {t.status for t in tasks.values()} == {TaskStatus.DONE}
    # only what the victim held ran twice: recovered after its lease, run by another worker
    runs = procs.events.runs()
    assert {tid for tid, mine in runs.items() if len(mine) > 1} <= held
    for tid in held:
        task = tasks[tid]
        assert task.attempts == 2 and "lease" in (task.last_error or ""), task
        assert task.result is not None and task.result["pid"] != victim.pid
    for other in others:
        assert other.alive(), other.tail()
