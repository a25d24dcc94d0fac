"""The bench plugin: a NOOP task type, roost settings for a bench run, and an event recorder.

Loaded like any third-party plugin (``plugins.modules = ["bench.noop"]``), so the drain
figures measure the queue and the worker, not a handler.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from roost.core.hookspecs import hookimpl
from roost.core.models import Task
from roost.core.settings import Settings, load_settings
from roost.core.tasktypes import TaskContext, TaskType

NOOP = "NOOP"


class NoopPayload(BaseModel):
    i: int = 0


async def noop(ctx: TaskContext, payload: NoopPayload) -> None:
    return None


@hookimpl
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(TaskType(name=NOOP, payload=NoopPayload, handler=noop,
                      description="does nothing (benchmarks)"))


def settings(db: Path | str, **overrides: Any) -> Settings:
    """Settings for a bench roost on ``db`` (a path, or a full store URL)."""
    url = str(db) if "://" in str(db) else f"sqlite:///{Path(db).resolve()}"
    overrides.setdefault("store", {"url": url})
    overrides.setdefault("plugins", {"entry_points": False, "modules": ["bench.noop"]})
    overrides.setdefault("runtime", {"name": "mock", "mock": {"latency_ms": 0}})
    return load_settings(None, **overrides)


class Recorder:
    """A plugin object that timestamps task events (``perf_counter`` and wall clock)."""

    def __init__(self, on_succeeded: Callable[[int], None] | None = None) -> None:
        self.claimed: dict[str, float] = {}
        self.claim_lag: list[float] = []  # seconds from next_run_at to the claim (wall clock)
        self.run_seconds: list[float] = []
        self.succeeded = 0
        self.retried = 0
        self.failed = 0
        self._on_succeeded = on_succeeded

    @hookimpl
    def task_claimed(self, task: Task, worker_id: str) -> None:
        self.claimed[task.id] = time.perf_counter()
        self.claim_lag.append(time.time() - task.next_run_at.timestamp())

    @hookimpl
    def task_succeeded(self, task: Task, result: Any, seconds: float) -> None:
        self.succeeded += 1
        self.run_seconds.append(seconds)
        if self._on_succeeded is not None:
            self._on_succeeded(self.succeeded)

    @hookimpl
    def task_retried(self, task: Task, error: str, delay: float) -> None:
        self.retried += 1

    @hookimpl
    def task_failed(self, task: Task, error: str) -> None:
        self.failed += 1
