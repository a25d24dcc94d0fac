"""Which :class:`~.instruments.Metrics` a Roost's events go to: one per process scope.

The event hooks receive a task, not the Roost that fired them, so the counting object is
registered as a plugin into each plugin manager it listens to. ``roost serve`` has two
Roosts (the API's and its worker's, each with its own manager): both are given the same
Metrics, so ``GET /metrics`` shows the worker's runs too. The map is weak: a Roost that is
gone takes its Metrics with it (tests making many Roosts never share counts).
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import pluggy
from prometheus_client import generate_latest

from .gauges import QueueGauges, WorkerGauges
from .instruments import Metrics
from .settings import metrics_settings

if TYPE_CHECKING:
    from roost.core.app import Roost
    from roost.core.worker import Worker

_BY_PM: weakref.WeakKeyDictionary[pluggy.PluginManager, Metrics] = weakref.WeakKeyDictionary()


def metrics_for(roost: Roost) -> Metrics:
    """The Metrics ``roost``'s events go to (made, with its queue gauges, on first use)."""
    metrics = _BY_PM.get(roost.pm)
    if metrics is None:
        metrics = Metrics(roost.registry.task_types)
        cfg = metrics_settings(roost.settings)
        metrics.queue = QueueGauges(roost.store, metrics.types, cfg.queue_cache_seconds)
        metrics.registry.register(metrics.queue)
        _listen(roost, metrics)
    return metrics


def share(metrics: Metrics, roost: Roost) -> None:
    """Count ``roost``'s events in ``metrics`` too (``roost serve``'s worker Roost)."""
    if _BY_PM.get(roost.pm) is None:
        _listen(roost, metrics)


def watch_worker(metrics: Metrics, worker: Worker) -> None:
    """Add ``worker``'s gauges (once) and count its events."""
    share(metrics, worker.roost)
    if metrics.worker is None:
        metrics.worker = worker
        metrics.registry.register(WorkerGauges(worker))


async def exposition(metrics: Metrics) -> bytes:
    """The text format for one scrape: the queue read first (cached), then every family."""
    if metrics.queue is not None:
        await metrics.queue.refresh()
    return generate_latest(metrics.registry)


def _listen(roost: Roost, metrics: Metrics) -> None:
    _BY_PM[roost.pm] = metrics
    roost.pm.register(metrics.listener)
