"""The operator's store calls on every engine: list, cancel, retry, redrive, purge, the error
history, the worker registry, the records a task found, and the five-state counts.

Each test runs on every lane of the ``engine`` fixture (SQLite, mongomock, the wire
server). Tasks are driven into their states through the contract itself (claim, the fenced
changes, cancel), as a worker and an operator would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from roost.core.models import (
    ERRORS_KEPT,
    NewTask,
    Task,
    TaskQuery,
    TaskStatus,
    WorkerInfo,
    utcnow,
)
from roost.core.store import Done, Fail, Release, Retry, TaskStore
from roost.core.store.transitions import Cancel
from storekit import W, add, get

FAILED, CANCELLED = TaskStatus.FAILED, TaskStatus.CANCELLED
DONE, PENDING, RUNNING = TaskStatus.DONE, TaskStatus.PENDING, TaskStatus.RUNNING


def running(store: TaskStore, n: int = 1, **kw: object) -> list[Task]:
    """``n`` new tasks, claimed (RUNNING under a lease of a minute); a priority above the
    other tests' tasks, so that the claim takes these and no PENDING task made before."""
    kw.setdefault("priority", 9)
    ids = add(store, n, **kw)
    claimed = store.claim(W, None, n, 60)
    assert sorted(t.id for t in claimed) == sorted(ids)
    return sorted(claimed, key=lambda t: ids.index(t.id))


def lease(task: Task) -> str:
    assert task.lease_id is not None
    return task.lease_id


def failed(store: TaskStore, n: int = 1, **kw: object) -> list[str]:
    tasks = running(store, n, **kw)
    assert store.apply([Fail(t.id, lease(t), f"boom {t.id}") for t in tasks]) == [True] * n
    return [t.id for t in tasks]


def done(store: TaskStore, n: int = 1, **kw: object) -> list[str]:
    tasks = running(store, n, **kw)
    assert store.apply([Done(t.id, lease(t), {"ok": 1}) for t in tasks]) == [True] * n
    return [t.id for t in tasks]


def cancelled(store: TaskStore, n: int = 1, **kw: object) -> list[str]:
    ids = add(store, n, **kw)
    for tid in ids:
        assert store.cancel(tid) is not None
    return ids


def after(moment: datetime | None) -> None:
    """Wait (a millisecond or so) until the clock is past ``moment``: what is finished next
    has a later ``finished_at``."""
    assert moment is not None
    deadline = utcnow() + timedelta(seconds=5)
    while utcnow() <= moment:
        assert utcnow() < deadline, "the clock did not move"


def ids(tasks: list[Task]) -> list[str]:
    return [t.id for t in tasks]


def page_all(store: TaskStore, query: TaskQuery) -> list[str]:
    """Every id ``query`` lists, page after page (keyset: ``before`` = the last id)."""
    out: list[str] = []
    before = None
    while True:
        page = store.list_tasks(
            TaskQuery(statuses=query.statuses, type=query.type, limit=query.limit, before=before)
        )
        out += ids(page)
        if len(page) < query.limit:
            return out
        before = page[-1].id


# -- list_tasks ---------------------------------------------------------------------------
def test_list_is_newest_first_filtered_by_status_and_type(store: TaskStore) -> None:
    f = failed(store, 2)
    d = done(store, 2)
    c = cancelled(store, 2, type="U")
    p = add(store, 2)
    r = [t.id for t in running(store, 1, type="U")]
    everything = sorted(f + d + c + p + r, reverse=True)
    assert ids(store.list_tasks(TaskQuery())) == everything
    assert ids(store.list_tasks(TaskQuery(statuses=frozenset({FAILED})))) == f[::-1]
    assert ids(store.list_tasks(TaskQuery(statuses=frozenset({CANCELLED})))) == c[::-1]
    assert ids(store.list_tasks(TaskQuery(statuses=frozenset({DONE})))) == d[::-1]
    assert ids(store.list_tasks(TaskQuery(statuses=frozenset({PENDING})))) == p[::-1]
    assert ids(store.list_tasks(TaskQuery(statuses=frozenset({RUNNING})))) == r
    both = store.list_tasks(TaskQuery(statuses=frozenset({FAILED, CANCELLED})))
    assert ids(both) == sorted(f + c, reverse=True)
    assert ids(store.list_tasks(TaskQuery(type="U"))) == sorted(c + r, reverse=True)
    only = TaskQuery(statuses=frozenset({CANCELLED, PENDING}), type="U")
    assert ids(store.list_tasks(only)) == c[::-1]
    assert store.list_tasks(TaskQuery(type="nobody")) == []
    assert store.list_tasks(TaskQuery(statuses=frozenset())) == []
    listed = store.list_tasks(TaskQuery(statuses=frozenset({FAILED}), limit=1))[0]
    assert listed.to_json() == get(store, listed.id).to_json()  # the whole task
    assert listed.last_error == f"boom {listed.id}"


