"""Helpers the store contract tests share: enqueue a few tasks, read one back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from roost.core.models import NewTask, Task
from roost.core.retry import RetryPolicy
from roost.core.store import Checkpoint, Done, Fail, Release, Retry, TaskStore
from roost.core.worker.maintenance import rescue_now

W = "worker-1"


def add(store: TaskStore, n: int = 1, **kw: Any) -> list[str]:
    """Enqueue ``n`` tasks of type ``T`` (or as ``kw`` says); their ids, in order."""
    kw.setdefault("type", "T")
    kw.setdefault("payload", {"n": 0})
    return [t.id for t in store.enqueue_many([NewTask(**kw) for _ in range(n)])]


def get(store: TaskStore, task_id: str) -> Task:
    """The stored task, which must exist."""
    task = store.get(task_id)
    assert task is not None, f"task {task_id} is not in the store"
    return task


# -- the fenced changes, one call each (the contract is ``store.apply([...])``) ------------
def complete(store: TaskStore, task_id: str, lease_id: str | None, result: Any = None) -> bool:
    return store.apply([Done(task_id, lease_id or "", result)])[0]


def retry(
    store: TaskStore,
    task_id: str,
    lease_id: str | None,
    run_at: datetime,
    error: str | None,
    *,
    charge: bool,
) -> bool:
    return store.apply([Retry(task_id, lease_id or "", run_at, error, charge)])[0]


def fail(store: TaskStore, task_id: str, lease_id: str | None, error: str) -> bool:
    return store.apply([Fail(task_id, lease_id or "", error)])[0]


def release(store: TaskStore, task_id: str, lease_id: str | None, run_at: datetime) -> bool:
    """Given back uncharged, due at ``run_at``."""
    return store.apply([Retry(task_id, lease_id or "", run_at, None, charge=False)])[0]


def checkpoint(store: TaskStore, task_id: str, lease_id: str | None, data: Any) -> bool:
    return store.apply([Checkpoint(task_id, lease_id or "", data)])[0]


def complete_many(store: TaskStore, items: Sequence[tuple[str, Any, Any]]) -> list[bool]:
    return store.apply([Done(t, lid or "", result) for t, lid, result in items])


def release_many(store: TaskStore, items: Sequence[tuple[str, Any]], now: datetime) -> list[bool]:
    return store.apply([Release(t, lid or "") for t, lid in items])


#: a rescuer whose retry policy retries at once (the policy's delay is tested on the worker)
AT_ONCE = RetryPolicy(strategy="fixed", base_delay=0.0, jitter=0.0)


def recover(store: TaskStore, policy: RetryPolicy = AT_ONCE) -> int:
    """Rescue the expired leases as a worker's rescuer does, with ``policy``."""
    return rescue_now(store, lambda task: policy)
