"""``TaskStore.type_counts`` on every engine: tasks per type and status in one read, and
the oldest due PENDING task's time (what the metrics' queue gauges and the worker summary
show). Each test runs on every lane of the ``engine`` fixture."""

from __future__ import annotations

from datetime import timedelta

from roost.core.models import TaskStatus, utcnow
from roost.core.store import Done, Fail, TaskStore
from storekit import W, add


def counts(store: TaskStore) -> dict[tuple[str, str], int]:
    return {(c.type, c.status.value): c.count for c in store.type_counts()}


def test_an_empty_store_counts_nothing(store: TaskStore) -> None:
    assert store.type_counts() == []


def test_counts_are_per_type_and_status_and_add_up_to_stats(store: TaskStore) -> None:
    add(store, 3, type="A")
    add(store, 2, type="B")
    a_first = store.claim(W, ["A"], 2, 60)
    b_first = store.claim(W, ["B"], 1, 60)
    store.apply([Done(a_first[0].id, a_first[0].lease_id or "", None)])
    store.apply([Fail(b_first[0].id, b_first[0].lease_id or "", "boom")])
    assert counts(store) == {
        ("A", "PENDING"): 1,
        ("A", "RUNNING"): 1,
        ("A", "DONE"): 1,
        ("B", "PENDING"): 1,
        ("B", "FAILED"): 1,
    }
    stats = store.stats()
    by_status: dict[str, int] = {}
    for (_, status), n in counts(store).items():
        by_status[status] = by_status.get(status, 0) + n
    for status in TaskStatus:
        assert by_status.get(status.value, 0) == getattr(stats, status.value.lower())


def test_the_oldest_due_is_the_earliest_pending_run_time(store: TaskStore) -> None:
    now = utcnow()
    early, late = now - timedelta(minutes=5), now + timedelta(hours=1)
    add(store, 1, type="A", run_at=late)
    add(store, 1, type="A", run_at=early)
    add(store, 1, type="B", run_at=early, priority=5)
    store.claim(W, ["B"], 1, 60)  # B's only task runs: it has no PENDING one
    found = {(c.type, c.status): c for c in store.type_counts()}
    pending_a = found[("A", TaskStatus.PENDING)]
    assert pending_a.count == 2
    assert pending_a.oldest_due is not None
    assert abs((pending_a.oldest_due - early).total_seconds()) < 0.002
    assert found[("B", TaskStatus.RUNNING)].oldest_due is None
    assert ("B", TaskStatus.PENDING) not in found