def test_list_pages_with_a_cursor_each_task_once(store: TaskStore) -> None:
    f = failed(store, 3)
    add(store, 2)
    f += failed(store, 4)
    everything = ids(store.list_tasks(TaskQuery(limit=500)))
    assert len(everything) == 9
    for limit in (1, 2, 3, 9, 10):
        assert page_all(store, TaskQuery(limit=limit)) == everything
        assert page_all(store, TaskQuery(statuses=frozenset({FAILED}), limit=limit)) == sorted(
            f, reverse=True
        )
    middle = everything[4]
    assert ids(store.list_tasks(TaskQuery(before=middle))) == everything[5:]


def test_list_pages_are_stable_under_concurrent_inserts(
    engine: str, open_store: Callable[[], TaskStore]
) -> None:
    """Tasks that existed when the paging began are each listed once, in order, however many
    tasks other workers add meanwhile (new ones sort before the cursor: never in a later page
    twice, never pushing an old one out)."""
    store = open_store()
    before = add(store, 60)
    stop, started = threading.Event(), threading.Event()
    inserted: list[str] = []

    def insert(other: TaskStore) -> None:
        while not stop.is_set():
            inserted.extend(add(other, 3))
            started.set()

    thread = None
    if engine != "mongomock":  # mongomock is not thread-safe: inserts between pages there
        thread = threading.Thread(target=insert, args=(open_store(),))
        thread.start()
        assert started.wait(10), "the inserting thread wrote nothing"
    seen: list[str] = []
    cursor = None
    try:
        while True:
            if thread is None:
                inserted.extend(add(store, 3))
            page = store.list_tasks(TaskQuery(limit=7, before=cursor))
            seen += ids(page)
            if len(page) < 7:
                break
            cursor = page[-1].id
    finally:
        stop.set()
        if thread is not None:
            thread.join()
    assert len(seen) == len(set(seen)), "a task was listed twice"
    assert seen == sorted(seen, reverse=True)
    assert set(before) <= set(seen)
    assert set(seen) - set(before) <= set(inserted)
    assert inserted


# -- cancel ---------------------------------------------------------------------------------
def test_cancel_of_a_pending_task_ends_it_at_once(store: TaskStore) -> None:
    [first] = store.enqueue_many([NewTask("T", {"n": 1}, dedupe_key="k")])
    out = store.cancel(first.id)
    assert out is not None and out.id == first.id
    assert (out.status, out.cancel_requested) == (CANCELLED, False)
    assert out.finished_at is not None
    assert get(store, first.id).to_json() == out.to_json()
    assert store.claim(W, None, 10, 60) == []  # due, but never claimable
    [again] = store.enqueue_many([NewTask("T", {"n": 2}, dedupe_key="k")])
    assert again.id != first.id, "the dedupe key was not released"
    assert store.cancel(first.id) is None  # already CANCELLED
    s = store.stats()
    assert (s.pending, s.cancelled, s.total) == (1, 1, 2)


