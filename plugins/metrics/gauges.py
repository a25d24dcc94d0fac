"""Gauges read at scrape time: the queue (from the store, cached), the worker and its runtime.

prometheus-client calls a collector's ``collect()`` synchronously, so the store is never
read there: :meth:`QueueGauges.refresh` reads it first (in the store's threads, at most
every ``queue_cache_seconds``, one read at a time however many scrapes come), and
``collect()`` yields what the last read found.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from roost.core.errors import StoreCorrupt, StoreUnavailable
from roost.core.models import TaskStatus, utcnow
from roost.core.store import AsyncStore
from roost.core.store.counts import CachedCounts, TypeCount

from .instruments import OTHER

if TYPE_CHECKING:
    from roost.core.worker import Worker

log = logging.getLogger("roost.metrics")


class QueueGauges(Collector):
    """``roost_queue_tasks{type,status}``, ``roost_queue_oldest_pending_seconds{type}`` and
    ``roost_store_up``, from one cached :meth:`~roost.core.store.AsyncStore.type_counts`."""

    def __init__(self, store: AsyncStore, types: frozenset[str], cache_seconds: float) -> None:
        self.types = types
        self.cache = CachedCounts(store, cache_seconds)
        self.up = True

    @property
    def counts(self) -> list[TypeCount]:
        return self.cache.counts  # the last good read's

    @property
    def read_at(self) -> float | None:
        return self.cache.read_at

    async def refresh(self) -> None:
        """Read the store unless the last read is recent; a store that is away keeps the
        last counts and sets ``roost_store_up`` to 0 (a scrape never fails for it)."""
        try:
            await self.cache.read()
        except (StoreUnavailable, StoreCorrupt) as exc:
            if self.up:
                log.warning("metrics: the queue counts cannot be read: %s", exc)
            self.up = False
            return
        self.up = True

    def oldest_pending(self) -> dict[str, float]:
        """Seconds the oldest due PENDING task of each type has waited (0: none due)."""
        now = utcnow()
        ages = dict.fromkeys(self.types, 0.0)
        for c in self.counts:
            if c.status is TaskStatus.PENDING and c.oldest_due is not None:
                name = c.type if c.type in self.types else OTHER
                ages[name] = max(ages.get(name, 0.0), (now - c.oldest_due).total_seconds())
        return ages

    def collect(self) -> Iterator[GaugeMetricFamily]:
        tasks = GaugeMetricFamily(
            "roost_queue_tasks",
            f"Tasks in the store by type and status (read at most every {self.cache.seconds:g} s).",
            labels=["type", "status"],
        )
        found = {(name, status.value): 0 for name in self.types for status in TaskStatus}
        for c in self.counts:  # a type no plugin here registers is "other": few series
            key = (c.type if c.type in self.types else OTHER, c.status.value)
            found[key] = found.get(key, 0) + c.count
        for (type_name, status), count in sorted(found.items()):
            tasks.add_metric([type_name, status], count)
        yield tasks
        oldest = GaugeMetricFamily(
            "roost_queue_oldest_pending_seconds",
            "How long the oldest due PENDING task of each type has waited.",
            labels=["type"],
        )
        for type_name, age in sorted(self.oldest_pending().items()):
            oldest.add_metric([type_name], max(age, 0.0))
        yield oldest
        yield GaugeMetricFamily(
            "roost_store_up", "1 if the last read of the store worked.", value=int(self.up)
        )


class WorkerGauges(Collector):
    """``roost_worker_inflight``, ``roost_worker_slots``, ``roost_worker_running`` of the
    process's worker, and ``roost_runtime_slots{state}`` when its runtime has session slots
    (the Playwright runtime's ``slots.report()``)."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker

    def collect(self) -> Iterator[GaugeMetricFamily]:
        w = self.worker
        yield GaugeMetricFamily(
            "roost_worker_inflight", "Tasks running now.", value=len(w.inflight)
        )
        yield GaugeMetricFamily(
            "roost_worker_slots", "How many tasks the worker runs at once.", value=w.max_concurrent
        )
        yield GaugeMetricFamily(
            "roost_worker_running", "1 while the worker claims tasks.", value=int(w.is_running)
        )
        report = runtime_slots(w.roost.started_runtime)
        if report is not None:
            slots = GaugeMetricFamily(
                "roost_runtime_slots", "The runtime's session slots by state.", labels=["state"]
            )
            by_state: dict[str, int] = dict.fromkeys(("free", "busy", "cooling", "retired"), 0)
            for slot in report:
                state = str(slot.get("state", "unknown"))
                by_state[state] = by_state.get(state, 0) + 1
            for state, count in sorted(by_state.items()):
                slots.add_metric([state], count)
            yield slots


def runtime_slots(runtime: Any) -> list[dict[str, Any]] | None:
    """The runtime's ``slots.report()`` when it has one (never starts a runtime)."""
    report = getattr(getattr(runtime, "slots", None), "report", None)
    if not callable(report):
        return None
    try:
        out = report()
    except Exception:  # a status read must not break a scrape
        log.exception("metrics: runtime slots report failed")
        return None
    return out if isinstance(out, list) else None
