"""The worker's summary log line: what it did since the last one, every
``metrics.summary_interval`` seconds while it works (an idle worker writes nothing)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from roost.core.worker import Worker

from .instruments import OUTCOMES, Metrics

log = logging.getLogger("roost.worker")


async def summarize(metrics: Metrics, worker: Worker, interval: float) -> None:
    """Until cancelled: one INFO line per ``interval`` in which a run ended or one runs."""
    last, since = metrics.outcomes(), time.monotonic()
    while True:
        await asyncio.sleep(interval)
        now = time.monotonic()
        delta = metrics.outcomes()
        delta.subtract(last)
        ended = sum(delta.values())
        if ended or worker.inflight:
            log.info(line(metrics, worker, delta, now - since, await _oldest(metrics)))
        last, since = metrics.outcomes(), now


def line(
    metrics: Metrics, worker: Worker, delta: Counter[str], seconds: float, oldest: float | None
) -> str:
    counts = " ".join(f"{outcome}={delta[outcome]}" for outcome in OUTCOMES)
    rate = sum(delta.values()) / seconds if seconds > 0 else 0.0
    waited = "unknown" if oldest is None else f"{oldest:.0f}s"
    return (
        f"worker summary id={worker.id} last={seconds:.0f}s {counts} rate={rate:.1f}/s "
        f"inflight={len(worker.inflight)}/{worker.max_concurrent} oldest_pending={waited}"
    )


async def _oldest(metrics: Metrics) -> float | None:
    """The oldest due PENDING task's wait, from the queue gauges' (cached) read."""
    queue = metrics.queue
    if queue is None:
        return None
    await queue.refresh()
    if not queue.up or queue.read_at is None:
        return None
    return max(queue.oldest_pending().values(), default=0.0)
