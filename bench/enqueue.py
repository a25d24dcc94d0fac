"""Enqueue through the Python API: one at a time and in bulk; roost vs Huey's enqueue.

roost one at a time: ``await roost.enqueue("NOOP", payload)`` in a loop (validation, one
transaction each). Bulk: ``roost.enqueue_many`` of ``new_task`` objects, 1,000 a call, one
transaction a call. Huey: calling the task (``task(i)``), its only enqueue API. Both sides
on a fresh file in the same folder, after a separate warm-up of the same loop.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from roost.core.app import Roost

from . import huey_peer
from .common import Config, Row, median
from .noop import NOOP, settings

BULK_CHUNK = 1_000
WARMUP = 300


async def _roost_side(cfg: Config, db: Path) -> tuple[float, float, float, float]:
    """Seconds for ``enqueue_n`` one at a time (async API, then the sync store API), for
    ``bulk_n`` in bulk, and for ``bulk_n`` already validated (the bulk write alone)."""
    roost = Roost.create(settings(db))
    await roost.start()
    try:
        for i in range(WARMUP):
            await roost.enqueue(NOOP, {"i": i})
        start = time.perf_counter()
        for i in range(cfg.enqueue_n):
            await roost.enqueue(NOOP, {"i": i})
        one = time.perf_counter() - start

        sync = roost.store.sync
        start = time.perf_counter()
        for i in range(cfg.enqueue_n):
            sync.enqueue(roost.new_task(NOOP, {"i": i}))
        one_sync = time.perf_counter() - start

        await roost.enqueue_many([roost.new_task(NOOP, {"i": i}) for i in range(BULK_CHUNK)])
        start = time.perf_counter()
        for base in range(0, cfg.bulk_n, BULK_CHUNK):
            await roost.enqueue_many([roost.new_task(NOOP, {"i": i})
                                      for i in range(base, min(cfg.bulk_n, base + BULK_CHUNK))])
        bulk = time.perf_counter() - start

        ready = [[roost.new_task(NOOP, {"i": i}) for i in range(base, base + BULK_CHUNK)]
                 for base in range(0, cfg.bulk_n, BULK_CHUNK)]
        start = time.perf_counter()
        for chunk in ready:
            await roost.enqueue_many(chunk)
        write = time.perf_counter() - start
    finally:
        await roost.close()
    return one, one_sync, bulk, write


def run(cfg: Config) -> list[Row]:
    """roost and Huey alternate ``cfg.repeats`` times, each on a fresh file; medians."""
    n = cfg.enqueue_n
    mine: list[tuple[float, float, float, float]] = []
    peer: list[float] = []
    for r in range(cfg.repeats):
        os.sync()  # no write-back of the previous run during this one
        one, one_sync, bulk, write = asyncio.run(
            _roost_side(cfg, cfg.db(f"enqueue-roost-{r}.db")))
        mine.append((n / one, n / one_sync, cfg.bulk_n / bulk, cfg.bulk_n / write))
        db = cfg.db(f"enqueue-huey-{r}.db")
        os.sync()
        huey_peer.enqueue(db, WARMUP)
        peer.append(n / huey_peer.enqueue(db, n))
    one_rate, sync_rate, bulk_rate, write_rate = (median([m[i] for m in mine]) for i in range(4))
    huey = median(peer)
    cfg.detail("enqueue: alternating runs (tasks/s)",
               f"roost async one at a time: {[round(m[0]) for m in mine]}\n"
               f"roost sync one at a time:  {[round(m[1]) for m in mine]}\n"
               f"roost bulk:                {[round(m[2]) for m in mine]}\n"
               f"roost bulk write alone:    {[round(m[3]) for m in mine]}\n"
               f"Huey one at a time:        {[round(x) for x in peer]}")
    return [
        Row("enqueue", f"one at a time, await roost.enqueue, {n:,} tasks", one_rate, "tasks/s",
            huey, "Huey", ">= 2x Huey", one_rate >= 2 * huey),
        Row("enqueue", "one at a time, sync store API (no thread hop)", sync_rate, "tasks/s",
            huey, "Huey", note="for information: what the CLI uses"),
        Row("enqueue", f"bulk, {cfg.bulk_n:,} tasks in calls of {BULK_CHUNK:,}",
            bulk_rate, "tasks/s", None, "", ">= 50,000/s", bulk_rate >= 50_000,
            note="Huey has no bulk enqueue; this includes validating each payload (new_task)"),
        Row("enqueue", "bulk write alone (payloads validated beforehand)", write_rate, "tasks/s",
            note="for information: the store's share of the bulk row"),
    ]
