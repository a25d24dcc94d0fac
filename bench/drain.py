"""Drain: N no-op tasks already enqueued, drained by one worker process; roost vs Huey.

roost: ``Worker.run(burst=True)`` on the embedded SQLite engine. Huey: ``SqliteHuey`` with
its thread consumer at each worker count of ``Config.huey_workers``; the best one is the
peer. Each side first drains a separate warm-up database in the same process; only the
second drain is timed. Process start-up is not in the figures.

Child entry: ``python -m bench.drain --db PATH --n N [--concurrency C] [--warmup-db PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from roost.core.app import Roost
from roost.core.models import NewTask
from roost.core.store import TaskStore
from roost.core.worker import Worker

from . import huey_peer
from .common import Config, Row, emit, median, peak_rss_mb, run_child
from .noop import NOOP, settings

CONCURRENCY = 100
WARMUP_N = 1_000


def fill(store: TaskStore, n: int, chunk: int = 10_000) -> None:
    """``n`` pending no-op tasks, in bulk writes."""
    for start in range(0, n, chunk):
        store.enqueue_many([NewTask(type=NOOP, payload={"i": i})
                            for i in range(start, min(n, start + chunk))])


def prepare(db: Path, n: int) -> None:
    roost = Roost.create(settings(db))
    try:
        roost.store.sync.setup()
        fill(roost.store.sync, n)
    finally:
        roost.store.close()


async def drain(db: str, concurrency: int) -> tuple[float, int]:
    """Drain ``db`` with one worker in burst mode; (seconds, tasks done)."""
    roost = Roost.create(settings(db, worker={"max_concurrent": concurrency}))
    await roost.start()
    worker = Worker(roost)
    servers: list[Any] = []  # what `roost worker` runs beside it: the metrics plugin's
    roost.pm.hook.register_servers(register=servers.append, roost=roost, worker=worker)
    for server in servers:
        server.bind()
        await server.start()
    start = time.perf_counter()
    await worker.run(burst=True)
    seconds = time.perf_counter() - start
    for server in servers:
        await server.close()
    done = roost.store.sync.stats().done
    await roost.close()
    return seconds, done


def roost_drain(cfg: Config, n: int, concurrency: int = CONCURRENCY) -> dict[str, float]:
    db, warm = cfg.db("drain-roost.db"), cfg.db("drain-roost-warm.db")
    prepare(db, n)
    prepare(warm, WARMUP_N)
    return run_child(cfg, "bench.drain", "--db", str(db), "--warmup-db", str(warm),
                     "--concurrency", str(concurrency))


def huey_drain(cfg: Config, n: int, workers: int) -> dict[str, float]:
    db, warm = cfg.db("drain-huey.db"), cfg.db("drain-huey-warm.db")
    huey_peer.enqueue(db, n)
    huey_peer.enqueue(warm, WARMUP_N)
    return run_child(cfg, "bench.huey_peer", "drain", "--db", str(db), "--n", str(n),
                     "--workers", str(workers), "--warmup-db", str(warm),
                     "--warmup-n", str(WARMUP_N))


def run(cfg: Config) -> list[Row]:
    """Huey's worker-count sweep picks its best; then roost and Huey alternate, medians."""
    n = cfg.drain_n
    sweep = {w: huey_drain(cfg, n, w)["rate"] for w in cfg.huey_workers}
    best = max(sweep, key=lambda w: sweep[w])
    mine: list[float] = []
    peer: list[float] = []
    rss = 0.0
    for _ in range(cfg.repeats):
        res = roost_drain(cfg, n)
        mine.append(res["rate"])
        rss = max(rss, res["peak_rss_mb"])
        peer.append(huey_drain(cfg, n, best)["rate"])
    cfg.detail("drain: Huey thread-consumer sweep (tasks/s by worker threads)",
               "  ".join(f"{w}: {rate:,.0f}/s" for w, rate in sweep.items())
               + f"\nalternating runs, roost: {[round(x) for x in mine]}, "
               f"Huey {best} thr: {[round(x) for x in peer]}"
               + f"\nroost worker: max_concurrent={CONCURRENCY}, peak RSS {rss:.0f} MB")
    m, p = median(mine), median(peer)
    return [Row("drain", f"{n:,} no-op tasks, 1 process, SQLite (median of {cfg.repeats})",
                m, "tasks/s", p, f"Huey {best} thr", ">= 2x Huey", m >= 2 * p)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--warmup-db")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    logging.basicConfig(  # as `roost worker` logs: INFO, to stderr
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s %(message)s"
    )
    if args.warmup_db:
        asyncio.run(drain(args.warmup_db, args.concurrency))
    seconds, done = asyncio.run(drain(args.db, args.concurrency))
    emit({"seconds": seconds, "n": done, "rate": done / seconds, "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    main()
