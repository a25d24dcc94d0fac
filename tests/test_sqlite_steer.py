"""The SQLite engine's side of seeing and steering tasks: the query plans of the operator's
reads (through an index, never the whole table), files made by older roosts brought up to
date with their data, and stored rows whose new columns do not decode.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from roost.core.models import NewTask, TaskQuery, TaskStatus, utcnow
from roost.core.store import Fail, Retry
from roost.core.stores.sqlite import SQLiteStore
from roost.core.stores.sqlite.schema import SCHEMA_VERSION
from storekit import W, add, get

FAILED, CANCELLED, DONE = TaskStatus.FAILED, TaskStatus.CANCELLED, TaskStatus.DONE


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(f"sqlite:///{tmp_path / 'roost.db'}")
    opened.setup()
    yield opened
    opened.close()


def statements(store: SQLiteStore, call: Callable[[], object]) -> list[str]:
    """The SQL ``call`` runs on ``store``'s connection, parameters filled in."""
    seen: list[str] = []
    conn = store._db.connect()
    conn.set_trace_callback(seen.append)
    try:
        call()
    finally:
        conn.set_trace_callback(None)
    return [s for s in seen if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]


def plan(store: SQLiteStore, sql: str) -> list[str]:
    with sqlite3.connect(store.path) as conn:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]


def full_scans(store: SQLiteStore, call: Callable[[], object]) -> list[str]:
    """The steps of ``call``'s statements that read the whole tasks table."""
    sqls = statements(store, call)
    assert sqls, "the call ran no statement"
    steps = [step for sql in sqls for step in plan(store, sql)]
    assert any("tasks" in step for step in steps), steps
    return [step for step in steps if re.search(r"\bSCAN tasks(?! USING)", step)]


def test_the_operators_reads_use_an_index_not_the_table(store: SQLiteStore) -> None:
    add(store, 3)  # the plans do not depend on the rows; a few make the calls do work
    later = utcnow() + timedelta(days=1)
    for status in (FAILED, CANCELLED):
        only = TaskQuery(statuses=frozenset({status}), limit=10)
        assert full_scans(store, lambda q=only: store.list_tasks(q)) == []  # type: ignore[misc]
        typed = TaskQuery(statuses=frozenset({status}), type="T", before="f" * 24)
        assert full_scans(store, lambda q=typed: store.list_tasks(q)) == []  # type: ignore[misc]
    both = TaskQuery(statuses=frozenset({FAILED, CANCELLED}))
    assert full_scans(store, lambda: store.list_tasks(both)) == []
    assert full_scans(store, lambda: store.purge({DONE, FAILED, CANCELLED}, later, None, 100)) == []
    assert full_scans(store, lambda: store.purge({DONE}, later, "T", 100)) == []
    assert full_scans(store, lambda: store.redrive({FAILED, CANCELLED}, None, 100)) == []
    # the counts: each state but DONE on its partial index (DONE is the table's count less those)
    [counts] = statements(store, store.stats)
    steps = plan(store, counts)
    for index in ("tasks_claim", "tasks_lease", "tasks_failed", "tasks_cancelled"):
        assert f"SCAN tasks USING INDEX {index}" in steps, steps
    assert full_scans(store, lambda: store.cancel_requested(["0" * 24, "1" * 24])) == []
    assert full_scans(store, lambda: store.cancel("0" * 24)) == []
    assert full_scans(store, lambda: store.retry("0" * 24)) == []


def test_the_purge_walks_the_finished_index_in_time_order(store: SQLiteStore) -> None:
    [sql] = statements(store, lambda: store.purge({DONE}, utcnow(), None, 100))
    steps = plan(store, sql)
    assert any("tasks_finished (status=? AND finished_at<?)" in s for s in steps), steps
    assert not any("TEMP B-TREE" in s and "ORDER BY" in s for s in steps[:-1]), steps


def test_a_finished_task_enters_the_finished_index_and_leaves_it_when_retried(
    store: SQLiteStore,
) -> None:
    [tid] = add(store)
    [task] = store.claim(W, None, 1, 60)
    assert store.apply([Fail(tid, task.lease_id or "", "x")]) == [True]
    count = "SELECT count(*) FROM tasks INDEXED BY tasks_finished WHERE finished_at IS NOT NULL"
    with sqlite3.connect(store.path) as conn:
        assert conn.execute(count).fetchone() == (1,)
        assert store.retry(tid) is not None
        assert conn.execute(count).fetchone() == (0,)


