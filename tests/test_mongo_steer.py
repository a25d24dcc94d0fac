"""The Mongo engine's side of "see and steer every task", on mongomock and over the wire:
the error history and requested cancels carried out by real update documents (the bulk
path of ``apply`` included), the operator's calls, the worker registry, the records a task
found, its indexes over an old collection, and the query plans (a real mongod only)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId
from mongo_wire import with_database
from pymongo import MongoClient, monitoring
from roost.core.models import (
    ERRORS_KEPT,
    NewTask,
    TaskQuery,
    TaskStatus,
    WorkerInfo,
    new_id,
    utcnow,
)
from roost.core.store import Done, Fail, Release, Retry, TaskStore
from roost.core.store.transitions import Cancel
from roost.core.stores.mongo import MongoStore
from roost.core.stores.mongo.indexes import INDEXES
from storekit import W, add, get

S = TaskStatus


@pytest.fixture(params=["mongomock", "wire"])
def engine(request: pytest.FixtureRequest) -> str:
    """This file runs on the Mongo lanes only (the shared contract suite covers SQLite)."""
    return str(request.param)


def mongo(store: TaskStore) -> MongoStore:
    assert isinstance(store, MongoStore)
    return store


def claim_all(store: TaskStore, n: int = 10) -> dict[str, str]:
    """Claim what is due; ``{task_id: lease_id}``."""
    return {t.id: t.lease_id or "" for t in store.claim(W, None, n, 30)}


def test_history_keeps_the_last_errors_with_the_attempt_each_ended(store: TaskStore) -> None:
    [tid] = add(store, max_attempts=100)
    for n in range(1, 8):
        lease = claim_all(store)[tid]
        assert store.apply([Retry(tid, lease, utcnow(), f"boom {n}")]) == [True]
    lease = claim_all(store)[tid]
    assert store.apply([Fail(tid, lease, "final")]) == [True]
    task = get(store, tid)
    assert task.status is S.FAILED and task.last_error == "final"
    assert [(e.attempt, e.error) for e in task.errors] == [
        (4, "boom 4"), (5, "boom 5"), (6, "boom 6"), (7, "boom 7"), (8, "final")
    ]
    assert len(task.errors) == ERRORS_KEPT and task.finished_at is not None
    assert task.to_json()["errors"][-1]["attempt"] == 8


def test_an_error_with_dollars_is_stored_as_text(store: TaskStore) -> None:
    """Errors are data: a message that looks like a field path or operator is kept as is."""
    [tid] = add(store)
    lease = claim_all(store)[tid]
    assert store.apply([Retry(tid, lease, utcnow(), "$attempts {'$inc': 1}")]) == [True]
    assert [e.error for e in get(store, tid).errors] == ["$attempts {'$inc': 1}"]


def test_a_history_that_is_not_an_array_starts_anew(store: TaskStore) -> None:
    """A document written by hand or another tool with ``errors`` of another type: $push
    would refuse the write (and the worker's Fail would never land); it starts a new one."""
    [tid] = add(store)
    lease = claim_all(store)[tid]
    mongo(store).tasks.update_one({"_id": ObjectId(tid)}, {"$set": {"errors": "garbled"}})
    assert get(store, tid).errors == []
    assert store.apply([Fail(tid, lease, "no")]) == [True]
    assert [(e.attempt, e.error) for e in get(store, tid).errors] == [(1, "no")]


def test_an_uncharged_retry_records_the_attempt_it_ended(store: TaskStore) -> None:
    [tid] = add(store)
    lease = claim_all(store)[tid]
    assert store.apply([Retry(tid, lease, utcnow(), "rate limited", charge=False)]) == [True]
    task = get(store, tid)
    assert task.attempts == 0 and [(e.attempt, e.error) for e in task.errors] == [(1, "rate limited")]


def test_one_apply_mixes_cancels_requeues_and_completions(store: TaskStore) -> None:
    """The bulk path: a requested cancel wins over Retry and Release, Done clears the flag,
    a stale lease is refused, and the answer says which were applied, in order."""
    ids = add(store, 5, max_attempts=5)
    leases = claim_all(store)
    for tid in ids[:3]:
        assert store.cancel(tid) is not None
    changes = [
        Retry(ids[0], leases[ids[0]], utcnow(), "boom"),
        Release(ids[1], leases[ids[1]]),
        Done(ids[2], leases[ids[2]], {"n": 1}),
        Retry(ids[3], leases[ids[3]], utcnow(), "boom"),
        Done(ids[4], "not-the-lease"),
    ]
    assert store.apply(changes) == [True, True, True, True, False]
    first, second, third, fourth, fifth = (get(store, t) for t in ids)
    assert first.status is S.CANCELLED and first.finished_at is not None
    assert [e.error for e in first.errors] == ["boom"] and not first.cancel_requested
    assert second.status is S.CANCELLED and second.attempts == 0 and second.errors == []
    assert third.status is S.DONE and not third.cancel_requested and third.result == {"n": 1}
    assert fourth.status is S.PENDING and fourth.finished_at is None
    assert fifth.status is S.RUNNING
    assert store.stats().cancelled == 2 and store.stats().total == 5


def test_a_cancel_requested_task_is_cancelled_by_its_worker(store: TaskStore) -> None:
    [tid, other] = add(store, 2)
    leases = claim_all(store)
    cancelling = store.cancel(tid)
    assert cancelling is not None and cancelling.status is S.RUNNING and cancelling.cancel_requested
    assert store.cancel(tid) is not None  # asked again: returned again
    assert store.cancel_requested([tid, other, new_id()]) == {tid}
    assert store.apply([Cancel(tid, "stale")]) == [False]
    assert store.apply([Cancel(tid, leases[tid])]) == [True]
    task = get(store, tid)
    assert task.status is S.CANCELLED and task.finished_at is not None and task.errors == []
    assert store.cancel_requested([tid]) == set() and store.cancel(tid) is None


def test_cancel_of_a_pending_task_frees_its_dedupe_key(store: TaskStore) -> None:
    [first] = store.enqueue_many([NewTask("T", {}, dedupe_key="k")])
    cancelled = store.cancel(first.id)
    assert cancelled is not None and cancelled.status is S.CANCELLED
    assert cancelled.finished_at is not None and cancelled.dedupe_key is None
    again = store.enqueue(NewTask("T", {}, dedupe_key="k"))
    assert again.id != first.id and store.cancel(new_id()) is None


def test_list_tasks_pages_newest_first_under_concurrent_inserts(store: TaskStore) -> None:
    ids = add(store, 5) + add(store, 2, type="U")
    leases = claim_all(store, 2)  # the two oldest of T
    for tid, lease in leases.items():
        store.apply([Fail(tid, lease, "x")])
    page = store.list_tasks(TaskQuery(limit=3))
    assert [t.id for t in page] == ids[::-1][:3]
    add(store, 3)  # newer tasks do not shift the next page
    rest = store.list_tasks(TaskQuery(limit=10, before=page[-1].id))
    assert [t.id for t in rest] == ids[::-1][3:]
    failed = store.list_tasks(TaskQuery(statuses=frozenset({S.FAILED})))
    assert [t.id for t in failed] == ids[:2][::-1]
    typed = store.list_tasks(TaskQuery(statuses=frozenset({S.PENDING}), type="U"))
    assert [t.id for t in typed] == ids[5:][::-1]
    assert store.list_tasks(TaskQuery(limit=0)) == []


def test_retry_and_redrive_reset_attempts_and_keep_the_history(store: TaskStore) -> None:
    ids = add(store, 4, max_attempts=1)
    for tid, lease in claim_all(store).items():
        store.apply([Fail(tid, lease, "nope")])
    again = store.retry(ids[0])
    assert again is not None and again.status is S.PENDING and again.attempts == 0
    assert again.finished_at is None and again.locked_by is None and again.lease_id is None
    assert [e.error for e in again.errors] == ["nope"] and again.last_error == "nope"
    assert store.retry(ids[0]) is None  # PENDING now: nothing to retry
    assert store.redrive([S.FAILED], None, 2) == 2
    assert [get(store, t).status for t in ids] == [S.PENDING] * 3 + [S.FAILED]
    assert store.redrive([S.FAILED], "U", 10) == 0
    assert store.redrive([S.PENDING, S.RUNNING], None, 10) == 0  # only FAILED/CANCELLED
    assert store.redrive([S.FAILED, S.CANCELLED], None, 10) == 1


def test_purge_deletes_old_finished_tasks_only_and_keeps_records(store: TaskStore) -> None:
    ids = add(store, 4, max_attempts=1)
    leases = claim_all(store, 3)
    store.apply([Done(ids[0], leases[ids[0]]), Fail(ids[1], leases[ids[1]], "x")])
    store.records.save("tweets", [{"id": "1"}], "id", ids[0])
    every = [S.PENDING, S.RUNNING, S.DONE, S.FAILED, S.CANCELLED]
    assert store.purge(every, utcnow() - timedelta(hours=1), None, 10) == 0  # too recent
    later = utcnow() + timedelta(seconds=1)
    assert store.purge(every, later, "U", 10) == 0
    assert store.purge(every, later, None, 1) == 1  # the oldest finished first
    assert store.purge(every, later, None, 10) == 1
    assert store.get(ids[0]) is None and store.get(ids[1]) is None
    assert [get(store, t).status for t in ids[2:]] == [S.RUNNING, S.PENDING]
    assert [r["id"] for r in store.records.find("tweets")] == ["1"]


def test_the_registry_lists_live_workers_and_forgets_dead_ones(store: TaskStore) -> None:
    now = utcnow()

    def info(wid: str, started: int, seen: timedelta, **kw: Any) -> WorkerInfo:
        last = now - seen
        fields: dict[str, Any] = {"host": "host", "pid": 1, "running": True, "inflight": 2,
                                  "max_concurrent": 10, "types": None, **kw}
        return WorkerInfo(worker_id=wid, started_at=now - timedelta(seconds=started),
                          last_seen_at=last, expires_at=last + timedelta(seconds=30), **fields)

    store.beat_worker(info("b", 5, timedelta(0)))
    store.beat_worker(info("a", 9, timedelta(0)))
    store.beat_worker(info("dead", 1, timedelta(minutes=5)))
    store.beat_worker(info("long-dead", 1, timedelta(hours=3)))
    assert [w.worker_id for w in store.list_workers(now)] == ["a", "b"]
    store.beat_worker(info("b", 5, timedelta(0), host="h2", pid=7, running=False,
                           max_concurrent=4, types=["SEARCH"]))
    b = store.list_workers(now)[1]
    assert (b.host, b.pid, b.running, b.max_concurrent, b.types) == ("h2", 7, False, 4, ["SEARCH"])
    store.remove_worker("a")
    store.remove_worker("unknown")
    assert [w.worker_id for w in store.list_workers(now)] == ["b"]
    ids = {d["_id"] for d in mongo(store).workers.find()}
    assert ids == {"b", "dead"}  # expired over an hour ago: deleted on the way


def test_found_by_pages_each_task_in_the_order_it_found(store: TaskStore) -> None:
    records = store.records
    records.save("tweets", [{"id": k} for k in ("c", "a", "b")], "id", "t1")
    records.save("tweets", [{"id": k, "v": 2} for k in ("z", "a")], "id", "t2")
    records.save("tweets", [{"id": k} for k in ("d", "c")], "id", "t1")  # c: found before
    first = records.found_by("tweets", "t1", limit=3)
    assert [r["id"] for r in first.records] == ["c", "a", "b"] and first.next is not None
    rest = records.found_by("tweets", "t1", limit=3, after=first.next)
    assert [r["id"] for r in rest.records] == ["d"] and rest.next is None
    t2 = records.found_by("tweets", "t2")
    assert [r["id"] for r in t2.records] == ["z", "a"] and t2.next is None
    assert sorted(t2.records[1]["taskIds"]) == ["t1", "t2"] and t2.records[1]["v"] == 2
    assert records.found_by("tweets", "t3").records == []
    with pytest.raises(ValueError, match="not a position"):
        records.found_by("tweets", "t1", after="nope")


def _index_keys(store: MongoStore) -> dict[str, tuple[tuple[str, int], ...]]:
    return {
        ix["name"]: tuple((k, int(v)) for k, v in ix["key"].items())
        for ix in store.tasks.list_indexes()
    }


def test_setup_adds_the_new_indexes_to_an_old_collection_once(
    open_store: Callable[[], TaskStore],
) -> None:
    """A collection of the release before (its three indexes, its tasks, and an index made
    by hand on the keys of a new one): setup adds what is missing, twice changes nothing."""
    first = mongo(open_store())
    for name in ("status_newest", "status_type_newest", "finished"):
        first.tasks.drop_index(name)
    first.tasks.create_index([("status", 1), ("finishedAt", 1)], name="by_hand")
    [tid] = add(first)
    again = mongo(open_store())  # setup() runs as it opens
    again.setup()
    names = _index_keys(again)
    assert set(names) == {"_id_", "by_hand"} | {opts["name"] for _, opts in INDEXES} - {"finished"}
    assert len(set(names.values())) == len(names)  # no key pattern twice
    assert get(again, tid).status is S.PENDING


def _plan_stages(plan: dict[str, Any]) -> list[dict[str, Any]]:
    out, todo = [], [plan]
    while todo:
        stage = todo.pop()
        out.append(stage)
        todo += [stage["inputStage"]] if "inputStage" in stage else []
        todo += stage.get("inputStages", [])
    return out


class _Commands(monitoring.CommandListener):
    """The commands a client sends, as sent."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...

    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


def test_list_by_status_and_purge_read_through_an_index(mongo_wire_url: str) -> None:
    """The plans of the very commands the engine sends for ``list_tasks(statuses={FAILED})``
    (with and without a type) and for a purge, explained by the server: on a real mongod
    (``queryPlanner``) an index scan of the index meant, never a COLLSCAN. mongomock has no
    explain, and mongoeco's is its own emulation (a Python or SQLite scan of the emulated
    collection whatever the indexes): there this test is skipped, saying so."""
    commands = _Commands()
    url = with_database(mongo_wire_url, f"roost_plans_{uuid.uuid4().hex}")
    client: MongoClient[dict[str, Any]] = MongoClient(url, tz_aware=True, event_listeners=[commands])
    try:
        store = MongoStore(url, client=client)
        store.setup()
        if "queryPlanner" not in store.tasks.find({"status": "FAILED"}).explain():
            pytest.skip("query plans need a real mongod: mongod on PATH or ROOST_TEST_MONGO_URL")
        add(store, 20)
        leases = claim_all(store, 5)
        store.apply([Fail(t, lease, "x") for t, lease in leases.items()])
        expected = []
        for query, index in [
            (TaskQuery(statuses=frozenset({S.FAILED})), "status_newest"),
            (TaskQuery(statuses=frozenset({S.FAILED}), type="T"), "status_type_newest"),
        ]:
            commands.sent.clear()
            assert len(store.list_tasks(query)) == 5
            expected += [(c, index) for c in commands.sent if "find" in c]
        commands.sent.clear()
        assert store.purge([S.DONE, S.FAILED], utcnow() + timedelta(seconds=1), None, 2) == 2
        expected += [(c, "finished") for c in commands.sent if "find" in c]
        expected += [(c, "_id_") for c in commands.sent if "delete" in c]
        assert len(expected) == 4
        for command, index in expected:
            sent = {k: v for k, v in command.items() if not k.startswith("$") and k != "lsid"}
            plan = store.db.command("explain", sent, verbosity="queryPlanner")
            stages = _plan_stages(plan["queryPlanner"]["winningPlan"])
            kinds = {s["stage"] for s in stages}
            assert "COLLSCAN" not in kinds, (sent, stages)
            if index != "_id_":  # a delete by ids may take the _id fast path (EXPRESS/IDHACK)
                assert {s.get("indexName") for s in stages if s["stage"] == "IXSCAN"} == {index}
    finally:
        client.drop_database(url.rsplit("/", 1)[1].split("?")[0])
        client.close()
