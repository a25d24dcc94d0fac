"""A worker killed (SIGKILL) while it holds tasks: nothing is lost, nothing completes twice."""

from __future__ import annotations

import signal

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Procs, all_tasks, held_by, wait_until

pytestmark = pytest.mark.slow

TASKS = 40
LEASE = 2.0  # short leases: the killed worker's tasks come back after ~2 s


def test_sigkill_a_worker_holding_tasks(db: TaskStore, procs: Procs) -> None:
    ids = {t.id for t in db.enqueue_many(
        [NewTask(type="SLOW", payload={"n": i, "seconds": 0.4}) for i in range(TASKS)])}
    settings = {"worker__stale_timeout": LEASE, "worker__recovery_interval": 0.25}
    victim, *others = [procs.start(f"worker{i}", "worker", "--concurrency", "3", **settings)
                       for i in range(3)]

    wait_until(lambda: len(held_by(db, victim)) >= 2, 30, "the victim to hold 2 tasks",
               procs.diagnose)
    victim.signal(signal.SIGKILL)
    assert victim.wait(10) == -signal.SIGKILL
    held = {t.id for t in held_by(db, victim)}  # frozen now: its leases can only expire
    assert held, "the victim held no task when it died"

    def finished() -> bool:
        stats = db.stats()
        return stats.done == TASKS
    wait_until(finished, 60, f"all {TASKS} tasks DONE", lambda: f"{db.stats()}\n{procs.diagnose()}")

    tasks = {t.id: t for t in all_tasks(db)}
    assert set(tasks) == ids and all(t.status == TaskStatus.DONE for t in tasks.values())
    # at most one accepted completion per task, and it is the stored result
    accepted = procs.events.count("accepted")
    assert set(accepted) <= ids and set(accepted.values()) == {1}
    for tid, task in tasks.items():
        assert task.result is not None
        events = procs.events.by("accepted", tid)
        if events:
            assert task.result["lease"] == events[0]["lease"]
        else:  # the victim's completion committed, then SIGKILL came before its hook ran
            assert task.result["pid"] == victim.pid
    # only what the victim held ran twice; it was recovered after its lease, by another worker
    starts = procs.events.count("start")
    twice = {tid for tid, n in starts.items() if n > 1}
    assert twice <= held and len(twice) <= len(held)
    assert max(starts.values()) <= 2
    for tid in held:
        task = tasks[tid]
        assert task.attempts == 2 and "lease expired" in (task.last_error or "")
        assert task.result is not None and task.result["pid"] != victim.pid
    for other in others:
        assert other.alive(), other.tail()