# -- files made by older roosts -------------------------------------------------------------
TASKS_V1_V2 = """
CREATE TABLE tasks (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    next_run_at INTEGER NOT NULL, locked_by TEXT, locked_at INTEGER, lease_id TEXT,
    lease_expires_at INTEGER, finished_at INTEGER, result TEXT, last_error TEXT,
    checkpoint TEXT, dedupe_key TEXT
){rowid};
CREATE INDEX tasks_claim ON tasks (priority DESC, next_run_at, id) WHERE status = 'PENDING';
CREATE INDEX tasks_lease ON tasks (lease_expires_at) WHERE status = 'RUNNING';
{status_index};
CREATE UNIQUE INDEX tasks_dedupe ON tasks (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE TABLE records (
    collection TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
    first_seen_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
    PRIMARY KEY (collection, key)
) WITHOUT ROWID;
CREATE TABLE record_tasks (
    collection TEXT NOT NULL, task_id TEXT NOT NULL, key TEXT NOT NULL,
    PRIMARY KEY (collection, task_id, key)
) WITHOUT ROWID;
CREATE INDEX record_tasks_key ON record_tasks (collection, key);
"""
OLD = {
    1: TASKS_V1_V2.format(rowid="", status_index="CREATE INDEX tasks_status ON tasks (status)"),
    2: TASKS_V1_V2.format(
        rowid=" WITHOUT ROWID",
        status_index="CREATE INDEX tasks_failed ON tasks (id) WHERE status = 'FAILED'",
    ),
}
T0 = 1_780_000_000_000  # ms
ROWS = [  # id, status, attempts, finished_at, last_error, dedupe_key
    ("6900000000000000000000a1", "FAILED", 3, T0 + 50, "boom", None),
    ("6900000000000000000000a2", "DONE", 1, T0 + 40, None, None),
    ("6900000000000000000000a3", "PENDING", 1, None, "slow", "k1"),
    ("6900000000000000000000a4", "RUNNING", 1, None, None, None),
]