def test_cancel_of_a_running_task_requests_it_and_its_worker_ends_it(store: TaskStore) -> None:
    [task, other] = running(store, 2)
    out = store.cancel(task.id)
    assert out is not None
    assert (out.status, out.cancel_requested, out.finished_at) == (RUNNING, True, None)
    assert out.lease_id == task.lease_id and out.attempts == 1
    again = store.cancel(task.id)  # asked twice: the same answer, nothing more
    assert again is not None and (again.status, again.cancel_requested) == (RUNNING, True)
    assert store.cancel_requested([task.id, other.id, "0" * 24]) == {task.id}
    assert store.cancel_requested([]) == set()
    # the run goes on under its lease until its worker stops it
    assert store.heartbeat(W, {task.id: lease(task)}, 60) == {task.id}
    assert store.claim(W, None, 10, 60) == []
    assert store.apply([Cancel(task.id, "not-the-lease")]) == [False]
    assert get(store, task.id).status == RUNNING
    assert store.apply([Cancel(task.id, lease(task))]) == [True]
    ended = get(store, task.id)
    assert (ended.status, ended.cancel_requested, ended.attempts) == (CANCELLED, False, 1)
    assert ended.finished_at is not None and ended.errors == []
    assert store.cancel_requested([task.id]) == set()
    assert store.cancel(task.id) is None
    assert store.apply([Done(task.id, lease(task))]) == [False]  # a stale completion loses
    assert get(store, other.id).cancel_requested is False


def test_a_completion_racing_a_cancel_wins_and_clears_the_request(store: TaskStore) -> None:
    [task] = running(store)
    assert store.cancel(task.id) is not None
    assert store.apply([Done(task.id, lease(task), {"n": 1})]) == [True]
    assert store.apply([Cancel(task.id, lease(task))]) == [False]  # the cancel lost
    final = get(store, task.id)
    assert (final.status, final.cancel_requested, final.result) == (DONE, False, {"n": 1})
    assert store.cancel_requested([task.id]) == set()
    assert store.stats().cancelled == 0


