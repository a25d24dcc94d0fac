"""The instruments of one process: counts and histograms fed by the task event hooks.

The hooks run on the event loop for every task (twice at 15,000 tasks/s), so they only
add to plain dicts and lists (no lock, no prometheus-client call): :class:`Metrics` is a
prometheus-client collector that turns them into counter and histogram families at scrape
time, on the same loop. It has its own ``CollectorRegistry`` (nothing goes into the
library's global one, so two Roosts in one test process never share counts).
:class:`Listener` is the plugin object registered into each plugin manager whose events it
counts. Label values are bounded: ``type`` is a registered task type name (anything else
is ``other``), ``outcome`` one of :data:`OUTCOMES`.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from roost.core.hookspecs import hookimpl
from roost.core.lifecycle import LEASE_EXPIRED
from roost.core.models import Task, utcnow

if TYPE_CHECKING:
    from roost.core.worker import Worker

    from .gauges import QueueGauges

log = logging.getLogger("roost.worker")
OUTCOMES = ("done", "retried", "failed", "cancelled", "lost_lease")
OTHER = "other"
RUN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
WAIT_BUCKETS = (*RUN_BUCKETS, 1800, 3600, 7200, 21600, 86400)


class Histogram:
    """Observations counted per bucket (the last one is +Inf), their sum and count."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # the first bound >= value
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        total = 0
        for bound, n in zip((*map(str, self.bounds), "+Inf"), self.counts, strict=True):
            total += n
            out.append((bound, total))
        return out


class Metrics(Collector):
    """Everything ``/metrics`` shows for one process; the queue and worker gauges are
    collectors of their own (:mod:`.gauges`), registered beside it."""

    def __init__(self, types: Collection[str]) -> None:
        self.types = frozenset(types)
        self.enqueued: Counter[str] = Counter()
        self.finished: Counter[tuple[str, str]] = Counter()
        self.run = {name: Histogram(RUN_BUCKETS) for name in (*self.types, OTHER)}
        self.wait = {name: Histogram(WAIT_BUCKETS) for name in (*self.types, OTHER)}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        self.listener = Listener(self)
        self.queue: QueueGauges | None = None  # set by .scope with the Roost's store
        self.worker: Worker | None = None

    def label(self, type_name: str) -> str:
        return type_name if type_name in self.types else OTHER

    def outcomes(self) -> Counter[str]:
        """Runs ended so far, by outcome (the summary line's counts)."""
        out: Counter[str] = Counter()
        for (_, outcome), n in self.finished.items():
            out[outcome] += n
        return out

    def collect(self) -> Iterator[Metric]:
        names = sorted(self.types | {k for k in self.enqueued} | {k for k, _ in self.finished})
        enqueued = CounterMetricFamily(
            "roost_tasks_enqueued", "Tasks stored by this process.", labels=["type"]
        )
        finished = CounterMetricFamily(
            "roost_tasks_finished",
            "Runs ended in this process, by outcome (done, retried, failed, cancelled, "
            "lost_lease); retried and failed include the rescuer's expired leases.",
            labels=["type", "outcome"],
        )
        for name in names:  # every series exists from the start: rate() needs its zero
            enqueued.add_metric([name], self.enqueued[name])
            for outcome in OUTCOMES:
                finished.add_metric([name, outcome], self.finished[name, outcome])
        yield enqueued
        yield finished
        yield self._histogram(
            "roost_task_run_seconds", "How long a run took, claim to outcome.", self.run
        )
        yield self._histogram(
            "roost_task_wait_seconds", "How long a task waited from due to claimed.", self.wait
        )

    @staticmethod
    def _histogram(name: str, doc: str, by_type: dict[str, Histogram]) -> Metric:
        family = HistogramMetricFamily(name, doc, labels=["type"])
        for type_name, hist in sorted(by_type.items()):
            if type_name == OTHER and not hist.sum and not any(hist.counts):
                continue  # "other" appears once something was counted there
            family.add_metric([type_name], hist.cumulative(), hist.sum)
        return family


class Listener:
    """The task event hooks, registered as a plugin object (one per :class:`Metrics`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def _ended(
        self, task: Task, outcome: str, seconds: float | None = None, *, ran: bool = True
    ) -> None:
        m = self.m
        label = task.type if task.type in m.types else OTHER
        m.finished[label, outcome] += 1
        if seconds is None and ran and task.locked_at is not None:  # since its claim
            seconds = (utcnow() - task.locked_at).total_seconds()
        if seconds is not None:  # Histogram.observe, inlined: this runs for every task
            hist = m.run[label]
            seconds = seconds if seconds > 0 else 0.0
            hist.counts[bisect_left(hist.bounds, seconds)] += 1
            hist.sum += seconds

    @hookimpl
    def tasks_enqueued(self, tasks: Sequence[Task]) -> None:
        for task in tasks:
            self.m.enqueued[self.m.label(task.type)] += 1

    @hookimpl
    def task_claimed(self, task: Task, worker_id: str) -> None:
        wait = ((task.locked_at or utcnow()) - task.next_run_at).total_seconds()
        hist = self.m.wait[task.type if task.type in self.m.types else OTHER]
        wait = wait if wait > 0 else 0.0
        hist.counts[bisect_left(hist.bounds, wait)] += 1
        hist.sum += wait

    @hookimpl
    def task_succeeded(self, task: Task, result: dict[str, Any] | None, seconds: float) -> None:
        self._ended(task, "done", seconds)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("task done id=%s type=%s in=%.3fs", task.id, task.type, seconds)

    # the rescuer's outcome of an expired lease (``LEASE_EXPIRED``) ends no run that took
    # that long (its worker stopped): no run-time sample
    @hookimpl
    def task_retried(self, task: Task, error: str, delay: float) -> None:
        self._ended(task, "retried", ran=error != LEASE_EXPIRED)

    @hookimpl
    def task_failed(self, task: Task, error: str) -> None:
        self._ended(task, "failed", ran=error != LEASE_EXPIRED)

    @hookimpl
    def task_cancelled(self, task: Task) -> None:
        self._ended(task, "cancelled")

    @hookimpl
    def task_lease_lost(self, task: Task) -> None:
        self._ended(task, "lost_lease")
