"""One lifecycle suite, run against every storage engine."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from roost.core.models import NewTask, TaskStatus, utcnow
from roost.core.store import TaskStore

W = "worker-1"


def add(store: TaskStore, n: int = 1, **kw: object) -> list[str]:
    kw.setdefault("type", "T")
    kw.setdefault("payload", {"n": 0})
    return [t.id for t in store.enqueue_many([NewTask(**kw) for _ in range(n)])]  # type: ignore[arg-type]


def test_enqueue_then_get_round_trips(store: TaskStore) -> None:
    new = NewTask(type="T", payload={"q": "bitcoin", "nested": {"a": [1, 2]}}, priority=5)
    task = store.enqueue(new)
    got = store.get(task.id)
    assert got is not None
    assert (got.type, got.payload, got.priority, got.status) == (
        "T",
        new.payload,
        5,
        TaskStatus.PENDING,
    )
    assert got.attempts == 0 and got.max_attempts == 3 and len(got.id) == 24
    assert store.get("0" * 24) is None


def test_claim_orders_by_priority_then_due_time(store: TaskStore) -> None:
    now = utcnow()
    late = add(store, type="T", payload={"i": 1}, run_at=now - timedelta(seconds=1))[0]
    early = add(store, type="T", payload={"i": 2}, run_at=now - timedelta(seconds=10))[0]
    urgent = add(store, type="T", payload={"i": 3}, priority=10)[0]
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
    assert store.claim(W, None, 5, 60) == []


def test_claim_only_takes_the_given_types(store: TaskStore) -> None:
    add(store, type="A")
    b = add(store, type="B")[0]
    assert [t.id for t in store.claim(W, ["B"], 5, 60)] == [b]
    assert store.claim(W, [], 5, 60) == []


def test_complete_is_fenced_on_the_lease(store: TaskStore) -> None:
    add(store)
    [first] = store.claim(W, None, 1, -1)  # lease already expired
    assert store.recover() == 1
    [second] = store.claim("worker-2", None, 1, 60)
    assert second.id == first.id and second.lease_id != first.lease_id
    # the zombie's late writes change nothing
    assert not store.complete(first.id, first.lease_id, {"by": "zombie"})
    assert not store.fail(first.id, first.lease_id, "zombie")
    assert not store.reschedule(first.id, first.lease_id, utcnow(), "zombie", charge=True)
    assert not store.checkpoint(first.id, first.lease_id, {"cursor": "zombie"})
    assert store.heartbeat(W, {first.id: first.lease_id}, 60) == set()
    assert store.complete(second.id, second.lease_id, {"by": "second"})
    done = store.get(first.id)
    assert done is not None and done.status == TaskStatus.DONE and done.result == {"by": "second"}
    assert done.attempts == 2
    # and a completed task cannot be completed again
    assert not store.complete(second.id, second.lease_id, {"by": "again"})


def test_heartbeat_extends_every_held_lease_in_one_call(store: TaskStore) -> None:
    add(store, 3)
    tasks = store.claim(W, None, 3, 5)
    leases = {t.id: t.lease_id for t in tasks}
    held = store.heartbeat(W, leases, 120)
    assert held == set(leases)
    for t in tasks:
        got = store.get(t.id)
        assert got is not None and got.lease_expires_at is not None
        assert (got.lease_expires_at - utcnow()).total_seconds() > 100
    # another worker's id, or a stale lease id, holds nothing
    assert store.heartbeat("worker-2", leases, 120) == set()


def test_recover_returns_expired_leases_or_fails_when_attempts_are_used(store: TaskStore) -> None:
    retry_id = add(store, max_attempts=3)[0]
    last_id = add(store, max_attempts=1)[0]
    live_id = add(store)[0]
    claimed = {t.id: t for t in store.claim(W, None, 2, -1)}
    assert set(claimed) == {retry_id, last_id}
    store.claim(W, None, 1, 60)  # live_id, with a live lease
    assert store.recover() == 2
    back, failed, live = store.get(retry_id), store.get(last_id), store.get(live_id)
    assert back is not None and back.status == TaskStatus.PENDING and back.lease_id is None
    assert back.attempts == 1 and "lease expired" in (back.last_error or "")
    assert failed is not None and failed.status == TaskStatus.FAILED
    assert live is not None and live.status == TaskStatus.RUNNING
    assert store.recover() == 0


def test_reschedule_delays_the_next_run_and_charges_or_not(store: TaskStore) -> None:
    a, b = add(store, 2)
    tasks = {t.id: t for t in store.claim(W, None, 2, 60)}
    later = utcnow() + timedelta(minutes=1)
    assert store.reschedule(a, tasks[a].lease_id, later, "boom", charge=True)
    assert store.reschedule(b, tasks[b].lease_id, utcnow(), "rate limited", charge=False)
    ta, tb = store.get(a), store.get(b)
    assert ta is not None and tb is not None
    assert (ta.status, ta.attempts, ta.last_error) == (TaskStatus.PENDING, 1, "boom")
    assert tb.attempts == 0
    assert abs((ta.next_run_at - later).total_seconds()) < 0.01
    assert [t.id for t in store.claim(W, None, 5, 60)] == [b]  # a is not due yet


def test_fail_is_final(store: TaskStore) -> None:
    tid = add(store)[0]
    [task] = store.claim(W, None, 1, 60)
    assert store.fail(tid, task.lease_id, "PermanentError: no such user")
    got = store.get(tid)
    assert got is not None and got.status == TaskStatus.FAILED
    assert got.last_error == "PermanentError: no such user" and got.finished_at is not None
    assert store.claim(W, None, 1, 60) == []


def test_release_gives_the_task_back_without_charging(store: TaskStore) -> None:
    tid = add(store)[0]
    [task] = store.claim(W, None, 1, 60)
    assert store.release(tid, task.lease_id, utcnow())
    got = store.get(tid)
    assert got is not None and (got.status, got.attempts) == (TaskStatus.PENDING, 0)
    assert [t.id for t in store.claim(W, None, 1, 60)] == [tid]


def test_checkpoint_survives_a_retry(store: TaskStore) -> None:
    tid = add(store)[0]
    [task] = store.claim(W, None, 1, 60)
    assert store.checkpoint(tid, task.lease_id, {"cursor": "abc", "saved": 20})
    store.reschedule(tid, task.lease_id, utcnow(), "boom", charge=True)
    [again] = store.claim(W, None, 1, 60)
    assert again.checkpoint == {"cursor": "abc", "saved": 20}


def test_dedupe_key_returns_the_unfinished_task(store: TaskStore) -> None:
    first = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    again = store.enqueue(NewTask(type="T", payload={"other": 1}, dedupe_key="k"))
    assert again.id == first.id and store.stats().total == 1
    [task] = store.claim(W, None, 1, 60)
    store.complete(task.id, task.lease_id, None)
    fresh = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    assert fresh.id != first.id and store.stats().total == 2


def test_records_upsert_by_key_and_remember_every_task(store: TaskStore) -> None:
    store.save_records("tweets", [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}], "id", "t1")
    store.save_records("tweets", [{"id": "2", "text": "b2"}], "id", "t2")
    everything = {r["id"]: r for r in store.find_records("tweets")}
    assert set(everything) == {"1", "2"}
    assert everything["2"]["text"] == "b2" and sorted(everything["2"]["taskIds"]) == ["t1", "t2"]
    assert [r["id"] for r in store.find_records("tweets", task_id="t2")] == ["2"]


def test_claims_from_many_threads_never_overlap(open_store: Callable[[], TaskStore]) -> None:
    ids = set(add(open_store(), 200))
    claimed: list[str] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        store = open_store()  # its own connection, like another process
        while batch := store.claim(f"w{n}", None, 3, 60):
            with lock:
                claimed.extend(t.id for t in batch)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert set(claimed) == ids


def test_stats_add_up_while_workers_change_states(open_store: Callable[[], TaskStore]) -> None:
    first = open_store()
    add(first, 150)
    stop = threading.Event()
    bad: list[str] = []

    def watch() -> None:
        store = open_store()
        while not stop.is_set():
            s = store.stats()
            if s.pending + s.running + s.done + s.failed != 150 or s.total != 150:
                bad.append(repr(s))

    def work(n: int) -> None:
        store = open_store()
        while batch := store.claim(f"w{n}", None, 2, 60):
            for i, t in enumerate(batch):
                if i % 2:
                    store.fail(t.id, t.lease_id, "x")
                else:
                    store.complete(t.id, t.lease_id, {"ok": True})

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(3)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    watcher.join()
    assert bad == []
    s = first.stats()
    assert (s.pending, s.running, s.done + s.failed, s.total) == (0, 0, 150, 150)


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sqlite_claims_from_many_processes_never_overlap(
    open_store: Callable[[], TaskStore],
) -> None:
    import multiprocessing as mp

    store = open_store()
    ids = set(add(store, 400))
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_claim_all, [(store.url, f"p{n}") for n in range(4)])  # type: ignore[attr-defined]
    claimed = [tid for batch in results for tid in batch]
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert set(claimed) == ids
    assert store.stats().running == 400


def _claim_all(args: tuple[str, str]) -> list[str]:
    from roost.core.stores.sqlite import SQLiteStore

    url, worker = args
    store = SQLiteStore(url)
    out: list[str] = []
    while batch := store.claim(worker, None, 5, 60):
        out.extend(t.id for t in batch)
    store.close()
    return out


def test_complete_many_is_fenced_per_task_and_accepts_each_task_once(store: TaskStore) -> None:
    add(store, 3)
    [zombie] = store.claim(W, None, 1, -1)  # lease already expired
    assert store.recover() == 1
    claimed = store.claim("worker-2", None, 3, 60)
    [again] = [t for t in claimed if t.id == zombie.id]  # the zombie's task, run anew
    a, b = [t for t in claimed if t.id != zombie.id]
    items = [
        (a.id, a.lease_id, {"n": "a"}),
        (zombie.id, zombie.lease_id, {"by": "zombie"}),  # a stale lease: refused
        (b.id, b.lease_id, None),
        (a.id, a.lease_id, {"n": "a again"}),  # already done: refused
    ]
    assert store.complete_many(items) == [True, False, True, False]  # type: ignore[arg-type]
    done = store.get(a.id)
    assert done is not None and done.status == TaskStatus.DONE and done.result == {"n": "a"}
    assert store.get(b.id).status == TaskStatus.DONE  # type: ignore[union-attr]
    # the newer run of the zombie's task is untouched and can still complete
    assert store.get(again.id).status == TaskStatus.RUNNING  # type: ignore[union-attr]
    assert store.complete_many([(again.id, again.lease_id, {"n": 1})]) == [True]  # type: ignore[list-item]
    assert store.get(again.id).result == {"n": 1}  # type: ignore[union-attr]
    assert store.complete_many([]) == []
    s = store.stats()
    assert (s.pending, s.running, s.done) == (0, 0, 3)


# the tasks table as roost 0.1 created it: a rowid table with a status index
V1_TASKS = """
CREATE TABLE tasks (id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL,
    payload TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_run_at INTEGER NOT NULL,
    locked_by TEXT, locked_at INTEGER, lease_id TEXT, lease_expires_at INTEGER,
    finished_at INTEGER, result TEXT, last_error TEXT, checkpoint TEXT, dedupe_key TEXT);