def test_a_cancel_and_a_completion_applied_at_once_never_both_land(
    engine: str, open_store: Callable[[], TaskStore]
) -> None:
    """Two workers' writes on the same runs at the same moment (threads with their own
    connections): per task exactly one of Done and Cancel is applied, and the task ends in
    the winner's state with the request cleared."""
    store = open_store()
    tasks = running(store, 40)
    for task in tasks:
        assert store.cancel(task.id) is not None
    stores = [open_store(), open_store()] if engine != "mongomock" else [store, store]
    outcomes: dict[str, list[bool]] = {"done": [], "cancel": []}
    gate = threading.Barrier(2)

    def write(name: str, other: TaskStore) -> None:
        gate.wait()
        for task in tasks if name == "done" else reversed(tasks):
            change = Done(task.id, lease(task)) if name == "done" else Cancel(task.id, lease(task))
            outcomes[name].append(other.apply([change])[0])

    threads = [
        threading.Thread(target=write, args=(name, other))
        for name, other in zip(("done", "cancel"), stores, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    won_done = dict(zip(ids(tasks), outcomes["done"], strict=True))
    won_cancel = dict(zip(ids(tasks)[::-1], outcomes["cancel"], strict=True))
    for task in tasks:
        assert won_done[task.id] != won_cancel[task.id], task.id  # exactly one landed
        final = get(store, task.id)
        assert final.status == (DONE if won_done[task.id] else CANCELLED)
        assert final.cancel_requested is False and final.finished_at is not None
    s = store.stats()
    assert s.done + s.cancelled == 40 and s.running == 0


@pytest.mark.parametrize("way", ["retry", "release", "rescue"])
def test_a_requeue_of_a_task_being_cancelled_ends_it_cancelled(store: TaskStore, way: str) -> None:
    [task] = running(store)
    assert store.cancel(task.id) is not None
    change = {
        "retry": Retry(task.id, lease(task), utcnow(), "timeout"),
        "release": Release(task.id, lease(task)),
        "rescue": Retry(
            task.id,
            lease(task),
            utcnow(),
            "lease expired",
            expired_before=utcnow() + timedelta(minutes=5),
        ),
    }[way]
    assert store.apply([change]) == [True]
    final = get(store, task.id)
    assert (final.status, final.cancel_requested) == (CANCELLED, False)
    assert final.finished_at is not None and final.lease_id is None
    assert store.claim(W, None, 10, 60) == []
    expected = [] if way == "release" else [(1, change.error)]  # type: ignore[union-attr]
    assert [(e.attempt, e.error) for e in final.errors] == expected


def test_cancel_of_a_finished_or_unknown_task_changes_nothing(store: TaskStore) -> None:
    [d] = done(store)
    [f] = failed(store)
    [c] = cancelled(store)
    for tid in (d, f, c):
        before = get(store, tid).to_json()
        assert store.cancel(tid) is None
        assert get(store, tid).to_json() == before
    assert store.cancel("0" * 24) is None
    s = store.stats()
    assert (s.done, s.failed, s.cancelled) == (1, 1, 1)


# -- retry and redrive ----------------------------------------------------------------------
def test_retry_puts_a_failed_or_cancelled_task_back_as_new_keeping_its_history(
    store: TaskStore,
) -> None:
    [f] = failed(store)
    [c] = cancelled(store)
    for tid in (f, c):
        out = store.retry(tid)
        assert out is not None and out.id == tid
        assert (out.status, out.attempts, out.finished_at, out.cancel_requested) == (
            PENDING,
            0,
            None,
            False,
        )
        assert out.lease_id is None and out.locked_by is None and out.result is None
        assert get(store, tid).to_json() == out.to_json()
    back = get(store, f)
    assert [(e.attempt, e.error) for e in back.errors] == [(1, f"boom {f}")]
    assert back.last_error == f"boom {f}"
    assert sorted(t.id for t in store.claim(W, None, 10, 60)) == sorted([f, c])
    assert get(store, f).attempts == 1  # counted afresh


def test_retry_refuses_every_other_state(store: TaskStore) -> None:
    [d] = done(store)
    [p] = add(store)
    [r] = [t.id for t in running(store)]
    for tid in (d, p, r, "0" * 24):
        before = store.get(tid)
        assert store.retry(tid) is None
        after_ = store.get(tid)
        assert (None if before is None else before.to_json()) == (
            None if after_ is None else after_.to_json()
        )


def test_redrive_requeues_in_bulk_by_status_type_and_limit(store: TaskStore) -> None:
    f = failed(store, 3)
    fu = failed(store, 2, type="U")
    c = cancelled(store, 2)
    [d] = done(store)
    p = add(store, 1)
    [r] = [t.id for t in running(store)]
    assert store.redrive({FAILED}, "T", 2) == 2  # the oldest two
    assert [get(store, t).status for t in f] == [PENDING, PENDING, FAILED]
    assert store.redrive({FAILED}, "T", 10) == 1
    assert store.redrive({FAILED}, "T", 10) == 0
    assert [get(store, t).status for t in fu + c] == [FAILED, FAILED, CANCELLED, CANCELLED]
    assert store.redrive({CANCELLED}, None, 0) == 0
    assert store.redrive({CANCELLED, FAILED}, None, 3) == 3
    # the oldest three of both statuses
    assert [get(store, t).status for t in fu + c] == [PENDING, PENDING, PENDING, CANCELLED]
    # other states are never touched, whatever is asked
    assert store.redrive({DONE, PENDING, RUNNING}, None, 100) == 0
    assert store.redrive({DONE, PENDING, RUNNING, CANCELLED}, None, 100) == 1
    assert (get(store, d).status, get(store, d).attempts) == (DONE, 1)
    assert (get(store, r).status, get(store, r).attempts) == (RUNNING, 1)
    assert get(store, p[0]).status == PENDING
    for tid in f + fu + c:
        task = get(store, tid)
        assert (task.status, task.attempts, task.finished_at) == (PENDING, 0, None)
    assert [e.error for e in get(store, fu[0]).errors] == [f"boom {fu[0]}"]
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed, s.cancelled) == (8, 1, 1, 0, 0)


# -- purge ----------------------------------------------------------------------------------
def test_purge_deletes_only_finished_tasks_before_the_time(store: TaskStore) -> None:
    [old] = done(store)
    after(get(store, old).finished_at)
    [new] = done(store)
    p = add(store)
    r = running(store)
    later = utcnow() + timedelta(days=1)
    # PENDING and RUNNING are never deleted, whatever is asked
    assert store.purge({PENDING, RUNNING}, later, None, 100) == 0
    assert store.purge({DONE}, get(store, new).finished_at, None, 100) == 1  # type: ignore[arg-type]
    assert store.get(old) is None and store.get(new) is not None
    assert store.purge({DONE, PENDING, RUNNING}, later, None, 100) == 1
    assert store.get(p[0]) is not None and get(store, r[0].id).status == RUNNING
    s = store.stats()
    assert (s.pending, s.running, s.done, s.total) == (1, 1, 0, 2)


def test_purge_respects_status_type_and_limit_oldest_first(store: TaskStore) -> None:
    d = done(store, 1)
    after(get(store, d[0]).finished_at)
    d += done(store, 1)
    after(get(store, d[1]).finished_at)
    d += done(store, 1)
    f = failed(store, 2)
    fu = failed(store, 1, type="U")
    c = cancelled(store, 1)
    later = utcnow() + timedelta(days=1)
    assert store.purge({DONE}, later, None, 2) == 2
    assert [store.get(t) is None for t in d] == [True, True, False]
    assert store.purge({FAILED}, later, "U", 10) == 1
    assert store.get(fu[0]) is None and all(store.get(t) for t in f)
    assert store.purge({FAILED, CANCELLED}, later, None, 0) == 0
    assert store.purge({FAILED, CANCELLED, DONE}, later, None, 10) == 4
    assert store.stats().total == 0
    assert store.purge({FAILED}, later, None, 10) == 0
    assert store.get(c[0]) is None


def test_purge_keeps_the_records_a_task_found(store: TaskStore) -> None:
    [task] = running(store)
    store.records.save("tweets", [{"id": "t1", "text": "a"}], "id", task.id)
    assert store.apply([Done(task.id, lease(task))]) == [True]
    assert store.purge({DONE}, utcnow() + timedelta(days=1), None, 10) == 1
    assert store.get(task.id) is None
    page = store.records.found_by("tweets", task.id)
    assert [(r["id"], r["taskIds"]) for r in page.records] == [("t1", [task.id])]


# -- the error history ----------------------------------------------------------------------
def test_errors_keep_the_last_five_with_the_attempt_each_ended(store: TaskStore) -> None:
    [tid] = add(store, max_attempts=20)
    for n in range(1, 8):
        [task] = store.claim(W, None, 1, 60)
        assert task.attempts == n
        assert store.apply([Retry(tid, lease(task), utcnow(), f"error {n}")]) == [True]
        if n == 2:  # an uncharged give-back and a plain release add nothing
            [task] = store.claim(W, None, 1, 60)
            assert store.apply([Retry(tid, lease(task), utcnow(), None, charge=False)]) == [True]
            [task] = store.claim(W, None, 1, 60)
            assert store.apply([Release(tid, lease(task))]) == [True]
    history = get(store, tid).errors
    assert len(history) == ERRORS_KEPT
    assert [(e.attempt, e.error) for e in history] == [(n, f"error {n}") for n in range(3, 8)]
    assert all(a.at <= b.at for a, b in zip(history, history[1:], strict=False))
    [task] = store.claim(W, None, 1, 60)
    start = utcnow()
    assert store.apply([Fail(tid, lease(task), "final")]) == [True]
    final = get(store, tid)
    assert [(e.attempt, e.error) for e in final.errors] == [
        (n, f"error {n}") for n in range(4, 8)
    ] + [(8, "final")]
    assert final.errors[-1].at >= start - timedelta(milliseconds=1)
    assert final.to_json()["errors"][-1] == {
        "attempt": 8,
        "at": final.to_json()["errors"][-1]["at"],
        "error": "final",
    }


# -- the worker registry --------------------------------------------------------------------
def worker(worker_id: str, started: datetime, seen: datetime, **kw: object) -> WorkerInfo:
    fields: dict[str, object] = {
        "host": "box",
        "pid": 42,
        "running": True,
        "inflight": 0,
        "max_concurrent": 10,
        "types": None,
    }
    fields.update(kw)
    return WorkerInfo(
        worker_id=worker_id,
        started_at=started,
        last_seen_at=seen,
        expires_at=seen + timedelta(seconds=30),
        **fields,  # type: ignore[arg-type]
    )


def test_workers_register_replace_and_leave(store: TaskStore) -> None:
    now = utcnow()
    assert store.list_workers(now) == []
    b = worker("worker-b", now - timedelta(minutes=5), now, types=["SEARCH"], pid=7)
    a = worker("worker-a", now - timedelta(minutes=9), now, host="other")
    store.beat_worker(b)
    store.beat_worker(a)
    assert store.list_workers(now) == [a, b]  # oldest started first, every field kept
    later = now + timedelta(seconds=10)
    slots = [
        {"name": "main", "state": "busy", "reason": "", "coolUntil": None, "leases": 2},
        {
            "name": "b",
            "state": "cooling",
            "reason": "rate budget used up",
            "coolUntil": "2026-12-02T01:15:00.000Z",
            "leases": 0,
        },
    ]
    b2 = worker(
        "worker-b",
        b.started_at,
        later,
        types=["SEARCH"],
        pid=7,
        inflight=3,
        running=False,
        slots=slots,
    )
    store.beat_worker(b2)
    assert store.list_workers(later) == [a, b2]  # the runtime's slots kept as reported
    assert a.slots is None and b2.to_json()["slots"] == slots
    store.remove_worker("worker-a")
    store.remove_worker("worker-unknown")
    assert store.list_workers(later) == [b2]
    assert b2.to_json()["types"] == ["SEARCH"]


def test_a_worker_that_missed_its_beats_is_gone_and_pruned_after_an_hour(
    store: TaskStore,
) -> None:
    now = utcnow()
    store.beat_worker(worker("dead-long-ago", now - timedelta(hours=3), now - timedelta(hours=2)))
    store.beat_worker(worker("dead-lately", now - timedelta(hours=1), now - timedelta(minutes=5)))
    live = worker("live", now - timedelta(minutes=1), now)
    store.beat_worker(live)
    assert [w.worker_id for w in store.list_workers(now)] == ["live"]
    # looking back: the recent dead one is still stored, the one dead for hours was deleted
    then = now - timedelta(minutes=5)
    assert [w.worker_id for w in store.list_workers(then)] == ["dead-lately", "live"]
    long_ago = now - timedelta(hours=2)
    assert [w.worker_id for w in store.list_workers(long_ago)] == ["dead-lately", "live"]
    at_expiry = live.expires_at
    assert store.list_workers(at_expiry) == []  # expired at that instant


# -- the records a task found ---------------------------------------------------------------
def test_found_by_pages_a_tasks_records_in_the_order_found(store: TaskStore) -> None:
    a, b = add(store, 2)
    store.records.save("tweets", [{"id": k, "n": i} for i, k in enumerate("zyx")], "id", a)
    store.records.save("tweets", [{"id": "w"}, {"id": "z", "n": 9}, {"id": "v"}], "id", a)
    store.records.save("tweets", [{"id": "y"}, {"id": "u"}], "id", b)
    store.records.save("other", [{"id": "q"}], "id", a)
    first = store.records.found_by("tweets", a, limit=2)
    assert [r["id"] for r in first.records] == ["z", "y"]
    assert first.records[0] == {"id": "z", "n": 9, "taskIds": [a]}  # the latest fields
    assert first.next is not None
    second = store.records.found_by("tweets", a, limit=2, after=first.next)
    assert [r["id"] for r in second.records] == ["x", "w"]
    last = store.records.found_by("tweets", a, limit=2, after=second.next)
    assert [r["id"] for r in last.records] == ["v"] and last.next is None
    whole = store.records.found_by("tweets", a)
    assert [r["id"] for r in whole.records] == ["z", "y", "x", "w", "v"] and whole.next is None
    assert whole.records[1]["taskIds"] == [a, b]
    exact = store.records.found_by("tweets", b, limit=2)
    assert [r["id"] for r in exact.records] == ["y", "u"] and exact.next is None
    assert store.records.found_by("tweets", "0" * 24).records == []
    assert [r["id"] for r in store.records.found_by("other", a).records] == ["q"]


# -- counts ---------------------------------------------------------------------------------
def test_stats_count_all_five_states_and_sum_to_the_total(store: TaskStore) -> None:
    done(store, 3)
    failed(store, 1)
    cancelled(store, 2)
    add(store, 4)
    store.claim(W, None, 2, 60)
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed, s.cancelled) == (2, 2, 3, 1, 2)
    assert s.total == 10 == s.pending + s.running + s.done + s.failed + s.cancelled
    assert s.to_json()["cancelled"] == 2 and s.to_json()["total"] == 10
