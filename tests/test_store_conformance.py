"""The task lifecycle of the store contract, run against every storage engine.

Each test speaks the ``TaskStore`` contract only (enqueue, claim, the fenced writes,
heartbeat, recover, get, stats) and asserts what a worker or an operator would see.
Enqueueing, deduplication and records are in ``test_store_enqueue.py``; claims and
counts under real concurrency in ``test_store_concurrency.py``.
"""

from __future__ import annotations

from datetime import timedelta

from roost.core.models import NewTask, TaskStatus, utcnow
from roost.core.store import TaskStore
from storekit import W, add, checkpoint, complete, complete_many, fail, get, recover, release, retry


def test_claim_orders_by_priority_then_due_time(store: TaskStore) -> None:
    now = utcnow()
    late = add(store, payload={"i": 1}, run_at=now - timedelta(seconds=1))[0]
    early = add(store, payload={"i": 2}, run_at=now - timedelta(seconds=10))[0]
    urgent = add(store, payload={"i": 3}, priority=10)[0]
    claimed = [t.id for t in store.claim(W, None, 3, 60)]
    assert claimed == [urgent, early, late]


def test_delayed_task_is_not_claimed_early(store: TaskStore) -> None:
    add(store, run_at=utcnow() + timedelta(minutes=5))
    assert store.claim(W, None, 10, 60) == []
    assert store.stats().pending == 1


def test_claim_sets_lease_and_counts_the_attempt(store: TaskStore) -> None:
    tid = add(store)[0]
    [task] = store.claim(W, None, 5, 60)
    assert task.id == tid and task.status == TaskStatus.RUNNING and task.attempts == 1
    assert task.locked_by == W and task.lease_id
    assert task.lease_expires_at is not None
    assert 59 <= (task.lease_expires_at - utcnow()).total_seconds() <= 60.5
    stored = get(store, tid)
    assert (stored.status, stored.attempts, stored.lease_id) == (
        TaskStatus.RUNNING,
        1,
        task.lease_id,
    )
    assert store.claim(W, None, 5, 60) == []


def test_claim_only_takes_the_given_types(store: TaskStore) -> None:
    add(store, type="A")
    b = add(store, type="B")[0]
    assert [t.id for t in store.claim(W, ["B"], 5, 60)] == [b]
    assert store.claim(W, [], 5, 60) == []


def test_a_claim_with_no_room_takes_nothing(store: TaskStore) -> None:
    add(store, 2)
    assert store.claim(W, None, 0, 60) == []
    assert store.claim(W, None, -1, 60) == []
    s = store.stats()
    assert (s.pending, s.running) == (2, 0)
    assert len(store.claim(W, None, 1, 60)) == 1  # the tasks were left claimable


def test_complete_is_fenced_on_the_lease(store: TaskStore) -> None:
    add(store)
    [first] = store.claim(W, None, 1, -1)  # lease already expired
    assert recover(store) == 1
    [second] = store.claim("worker-2", None, 1, 60)
    assert second.id == first.id and second.lease_id != first.lease_id
    # the zombie's late writes change nothing
    assert not complete(store, first.id, first.lease_id, {"by": "zombie"})
    assert not fail(store, first.id, first.lease_id, "zombie")
    assert not retry(store, first.id, first.lease_id, utcnow(), "zombie", charge=True)
    assert not checkpoint(store, first.id, first.lease_id, {"cursor": "zombie"})
    assert not release(store, first.id, first.lease_id, utcnow())
    assert store.heartbeat(W, {first.id: first.lease_id}, 60) == set()
    assert complete(store, second.id, second.lease_id, {"by": "second"})
    done = get(store, first.id)
    assert done.status == TaskStatus.DONE and done.result == {"by": "second"}
    assert done.attempts == 2 and done.checkpoint is None
    # and a completed task cannot be completed again
    assert not complete(store, second.id, second.lease_id, {"by": "again"})