CREATE INDEX tasks_claim ON tasks (priority DESC, next_run_at, id) WHERE status = 'PENDING';
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status = 'RUNNING';
CREATE INDEX tasks_status ON tasks (status);
CREATE UNIQUE INDEX tasks_dedupe ON tasks (dedupe_key) WHERE dedupe_key IS NOT NULL;
"""


def test_sqlite_file_from_the_first_schema_is_upgraded_with_every_task(tmp_path: Path) -> None:
    import sqlite3

    from roost.core.stores.sqlite import SQLiteStore

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_TASKS)
        conn.executemany(
            "INSERT INTO tasks (id, type, status, payload, max_attempts, created_at, updated_at,"
            " next_run_at, lease_id, lease_expires_at, result, dedupe_key)"
            " VALUES (?, 'T', ?, '{\"n\": 1}', 3, 1000, 1000, 1000, ?, ?, ?, ?)",
            [
                ("0" * 23 + "1", "PENDING", None, None, None, "key-1"),
                ("0" * 23 + "2", "RUNNING", "lease", 2000, None, None),
                ("0" * 23 + "3", "DONE", None, None, '{"ok": true}', None),
                ("0" * 23 + "4", "FAILED", None, None, None, None),
            ],
        )
    store = SQLiteStore(f"sqlite:///{path}")
    store.setup()
    store.setup()  # the second start-up finds it done
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed) == (1, 1, 1, 1)
    assert store.get("0" * 23 + "3").result == {"ok": True}  # type: ignore[union-attr]
    [claimed] = store.claim(W, None, 10, 60)
    assert (claimed.id, claimed.payload, claimed.dedupe_key) == ("0" * 23 + "1", {"n": 1}, "key-1")
    assert store.recover() == 1  # the old lease (expired long ago) still counts
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "tasks_v1" not in names and "tasks_status" not in names
