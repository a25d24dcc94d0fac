"""Enqueueing, deduplication and reachability of the store contract, on every engine
(records: ``test_records.py``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from roost.core.errors import StoreCorrupt, StoreUnavailable
from roost.core.models import NewTask, TaskStatus, utcnow
from roost.core.store import TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.stores.sqlite import SQLiteStore
from storekit import W, add, complete, fail, get, recover, retry


def test_enqueue_then_get_round_trips(store: TaskStore) -> None:
    new = NewTask(type="T", payload={"q": "bitcoin", "nested": {"a": [1, 2]}}, priority=5)
    task = store.enqueue(new)
    got = get(store, task.id)
    assert (got.type, got.payload, got.priority, got.status) == (
        "T",
        new.payload,
        5,
        TaskStatus.PENDING,
    )
    assert got.attempts == 0 and got.max_attempts == 3 and len(got.id) == 24
    assert store.get("0" * 24) is None


def test_enqueue_many_returns_each_task_in_order(store: TaskStore) -> None:
    tasks = store.enqueue_many([NewTask(type="T", payload={"i": i}) for i in range(5)])
    assert [t.payload for t in tasks] == [{"i": i} for i in range(5)]
    assert len({t.id for t in tasks}) == 5
    assert [get(store, t.id).payload for t in tasks] == [{"i": i} for i in range(5)]
    assert store.enqueue_many([]) == []
    assert store.stats().pending == 5


@pytest.mark.parametrize("bad_at", ["plain", "deduplicated"])
def test_enqueue_many_stores_all_or_nothing(store: TaskStore, bad_at: str) -> None:
    """A batch with one task the engine cannot store raises, and stores none of the batch."""
    bad_key = "bad" if bad_at == "deduplicated" else None
    batch = [
        NewTask(type="T", payload={"i": 1}),
        NewTask(type="T", payload={"i": 2}, dedupe_key="good"),
        NewTask(type="T", payload={"i": 3, "bad": object()}, dedupe_key=bad_key),
        NewTask(type="T", payload={"i": 4}),
    ]
    with pytest.raises(Exception) as raised:  # noqa: B017 - each engine has its own error type
        store.enqueue_many(batch)
    assert "object" in str(raised.value)  # it names what could not be stored
    assert store.stats().total == 0
    assert store.claim(W, None, 10, 60) == []
    # nothing of the batch is left behind: its dedupe key is free, the good tasks can go in
    stored = store.enqueue_many([batch[0], batch[1], batch[3]])
    assert [t.payload["i"] for t in stored] == [1, 2, 4] and store.stats().total == 3


def test_dedupe_key_returns_the_unfinished_task(store: TaskStore) -> None:
    first = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    again = store.enqueue(NewTask(type="T", payload={"other": 1}, dedupe_key="k"))
    assert again.id == first.id and store.stats().total == 1
    assert get(store, first.id).payload == {}  # the first task is kept as it was
    [task] = store.claim(W, None, 1, 60)
    complete(store, task.id, task.lease_id, None)
    fresh = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    assert fresh.id != first.id and store.stats().total == 2


def test_dedupe_key_holds_while_the_task_runs_or_waits_for_a_retry(store: TaskStore) -> None:
    first = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    [running] = store.claim(W, None, 1, 60)
    assert store.enqueue(NewTask(type="T", payload={}, dedupe_key="k")).id == first.id
    assert retry(store, first.id, running.lease_id, utcnow(), "boom", charge=True)
    again = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    assert again.id == first.id and again.status == TaskStatus.PENDING
    assert store.stats().total == 1


def test_dedupe_key_is_free_again_once_the_task_failed(store: TaskStore) -> None:
    first = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    [running] = store.claim(W, None, 1, 60)
    assert fail(store, first.id, running.lease_id, "PermanentError: gone")
    fresh = store.enqueue(NewTask(type="T", payload={}, dedupe_key="k"))
    assert fresh.id != first.id and fresh.status == TaskStatus.PENDING
    assert get(store, first.id).status == TaskStatus.FAILED
    s = store.stats()
    assert (s.pending, s.failed) == (1, 1)


def test_dedupe_within_one_batch_stores_the_key_once(store: TaskStore) -> None:
    a, b, plain, c = store.enqueue_many(
        [
            NewTask(type="T", payload={"n": 1}, dedupe_key="k"),
            NewTask(type="T", payload={"n": 2}, dedupe_key="k"),
            NewTask(type="T", payload={"n": 3}),
            NewTask(type="T", payload={"n": 4}, dedupe_key="other"),
        ]
    )
    assert a.id == b.id and b.payload == {"n": 1}  # the second is the first, as stored
    assert len({a.id, plain.id, c.id}) == 3
    assert store.stats().total == 3


def test_ping_answers_when_the_database_is_reachable(store: TaskStore) -> None:
    assert store.ping() is None


def unreachable(engine: str, tmp_path: Path) -> TaskStore:
    """A store of ``engine`` whose database cannot be used."""
    if engine == "sqlite":  # (a file that is not SQLite is damaged: StoreCorrupt, elsewhere)
        folder = tmp_path / "disk"
        folder.mkdir()
        store = SQLiteStore(f"sqlite:///{folder / 'roost.db'}")
        folder.rmdir()  # its folder went away after start-up (an unmounted disk)
        return store
    return MongoStore("mongodb://127.0.0.1:1/roost_test", timeout_ms=200)  # nothing listens


@pytest.mark.parametrize("engine", ["sqlite", "wire"])  # an in-memory mongomock is always there
def test_ping_raises_store_unavailable_when_the_database_cannot_be_used(
    engine: str, tmp_path: Path
) -> None:
    store = unreachable(engine, tmp_path)
    try:
        with pytest.raises(StoreUnavailable):
            store.ping()
    finally:
        store.close()


def test_ping_says_a_damaged_file_is_damaged_not_unreachable(tmp_path: Path) -> None:
    path = tmp_path / "not-a-database.db"
    path.write_bytes(b"this is not an SQLite file" * 100)
    store = SQLiteStore(f"sqlite:///{path}")
    try:
        with pytest.raises(StoreCorrupt, match="damaged"):
            store.ping()
    finally:
        store.close()


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


def test_sqlite_file_from_the_first_schema_is_upgraded_with_every_task_readable(
    tmp_path: Path,
) -> None:
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
    store.setup()  # the second start-up finds it done and changes nothing
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed) == (1, 1, 1, 1)
    assert [get(store, "0" * 23 + n).payload for n in "1234"] == [{"n": 1}] * 4
    assert get(store, "0" * 23 + "3").result == {"ok": True}
    # the pending task still dedupes, runs, and the old lease still expires
    assert store.enqueue(NewTask(type="T", payload={}, dedupe_key="key-1")).id == "0" * 23 + "1"
    [claimed] = store.claim(W, None, 10, 60)
    assert (claimed.id, claimed.payload, claimed.dedupe_key) == ("0" * 23 + "1", {"n": 1}, "key-1")
    assert recover(store) == 1
    assert complete(store, claimed.id, claimed.lease_id, {"done": 1})
    new = store.enqueue(NewTask(type="T", payload={"new": True}))
    store.close()
    reopened = SQLiteStore(f"sqlite:///{path}")  # what the upgrade wrote is on disk
    reopened.setup()
    assert get(reopened, new.id).payload == {"new": True}
    assert get(reopened, claimed.id).result == {"done": 1}
    assert reopened.stats().total == 5
    reopened.close()


def test_two_stores_on_one_database_see_each_others_writes(
    open_store: Callable[[], TaskStore],
) -> None:
    one, two = open_store(), open_store()
    tid = add(one)[0]
    [task] = two.claim(W, None, 1, 60)
    assert task.id == tid
    assert get(one, tid).status == TaskStatus.RUNNING
    assert complete(one, tid, task.lease_id, {"by": "one"})
    assert get(two, tid).result == {"by": "one"}
