"""The peer: Huey's ``SqliteHuey`` and its thread consumer, set up like roost's SQLite engine.

Both sides run WAL with ``synchronous=NORMAL`` (Huey's default is FULL, which would favour
roost), on the same disk. Huey deletes a task when it dequeues it; roost keeps it under a
lease and writes its outcome: roost does more work per task.

Child entry: ``python -m bench.huey_peer drain --db PATH --n N --workers W [--warmup-db PATH]``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.storage import SqliteStorage

from .common import emit, peak_rss_mb

_done: list[None] = []  # list.append is atomic under the GIL: the consumer threads count here


class NormalSyncStorage(SqliteStorage):
    """WAL + ``synchronous=NORMAL``: the durability roost's SQLite engine has."""

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=1")
        return conn


class BenchHuey(SqliteHuey):
    storage_class = NormalSyncStorage


def noop(i: int = 0) -> None:
    _done.append(None)


def make(db: Path | str) -> tuple[BenchHuey, Any]:
    """A Huey on ``db`` and its registered no-op task."""
    huey = BenchHuey("bench", filename=str(db))
    return huey, huey.task(name="noop")(noop)


def enqueue(db: Path | str, n: int) -> float:
    """Enqueue ``n`` no-op tasks one at a time; the seconds it took."""
    _, task = make(db)
    start = time.perf_counter()
    for i in range(n):
        task(i)
    return time.perf_counter() - start


def drain(db: str, n: int, workers: int) -> float:
    """Start a thread consumer and time it until ``n`` tasks have run."""
    huey, _ = make(db)
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=False,
                                    check_worker_health=False)
    _done.clear()
    start = time.perf_counter()
    consumer.start()
    deadline = start + 600
    while len(_done) < n:
        if time.perf_counter() > deadline:
            raise SystemExit(f"huey drained only {len(_done)} of {n} tasks in 600 s")
        time.sleep(0.0005)
    seconds = time.perf_counter() - start
    consumer.stop(graceful=True)
    huey.storage.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["drain"])
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--warmup-db")
    parser.add_argument("--warmup-n", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.warmup_db:
        drain(args.warmup_db, args.warmup_n, args.workers)
    seconds = drain(args.db, args.n, args.workers)
    emit({"seconds": seconds, "n": args.n, "rate": args.n / seconds, "peak_rss_mb": peak_rss_mb()})


if __name__ == "__main__":
    # run the module's own copy, so the task registers as bench.huey_peer.noop (as enqueued)
    from bench.huey_peer import main as real_main

    real_main()
