"""The instruments of one process: counters and histograms fed by the task event hooks.

A :class:`Metrics` has its own ``CollectorRegistry`` (nothing is registered in
prometheus-client's global one, so two Roosts in one test process never share counts).
:class:`Listener` is the plugin object registered into each plugin manager whose events it
counts. Label values are bounded: ``type`` is a registered task type name (anything else
is ``other``), ``outcome`` one of :data:`OUTCOMES`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from roost.core.hookspecs import hookimpl
from roost.core.models import Task, utcnow

if TYPE_CHECKING:
    from roost.core.worker import Worker

    from .gauges import QueueGauges

log = logging.getLogger("roost.worker")
OUTCOMES = ("done", "retried", "failed", "cancelled", "lost_lease")
OTHER = "other"
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAIT_BUCKETS = (*RUN_BUCKETS, 1800, 3600, 7200, 21600, 86400)


class Metrics:
    """Everything ``/metrics`` shows for one process, and the plain tallies its summary log
    line reads (cheaper than reading the counters back)."""

    def __init__(self, types: Collection[str]) -> None:
        self.types = frozenset(types)
        self.registry = CollectorRegistry(auto_describe=False)
        self.enqueued = Counter(
            "roost_tasks_enqueued_total",
            "Tasks stored by this process.",
            ["type"],
            registry=self.registry,
        )
        self.finished = Counter(
            "roost_tasks_finished_total",
            "Runs ended in this process, by outcome (done, retried, failed, cancelled, "
            "lost_lease); retried and failed include the rescuer's expired leases.",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.run_seconds = Histogram(
            "roost_task_run_seconds",
            "How long a run took, claim to outcome.",
            ["type"],
            buckets=RUN_BUCKETS,
            registry=self.registry,
        )
        self.wait_seconds = Histogram(
            "roost_task_wait_seconds",
            "How long a task waited from due to claimed.",
            ["type"],
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        for name in self.types:  # every series exists from the start: rate() needs a zero
            self.enqueued.labels(name)
            for outcome in OUTCOMES:
                self.finished.labels(name, outcome)
        self.tally: Tally[str] = Tally()
        self.listener = Listener(self)
        self.queue: QueueGauges | None = None  # set by .scope with the Roost's store
        self.worker: Worker | None = None

    def label(self, type_name: str) -> str:
        return type_name if type_name in self.types else OTHER


class Listener:
    """The task event hooks, registered as a plugin object (one per :class:`Metrics`).

    On the event loop, per task: a few dict look-ups and lock-free-ish increments. The
    labelled children are cached per type (``labels()`` costs a lock and a tuple each)."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics
        self._claimed: dict[str, float] = {}  # task id -> monotonic claim time (this process)
        self._children: dict[tuple[str, str], Any] = {}

    def _child(self, kind: str, type_name: str) -> Any:
        key = (kind, type_name)
        child = self._children.get(key)
        if child is None:
            label = self.m.label(type_name)
            if kind in OUTCOMES:
                child = self.m.finished.labels(label, kind)
            else:
                child = getattr(self.m, kind).labels(label)
            self._children[key] = child
        return child

    def _ended(self, task: Task, outcome: str, seconds: float | None = None) -> None:
        self._child(outcome, task.type).inc()
        self.m.tally[outcome] += 1
        started = self._claimed.pop(task.id, None)
        if seconds is None and started is not None:
            seconds = time.monotonic() - started
        if seconds is not None:
            self._child("run_seconds", task.type).observe(seconds)

    @hookimpl
    def tasks_enqueued(self, tasks: Sequence[Task]) -> None:
        for type_name, count in Tally(t.type for t in tasks).items():
            self._child("enqueued", type_name).inc(count)

    @hookimpl
    def task_claimed(self, task: Task, worker_id: str) -> None:
        self._claimed[task.id] = time.monotonic()
        claimed = task.locked_at or utcnow()
        wait = (claimed - task.next_run_at).total_seconds()
        self._child("wait_seconds", task.type).observe(max(wait, 0.0))

    @hookimpl
    def task_succeeded(self, task: Task, result: dict[str, Any] | None, seconds: float) -> None:
        self._ended(task, "done", seconds)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("task done id=%s type=%s in=%.3fs", task.id, task.type, seconds)

    @hookimpl
    def task_retried(self, task: Task, error: str, delay: float) -> None:
        self._ended(task, "retried")

    @hookimpl
    def task_failed(self, task: Task, error: str) -> None:
        self._ended(task, "failed")

    @hookimpl
    def task_cancelled(self, task: Task) -> None:
        self._ended(task, "cancelled")

    @hookimpl
    def task_lease_lost(self, task: Task) -> None:
        self._ended(task, "lost_lease")
