"""The ``RecordStore`` contract (``store.records``), on every engine: plugin output saved by
key, remembering every task that found it, apart from the task queue."""

from __future__ import annotations

from roost.core.store import TaskStore


def test_records_upsert_by_key_and_remember_every_task(store: TaskStore) -> None:
    store.records.save("tweets", [{"id": "1", "text": "a"}, {"id": "2", "text": "b"}], "id", "t1")
    store.records.save("tweets", [{"id": "2", "text": "b2"}], "id", "t2")
    everything = {r["id"]: r for r in store.records.find("tweets")}
    assert set(everything) == {"1", "2"}
    assert everything["2"]["text"] == "b2" and sorted(everything["2"]["taskIds"]) == ["t1", "t2"]
    assert [r["id"] for r in store.records.find("tweets", task_id="t2")] == ["2"]
    assert store.records.find("other") == [] and store.records.find("tweets", task_id="t3") == []


def test_save_records_says_how_many_it_wrote(store: TaskStore) -> None:
    assert store.records.save("tweets", [{"id": str(i)} for i in range(3)], "id", "t1") == 3
    # two more, one of them already known: both are written (one inserted, one updated)
    assert store.records.save("tweets", [{"id": "2"}, {"id": "3"}], "id", "t2") == 2
    assert store.records.save("tweets", [], "id", "t3") == 0
    assert len(store.records.find("tweets")) == 4


def test_find_records_comes_in_key_order_up_to_the_limit(store: TaskStore) -> None:
    keys = ["d", "b", "e", "a", "c"]
    store.records.save("tweets", [{"id": k} for k in keys], "id", "t1")
    store.records.save("tweets", [{"id": k} for k in ("e", "c", "a")], "id", "t2")
    assert [r["id"] for r in store.records.find("tweets")] == ["a", "b", "c", "d", "e"]
    assert [r["id"] for r in store.records.find("tweets", limit=3)] == ["a", "b", "c"]
    assert [r["id"] for r in store.records.find("tweets", task_id="t2", limit=2)] == ["a", "c"]
    assert [r["id"] for r in store.records.find("tweets", limit=1)] == ["a"]
