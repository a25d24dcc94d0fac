"""A worker paused (SIGSTOP) past its lease comes back as a zombie: the fence refuses it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Proc, Procs, assert_history, read_tasks, wait_until

pytestmark = pytest.mark.slow

LEASE = 1.5


def stopped(proc: Proc) -> bool:
    """The process is in state T (stopped by a signal)."""
    stat = Path(f"/proc/{proc.pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def test_paused_worker_loses_the_lease_and_its_late_completion_is_refused(
    db: TaskStore, procs: Procs
) -> None:
    settings = {"worker__lease": LEASE, "worker__recovery_interval": 0.25}
    [zombie_task] = db.enqueue_many([NewTask(type="ZOMBIE", payload={"n": 0})])
    zid = zombie_task.id
    # A claims the task and stops itself inside the handler (SIGSTOP), mid-run, lease held
    # one slot and no periodic recovery on A: nothing else of A's is writing when it stops
    a = procs.start(
        "worker-a", "worker", "--concurrency", "1", **{**settings, "worker__recovery_interval": 60}
    )
    wait_until(lambda: stopped(a), 30, "worker A to stop itself mid-run", procs.diagnose)
    first = db.get(zid)  # stopped: nothing extends its lease any more
    assert first is not None and first.status == TaskStatus.RUNNING
    assert (first.locked_by or "").startswith(a.worker_prefix)

    # B recovers the expired lease and completes the task
    b = procs.start("worker-b", "worker", **settings)

    def done() -> bool:
        task = db.get(zid)
        return task is not None and task.status == TaskStatus.DONE

    wait_until(done, 30, "worker B to recover and complete the task", procs.diagnose)
    b.signal(signal.SIGTERM)
    assert b.wait(15) == 0, b.tail()
    newer = db.get(zid)
    assert newer is not None and newer.result is not None
    assert newer.result["pid"] == b.pid and newer.attempts == 2

    # A resumes: its run finishes, its completion of the old run is refused, it keeps working
    later = [
        t.id for t in db.enqueue_many([NewTask(type="SLOW", payload={"n": i}) for i in range(3)])
    ]
    a.signal(signal.SIGCONT)

    def later_done() -> bool:
        return all(t.status == TaskStatus.DONE for t in read_tasks(db, later).values())

    wait_until(later_done, 30, "worker A to run new tasks after SIGCONT", procs.diagnose)

    assert a.alive(), a.tail()
    tasks = assert_history(db, [zid, *later], procs.events, frozen=[first])
    final = tasks[zid]
    assert (final.status, final.result, final.attempts) == (
        TaskStatus.DONE,
        newer.result,
        2,
    )  # the newer result stands
    assert sorted(e["pid"] for e in procs.events.by("start", zid)) == sorted([a.pid, b.pid])
    # A's handler did return after SIGCONT, and that completion was refused: the one
    # accepted completion is B's
    assert [e["pid"] for e in procs.events.by("finish", zid)].count(a.pid) == 1
    [accepted] = procs.events.by("accepted", zid)
    assert accepted["pid"] == b.pid and accepted["lease"] == newer.result["lease"]
    for tid in later:
        result = tasks[tid].result
        assert result is not None and result["pid"] == a.pid
