"""Helpers the store contract tests share: enqueue a few tasks, read one back."""

from __future__ import annotations

from typing import Any

from roost.core.models import NewTask, Task
from roost.core.store import TaskStore

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