def test_complete_many_is_fenced_per_task_and_accepts_each_task_once(store: TaskStore) -> None:
    add(store, 3)
    [zombie] = store.claim(W, None, 1, -1)  # lease already expired
    assert recover(store) == 1
    claimed = store.claim("worker-2", None, 3, 60)
    [again] = [t for t in claimed if t.id == zombie.id]  # the zombie's task, run anew
    a, b = [t for t in claimed if t.id != zombie.id]
    items = [
        (a.id, a.lease_id, {"n": "a"}),
        (zombie.id, zombie.lease_id, {"by": "zombie"}),  # a stale lease: refused
        (b.id, b.lease_id, None),
        (a.id, a.lease_id, {"n": "a again"}),  # already done: refused
    ]
    assert complete_many(store, items) == [True, False, True, False]  # type: ignore[arg-type]
    done = get(store, a.id)
    assert done.status == TaskStatus.DONE and done.result == {"n": "a"}
    assert get(store, b.id).status == TaskStatus.DONE
    # the newer run of the zombie's task is untouched and can still complete
    assert get(store, again.id).status == TaskStatus.RUNNING
    assert complete_many(store, [(again.id, again.lease_id, {"n": 1})]) == [True]  # type: ignore[list-item]
    assert get(store, again.id).result == {"n": 1}
    assert complete_many(store, []) == []
    s = store.stats()
    assert (s.pending, s.running, s.done) == (0, 0, 3)


def test_heartbeat_extends_every_held_lease_in_one_call(store: TaskStore) -> None:
    add(store, 3)
    tasks = store.claim(W, None, 3, 5)
    leases = {t.id: t.lease_id for t in tasks}
    held = store.heartbeat(W, leases, 120)
    assert held == set(leases)
    for t in tasks:
        got = get(store, t.id)
        assert got.lease_expires_at is not None
        assert (got.lease_expires_at - utcnow()).total_seconds() > 100
    # another worker's id, or a stale lease id, holds nothing
    assert store.heartbeat("worker-2", leases, 120) == set()
    assert store.heartbeat(W, {}, 120) == set()


def test_heartbeat_with_held_and_lost_leases_extends_only_the_held(store: TaskStore) -> None:
    add(store, 2)
    held_a, held_b = store.claim(W, None, 2, 5)
    lost = add(store, 3)
    stale = {t.id: t for t in store.claim(W, None, 3, -1)}  # these leases are already expired
    assert set(stale) == set(lost)
    assert recover(store) == 3  # ... and taken away: all three are PENDING again
    [newer] = store.claim("worker-2", None, 1, 60)  # one is run anew by another worker
    [rerun] = store.claim(W, None, 1, 60)  # one is run anew by this worker, and completes
    assert complete(store, rerun.id, rerun.lease_id, None)
    [waiting] = set(lost) - {newer.id, rerun.id}  # one waits, PENDING
    add(store, 2, type="U")
    done, failed = store.claim(W, ["U"], 2, 60)  # finished by this worker under the lease it
    assert complete(store, done.id, done.lease_id, None)  # still remembers: a heartbeat that
    assert fail(store, failed.id, failed.lease_id, "x")  # raced with its own completions
    unknown = "0123456789abcdef01234567"
    leases = {held_a.id: held_a.lease_id, held_b.id: held_b.lease_id, unknown: "no-such-lease"}
    leases.update({t.id: t.lease_id for t in stale.values()})  # what this worker still remembers
    leases.update({done.id: done.lease_id, failed.id: failed.lease_id})

    assert store.heartbeat(W, leases, 120) == {held_a.id, held_b.id}

    for t in (held_a, held_b):
        extended = get(store, t.id).lease_expires_at
        assert extended is not None and (extended - utcnow()).total_seconds() > 100
    other = get(store, newer.id)  # the newer run's lease is the other worker's, untouched
    assert (other.status, other.locked_by, other.lease_id) == (
        TaskStatus.RUNNING,
        "worker-2",
        newer.lease_id,
    )
    assert other.lease_expires_at is not None
    assert 50 < (other.lease_expires_at - utcnow()).total_seconds() <= 60.5
    assert get(store, rerun.id).status == TaskStatus.DONE
    assert get(store, waiting).status == TaskStatus.PENDING
    for tid in (done.id, failed.id):  # a finished task gets no lease back
        assert get(store, tid).lease_expires_at is None
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed, s.total) == (1, 3, 2, 1, 7)


def test_recover_returns_expired_leases_or_fails_when_attempts_are_used(store: TaskStore) -> None:
    retry_id = add(store, max_attempts=3)[0]
    last_id = add(store, max_attempts=1)[0]
    live_id = add(store)[0]
    claimed = {t.id: t for t in store.claim(W, None, 2, -1)}
    assert set(claimed) == {retry_id, last_id}
    store.claim(W, None, 1, 60)  # live_id, with a live lease
    assert recover(store) == 2
    back, failed, live = get(store, retry_id), get(store, last_id), get(store, live_id)
    assert back.status == TaskStatus.PENDING and back.lease_id is None
    assert back.attempts == 1 and "lease" in (back.last_error or "")
    assert back.next_run_at <= utcnow()  # due again at once
    assert failed.status == TaskStatus.FAILED
    assert live.status == TaskStatus.RUNNING
    assert recover(store) == 0
    assert [t.id for t in store.claim(W, None, 5, 60)] == [retry_id]


