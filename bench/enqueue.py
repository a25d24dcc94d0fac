"""Enqueue through the Python API: one at a time and in bulk; roost vs Huey's enqueue.

roost one at a time: ``await roost.enqueue("NOOP", payload)`` in a loop (validation, one
transaction each). Bulk: ``roost.enqueue_many`` of ``new_task`` objects, 1,000 a call, one
transaction a call. Huey: calling the task (``task(i)``), its only enqueue API. Both sides
on a fresh file in the same folder, after a separate warm-up of the same loop.
"""

from __future__ import annotations

import asyncio
import time

from roost.core.app import Roost

from . import huey_peer
from .common import Config, Row
from .noop import NOOP, settings

BULK_CHUNK = 1_000
WARMUP = 300


async def _roost_side(cfg: Config) -> tuple[float, float]:
    """(one-at-a-time seconds for ``enqueue_n``, bulk seconds for ``bulk_n``)."""
    roost = Roost.create(settings(cfg.db("enqueue-roost.db")))
    await roost.start()
    try:
        for i in range(WARMUP):
            await roost.enqueue(NOOP, {"i": i})
        start = time.perf_counter()
        for i in range(cfg.enqueue_n):
            await roost.enqueue(NOOP, {"i": i})
        one = time.perf_counter() - start

        await roost.enqueue_many([roost.new_task(NOOP, {"i": i}) for i in range(BULK_CHUNK)])
        start = time.perf_counter()
        for base in range(0, cfg.bulk_n, BULK_CHUNK):
            await roost.enqueue_many([roost.new_task(NOOP, {"i": i})
                                      for i in range(base, min(cfg.bulk_n, base + BULK_CHUNK))])
        bulk = time.perf_counter() - start
    finally:
        await roost.close()
    return one, bulk


def run(cfg: Config) -> list[Row]:
    one, bulk = asyncio.run(_roost_side(cfg))
    db = cfg.db("enqueue-huey.db")
    huey_peer.enqueue(db, WARMUP)
    huey = huey_peer.enqueue(db, cfg.enqueue_n)
    n = cfg.enqueue_n
    return [
        Row("enqueue", f"one at a time, {n:,} tasks", n / one, "tasks/s", n / huey, "Huey",
            ">= 2x Huey", n / one >= 2 * n / huey),
        Row("enqueue", f"bulk, {cfg.bulk_n:,} tasks in calls of {BULK_CHUNK:,}",
            cfg.bulk_n / bulk, "tasks/s", None, "", ">= 50,000/s", cfg.bulk_n / bulk >= 50_000,
            note="Huey has no bulk enqueue; its one-at-a-time rate is the row above"),
    ]
