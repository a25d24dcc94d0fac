"""Enqueue through the Python API: one at a time and in bulk; roost vs Huey's enqueue.

roost one at a time: ``await roost.enqueue("NOOP", payload)`` in a loop (validation, one
commit each), then the sync store API the CLI uses. Concurrent: 64 coroutines, each
enqueueing one task per call (an HTTP server's pattern; their commits are shared). Bulk:
``roost.enqueue_many(roost.new_tasks(...))``, 1,000 a call, one transaction a call.
Floor: SQLite alone, one ``INSERT`` per commit into roost's table from the stdlib
``sqlite3`` with no roost code around it: what one commit per task costs on this disk.
Huey: calling the task (``task(i)``), its only enqueue API. Each side on a fresh file in
the same folder, after a separate warm-up of the same loop.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

from roost.core.app import Roost
from roost.core.models import new_id
from roost.core.stores.sqlite.rows import INSERT
from roost.core.stores.sqlite.schema import SCHEMA

from . import huey_peer
from .common import Config, Row, median
from .noop import NOOP, settings

BULK_CHUNK = 1_000
CALLERS = 64
WARMUP = 300


async def _roost_side(cfg: Config, db: Path) -> dict[str, float]:
    """Seconds for each way of enqueueing (see the module docstring)."""
    n, seconds = cfg.enqueue_n, {}
    roost = Roost.create(settings(db))
    await roost.start()
    try:
        for i in range(WARMUP):
            await roost.enqueue(NOOP, {"i": i})
        start = time.perf_counter()
        for i in range(n):
            await roost.enqueue(NOOP, {"i": i})
        seconds["one"] = time.perf_counter() - start

        sync = roost.store.sync
        start = time.perf_counter()
        for i in range(n):
            sync.enqueue(roost.new_task(NOOP, {"i": i}))
        seconds["sync"] = time.perf_counter() - start

        async def caller(first: int) -> None:
            for i in range(first, n, CALLERS):
                await roost.enqueue(NOOP, {"i": i})

        start = time.perf_counter()
        await asyncio.gather(*(caller(c) for c in range(CALLERS)))
        seconds["concurrent"] = time.perf_counter() - start

        await roost.enqueue_many(roost.new_tasks(NOOP, [{"i": i} for i in range(BULK_CHUNK)]))
        start = time.perf_counter()
        for base in range(0, cfg.bulk_n, BULK_CHUNK):
            payloads = [{"i": i} for i in range(base, min(cfg.bulk_n, base + BULK_CHUNK))]
            await roost.enqueue_many(roost.new_tasks(NOOP, payloads))
        seconds["bulk"] = time.perf_counter() - start

        ready = [roost.new_tasks(NOOP, [{"i": i} for i in range(base, base + BULK_CHUNK)])
                 for base in range(0, cfg.bulk_n, BULK_CHUNK)]
        start = time.perf_counter()
        for chunk in ready:
            await roost.enqueue_many(chunk)
        seconds["write"] = time.perf_counter() - start
    finally:
        await roost.close()
    return seconds


def sqlite_floor(db: Path, n: int) -> float:
    """Seconds for ``n`` one-row commits into roost's table, with the engine's pragmas."""
    conn = sqlite3.connect(db, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "wal_autocheckpoint=10000"):
        conn.execute(f"PRAGMA {pragma}")
    for statement in SCHEMA.split(";"):
        conn.execute(statement)
    rows = [(new_id(), NOOP, f'{{"i":{i}}}', 0, 3, 1, 1, 1, None) for i in range(WARMUP + n)]
    for row in rows[:WARMUP]:
        conn.execute(INSERT, row)
    start = time.perf_counter()
    for row in rows[WARMUP:]:
        conn.execute(INSERT, row)
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


def run(cfg: Config) -> list[Row]:
    """roost, the floor and Huey alternate ``cfg.repeats`` times, each on a fresh file."""
    n = cfg.enqueue_n
    rates: dict[str, list[float]] = {}
    for r in range(cfg.repeats):
        os.sync()  # no write-back of the previous run during this one
        mine = asyncio.run(_roost_side(cfg, cfg.db(f"enqueue-roost-{r}.db")))
        for key, seconds in mine.items():
            rates.setdefault(key, []).append((cfg.bulk_n if key in ("bulk", "write") else n) / seconds)
        os.sync()
        rates.setdefault("floor", []).append(n / sqlite_floor(cfg.db(f"enqueue-floor-{r}.db"), n))
        db = cfg.db(f"enqueue-huey-{r}.db")
        os.sync()
        huey_peer.enqueue(db, WARMUP)
        rates.setdefault("huey", []).append(n / huey_peer.enqueue(db, n))
    m = {key: median(values) for key, values in rates.items()}
    huey = m["huey"]
    cfg.detail("enqueue: alternating runs (tasks/s)", "\n".join(
        f"{key:10s} {[round(x) for x in values]}" for key, values in rates.items()))
    return [
        Row("enqueue", f"one at a time, await roost.enqueue, {n:,} tasks", m["one"], "tasks/s",
            huey, "Huey", ">= 2x Huey", m["one"] >= 2 * huey,
            note="each call returns once its task is committed; the floor row bounds this"),
        Row("enqueue", "one at a time, sync store API", m["sync"], "tasks/s", huey, "Huey",
            note="for information: what the CLI uses"),
        Row("enqueue", f"one task per call, {CALLERS} concurrent callers", m["concurrent"],
            "tasks/s", huey, "Huey",
            note="for information: callers that overlap share commits (group commit)"),
        Row("enqueue", "floor: SQLite alone, one INSERT per commit", m["floor"], "tasks/s",
            huey, "Huey", note="for information: stdlib sqlite3 on roost's table, no roost code"),
        Row("enqueue", f"bulk, {cfg.bulk_n:,} tasks in calls of {BULK_CHUNK:,}",
            m["bulk"], "tasks/s", None, "", ">= 50,000/s", m["bulk"] >= 50_000,
            note="Huey has no bulk enqueue; this includes validating the payloads (new_tasks)"),
        Row("enqueue", "bulk write alone (payloads validated beforehand)", m["write"], "tasks/s",
            note="for information: the store's share of the bulk row"),
    ]