def test_a_recovered_task_with_no_attempts_left_ends_failed_for_good(store: TaskStore) -> None:
    tid = store.enqueue(NewTask(type="T", payload={}, max_attempts=2, dedupe_key="k")).id
    [first] = store.claim(W, None, 1, 60)
    assert retry(store, tid, first.lease_id, utcnow(), "RuntimeError: boom", charge=True)
    [last] = store.claim(W, None, 1, -1)  # the last attempt, and its lease expired
    before = utcnow()
    assert recover(store) == 1
    failed = get(store, tid)
    assert failed.status == TaskStatus.FAILED
    assert failed.attempts == 2 and "lease" in (failed.last_error or "")
    assert failed.finished_at is not None and failed.finished_at >= before - timedelta(seconds=1)
    assert failed.lease_expires_at is None
    assert store.claim(W, None, 5, 60) == []  # never runs again
    assert not complete(store, tid, last.lease_id, {"late": True})  # the lost run's late result
    assert get(store, tid).status == TaskStatus.FAILED
    assert recover(store) == 0
    # a failed task is finished: its dedupe key is free for a new task
    fresh = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    assert fresh.id != tid and fresh.status == TaskStatus.PENDING
    s = store.stats()
    assert (s.pending, s.failed, s.total) == (1, 1, 2)


def test_reschedule_delays_the_next_run_and_keeps_the_attempt(store: TaskStore) -> None:
    a, b = add(store, 2)
    tasks = {t.id: t for t in store.claim(W, None, 2, 60)}
    later = utcnow() + timedelta(minutes=1)
    assert retry(store, a, tasks[a].lease_id, later, "boom", charge=True)
    ta = get(store, a)
    assert (ta.status, ta.attempts, ta.last_error, ta.lease_id) == (
        TaskStatus.PENDING,
        1,
        "boom",
        None,
    )
    assert abs((ta.next_run_at - later).total_seconds()) < 0.01
    assert store.claim(W, None, 5, 60) == []  # a is not due yet; b still runs
    assert get(store, b).status == TaskStatus.RUNNING


def test_release_gives_the_task_back_with_the_attempts_it_had_before_the_claim(
    store: TaskStore,
) -> None:
    tid = add(store)[0]
    [first] = store.claim(W, None, 1, 60)
    assert retry(store, tid, first.lease_id, utcnow(), "boom", charge=True)
    [second] = store.claim(W, None, 1, 60)
    assert second.attempts == 2
    assert release(store, tid, second.lease_id, utcnow())  # shutdown: not this run's fault
    got = get(store, tid)
    assert (got.status, got.attempts, got.lease_id) == (TaskStatus.PENDING, 1, None)
    assert got.last_error == "boom"  # the last real failure is kept
    [third] = store.claim(W, None, 1, 60)
    assert (third.id, third.attempts) == (tid, 2)


def test_fail_is_final(store: TaskStore) -> None:
    tid = add(store)[0]
    [task] = store.claim(W, None, 1, 60)
    assert fail(store, tid, task.lease_id, "PermanentError: no such user")
    got = get(store, tid)
    assert got.status == TaskStatus.FAILED
    assert got.last_error == "PermanentError: no such user" and got.finished_at is not None
    assert store.claim(W, None, 1, 60) == []
    assert recover(store) == 0


def test_checkpoint_survives_a_retry(store: TaskStore) -> None:
    tid = add(store)[0]
    [task] = store.claim(W, None, 1, 60)
    assert checkpoint(store, tid, task.lease_id, {"cursor": "abc", "saved": 20})
    assert get(store, tid).checkpoint == {"cursor": "abc", "saved": 20}
    retry(store, tid, task.lease_id, utcnow(), "boom", charge=True)
    [again] = store.claim(W, None, 1, 60)
    assert again.checkpoint == {"cursor": "abc", "saved": 20}


def test_stats_count_every_state(store: TaskStore) -> None:
    add(store, 5)
    a, b, c = store.claim(W, None, 3, 60)
    complete(store, a.id, a.lease_id, None)
    fail(store, b.id, b.lease_id, "x")
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed, s.total) == (2, 1, 1, 1, 5)
    assert get(store, c.id).status == TaskStatus.RUNNING
