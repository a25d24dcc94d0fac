"""Helpers the steering tests share: tasks put in each state through the real store calls."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roost.core.app import Roost
from roost.core.models import TaskStatus
from roost.core.store import Done, Fail, Release, Transition

W = "worker-steer"


def enqueue(roost: Roost, n: int, type: str = "SEARCH", **payload: Any) -> list[str]:
    """``n`` new PENDING tasks (valid payloads); their ids, oldest first."""
    fields = payload or ({"query": "bitcoin"} if type == "SEARCH" else {"username": "jack"})
    new = [roost.new_task(type, dict(fields)) for _ in range(n)]
    return [t.id for t in roost.store.sync.enqueue_many(new)]


def claim(roost: Roost, ids: Sequence[str]) -> dict[str, str]:
    """Claim every due task; keep ``ids`` RUNNING and give the others back. ``{id: lease}``."""
    store = roost.store.sync
    claimed = store.claim(W, None, 10_000, 600)
    others = [Release(t.id, t.lease_id or "") for t in claimed if t.id not in ids]
    if others:
        store.apply(others)
    leases = {t.id: t.lease_id or "" for t in claimed if t.id in ids}
    assert set(leases) == set(ids), "a task to claim was not due"
    return leases


def end(roost: Roost, ids: Sequence[str], status: TaskStatus, error: str = "boom") -> None:
    """Run ``ids`` to DONE or FAILED (or CANCELLED: cancelled while PENDING)."""
    store = roost.store.sync
    if status == TaskStatus.CANCELLED:
        assert all(store.cancel(i) is not None for i in ids)
        return
    changes: list[Transition] = [
        Done(i, lease, {"count": 0}) if status == TaskStatus.DONE else Fail(i, lease, error)
        for i, lease in claim(roost, ids).items()
    ]
    assert all(store.apply(changes))


def tasks_in(roost: Roost, n: int, status: TaskStatus, type: str = "SEARCH") -> list[str]:
    ids = enqueue(roost, n, type)
    if status == TaskStatus.RUNNING:
        claim(roost, ids)
    elif status != TaskStatus.PENDING:
        end(roost, ids, status)
    return ids


def save_tweets(roost: Roost, task_id: str, ids: Sequence[str]) -> None:
    """Records a task found, saved as a handler's ``ctx.save`` does."""
    records = [{"id": i, "text": f"tweet {i}"} for i in ids]
    roost.store.sync.records.save("tweets", records, "id", task_id)