def old_file(path: Path, version: int) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(OLD[version])
    for tid, status, attempts, finished, error, key in ROWS:
        running = status == "RUNNING"
        conn.execute(
            "INSERT INTO tasks VALUES (?, 'T', ?, '{\"n\": 1}', 0, ?, 3, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, NULL, ?)",
            (
                tid,
                status,
                attempts,
                T0,
                T0 + 30,
                T0,
                "w" if running else None,
                T0 if running else None,
                "lease" if running else None,
                T0 + 60_000 if running else None,
                finished,
                '{"ok": 1}' if status == "DONE" else None,
                error,
                key,
            ),
        )
    # a task that found its tweets in three saves: c first, then a, then b
    for i, key in enumerate("cab"):
        conn.execute(
            "INSERT INTO records VALUES ('tweets', ?, ?, ?, ?)",
            (key, f'{{"id": "{key}"}}', T0 + i, T0 + i),
        )
        conn.execute("INSERT INTO record_tasks VALUES ('tweets', ?, ?)", (ROWS[1][0], key))
    conn.execute(f"PRAGMA user_version = {0 if version == 1 else version}")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_a_file_of_an_older_roost_is_brought_up_to_date_with_its_data(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "old.db"
    old_file(path, version)
    store = SQLiteStore(f"sqlite:///{path}")
    store.setup()
    store.setup()  # idempotent
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert {"tasks_finished", "tasks_cancelled", "tasks_failed", "workers"} <= names
    assert not {"tasks_status", "tasks_v1", "record_tasks_v2"} & names
    failed, done, pending, running = (get(store, row[0]) for row in ROWS)
    assert (failed.status, failed.attempts, failed.last_error) == (FAILED, 3, "boom")
    assert [(e.attempt, e.error) for e in failed.errors] == [(3, "boom")]  # seeded
    assert failed.errors[0].at == failed.finished_at
    assert (done.status, done.result, done.errors) == (DONE, {"ok": 1}, [])
    assert [(e.attempt, e.error) for e in pending.errors] == [(1, "slow")]
    assert (running.status, running.lease_id, running.cancel_requested) == (
        TaskStatus.RUNNING,
        "lease",
        False,
    )
    s = store.stats()
    assert (s.pending, s.running, s.done, s.failed, s.cancelled) == (1, 1, 1, 1, 0)
    # the records keep the order they were first seen in, and the new calls work on them
    page = store.records.found_by("tweets", done.id)
    assert [r["id"] for r in page.records] == ["c", "a", "b"]
    store.records.save("tweets", [{"id": "d"}, {"id": "a"}], "id", done.id)
    page = store.records.found_by("tweets", done.id)
    assert [r["id"] for r in page.records] == ["c", "a", "b", "d"]
    assert store.enqueue(NewTask("T", {}, dedupe_key="k1")).id == pending.id  # still deduped
    assert store.cancel(pending.id) is not None and store.cancel(running.id) is not None
    assert store.cancel_requested([running.id]) == {running.id}
    assert store.purge({DONE, FAILED}, utcnow(), None, 10) == 2
    assert ids_of(store) == [running.id, pending.id]
    store.close()


def test_a_version_3_file_gains_the_workers_slots(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    made = SQLiteStore(f"sqlite:///{path}")
    made.setup()
    tid = made.enqueue(NewTask("T", {"n": 1})).id
    made.close()
    with sqlite3.connect(path) as conn:  # the workers table as version 3 made it
        conn.execute("ALTER TABLE workers DROP COLUMN slots")
        conn.execute(
            "INSERT INTO workers VALUES ('w-old', 'box', 1, ?, ?, ?, 1, 0, 3, NULL)",
            (T0, T0, T0 + 10**12),
        )
        conn.execute("PRAGMA user_version = 3")
    store = SQLiteStore(f"sqlite:///{path}")
    store.setup()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    [old] = store.list_workers(utcnow())
    assert (old.worker_id, old.slots) == ("w-old", None)
    store.beat_worker(replace(old, slots=[{"name": "main", "state": "free"}]))
    assert store.list_workers(utcnow())[0].slots == [{"name": "main", "state": "free"}]
    assert get(store, tid).payload == {"n": 1}
    store.close()


def ids_of(store: SQLiteStore) -> list[str]:
    return [t.id for t in store.list_tasks(TaskQuery())]


# -- stored rows whose new columns do not decode --------------------------------------------
@pytest.mark.parametrize(
    "change",
    [
        "errors = '[{'",
        "errors = '{\"a\": 1}'",
        'errors = \'[{"attempt": "one", "error": "x"}]\'',
        'errors = \'[{"attempt": 1, "at": "noon", "error": "x"}]\'',
        "errors = 7",
    ],
)
def test_a_history_that_does_not_read_is_left_out_and_the_task_runs(
    store: SQLiteStore, change: str
) -> None:
    """The history is for people: a broken one (a hand edit, another tool) neither stops
    the task nor fails its transitions; the next error starts it again."""
    [tid] = add(store)
    with sqlite3.connect(store.path) as conn:
        conn.execute(f"UPDATE tasks SET {change} WHERE id = ?", (tid,))
    read = get(store, tid)
    assert (read.unreadable, read.errors) == (None, [])
    assert [t.id for t in store.list_tasks(TaskQuery())] == [tid]
    [task] = store.claim(W, None, 1, 60)
    assert (task.unreadable, task.errors) == (None, [])
    assert store.apply([Retry(tid, task.lease_id or "", utcnow(), "again")]) == [True]
    again = get(store, tid)
    assert again.unreadable is None
    assert [(e.attempt, e.error) for e in again.errors] == [(1, "again")]
    [task] = store.claim(W, None, 1, 60)
    assert store.apply([Fail(tid, task.lease_id or "", "last")]) == [True]
    assert [(e.attempt, e.error) for e in get(store, tid).errors] == [(1, "again"), (2, "last")]


def test_a_cancel_flag_that_does_not_read_is_shown_and_cancels_nothing(
    store: SQLiteStore,
) -> None:
    [tid] = add(store)
    [task] = store.claim(W, None, 1, 60)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE tasks SET cancel_requested = 'yes' WHERE id = ?", (tid,))
    read = get(store, tid)
    assert read.unreadable is not None and "cancel_requested is not 0/1" in read.unreadable
    assert read.cancel_requested is False
    assert store.cancel_requested([tid]) == set()
    assert store.apply([Retry(tid, task.lease_id or "", utcnow(), None)]) == [True]
    back = get(store, tid)
    assert (back.status, back.cancel_requested, back.unreadable) == (
        TaskStatus.PENDING,
        False,
        None,
    )


def test_found_by_refuses_a_position_that_is_not_its_own(store: SQLiteStore) -> None:
    [tid] = add(store)
    store.records.save("tweets", [{"id": "a"}, {"id": "b"}], "id", tid)
    page = store.records.found_by("tweets", tid, limit=1)
    assert page.next is not None and page.next.isdigit()
    for bad in ("abc", "-1", "1.5", "9" * 40, ""):
        with pytest.raises(ValueError, match="is not a position in a task's records"):
            store.records.found_by("tweets", tid, after=bad)
    with pytest.raises(ValueError, match="limit must be at least 1"):
        store.records.found_by("tweets", tid, limit=0)
    assert store.list_tasks(TaskQuery(limit=0)) == []
    assert store.list_tasks(TaskQuery(limit=-1)) == []  # not "no limit", as SQLite reads it
