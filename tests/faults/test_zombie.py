"""A worker paused (SIGSTOP) past its lease comes back as a zombie: the fence refuses it."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from roost.core.models import NewTask, TaskStatus
from roost.core.store import TaskStore

from .procs import Proc, Procs, wait_until

pytestmark = pytest.mark.slow

LEASE = 1.5


def stopped(proc: Proc) -> bool:
    """The process is in state T (stopped by a signal)."""
    stat = Path(f"/proc/{proc.pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def test_paused_worker_loses_the_lease_and_its_late_completion_is_refused(
    db: TaskStore, procs: Procs
) -> None:
    settings = {"worker__stale_timeout": LEASE, "worker__recovery_interval": 0.25}
    [zombie_task] = db.enqueue_many([NewTask(type="ZOMBIE", payload={"n": 0})])
    zid = zombie_task.id
    # A claims the task and stops itself inside the handler (SIGSTOP), mid-run, lease held
    # one slot and no periodic recovery on A: nothing else of A's is writing when it stops
    a = procs.start("worker-a", "worker", "--concurrency", "1",
                    **{**settings, "worker__recovery_interval": 60})
    wait_until(lambda: stopped(a), 30, "worker A to stop itself mid-run", procs.diagnose)
    first = db.get(zid)
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

    # A resumes: its completion of the old run is refused, it says so and keeps working
    later = [t.id for t in db.enqueue_many(
        [NewTask(type="SLOW", payload={"n": i}) for i in range(3)])]
    a.signal(signal.SIGCONT)

    def later_done() -> bool:
        return all((t := db.get(tid)) is not None and t.status == TaskStatus.DONE for tid in later)
    wait_until(later_done, 30, "worker A to run new tasks after SIGCONT", procs.diagnose)

    assert a.alive(), a.tail()
    lost = [line for line in a.text().splitlines() if zid in line and "lease" in line]
    assert any("refused" in line or "lost" in line for line in lost), a.tail()
    final = db.get(zid)
    assert final is not None
    assert (final.status, final.result, final.attempts) == (
        TaskStatus.DONE, newer.result, 2)  # the newer result stands
    starts = procs.events.by("start", zid)
    assert sorted(e["pid"] for e in starts) == sorted([a.pid, b.pid])
    [accepted] = procs.events.by("accepted", zid)
    assert accepted["pid"] == b.pid and accepted["lease"] == newer.result["lease"]
    for tid in later:
        task = db.get(tid)
        assert task is not None and task.result is not None and task.result["pid"] == a.pid
