"""Depth: the drain rate with 100,000 tasks pending vs with 1,000 pending.

One worker process drains 1,000 no-op tasks from each queue, in alternating rounds (the
first round of each is a warm-up and not counted; the small queue is refilled between
rounds). The claim cost should not grow with the queue: the claim statement the engine
really runs is captured and its ``EXPLAIN QUERY PLAN`` shown.

Child entry: ``python -m bench.depth --big PATH --small PATH --k 1000 --rounds R``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import time
from typing import Any

from roost.core.app import Roost
from roost.core.stores.sqlite import SQLiteStore
from roost.core.worker import Worker

from .common import Config, Row, emit, median, run_child
from .drain import CONCURRENCY, fill, prepare
from .noop import Recorder, settings


def claim_plan(db: str) -> tuple[str, list[str]]:
    """The claim statement as the engine sends it, and SQLite's plan for it."""
    store = SQLiteStore(f"sqlite:///{db}")
    statements: list[str] = []
    conn = store._connect()
    conn.set_trace_callback(statements.append)
    store.claim("plan", ["NOOP"], 1, 60)
    store.close()
    sql = next(s for s in statements if s.lstrip().upper().startswith("UPDATE"))
    with sqlite3.connect(db) as plain:
        plan = [row[3] for row in plain.execute("EXPLAIN QUERY PLAN " + sql)]
    return sql, plan


async def drain_k(db: str, k: int) -> float:
    """Run a worker until ``k`` tasks succeeded; tasks/s."""
    worker: Worker | None = None

    def enough(count: int) -> None:
        if count >= k and worker is not None:
            worker.stop()

    recorder = Recorder(on_succeeded=enough)
    roost = Roost.create(settings(db, worker={"max_concurrent": CONCURRENCY}), plugins=[recorder])
    await roost.start()
    worker = Worker(roost)
    start = time.perf_counter()
    await worker.run()
    seconds = time.perf_counter() - start
    await roost.close()
    return recorder.succeeded / seconds


def child(big: str, small: str, k: int, rounds: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"big": [], "small": []}
    for _ in range(rounds + 1):  # round 0 warms up
        rates["big"].append(asyncio.run(drain_k(big, k)))
        store = SQLiteStore(f"sqlite:///{small}")
        pending = store.stats().pending
        fill(store, k - pending)
        store.close()
        rates["small"].append(asyncio.run(drain_k(small, k)))
    return {side: values[1:] for side, values in rates.items()}


def run(cfg: Config) -> list[Row]:
    big, small = cfg.db("depth-big.db"), cfg.db("depth-small.db")
    prepare(big, cfg.depth_big)
    prepare(small, cfg.depth_small)
    sql, plan = claim_plan(str(big))
    res = run_child(cfg, "bench.depth", "--big", str(big), "--small", str(small),
                    "--k", str(cfg.depth_small), "--rounds", str(cfg.depth_rounds))
    b, s = median(res["big"]), median(res["small"])
    cfg.detail("depth: the claim statement and its query plan (100,000 pending)",
               sql + "\n" + "\n".join(f"  {step}" for step in plan))
    cfg.detail("depth: rounds (tasks/s)",
               f"100k pending: {[round(x) for x in res['big']]}\n"
               f"1k pending:   {[round(x) for x in res['small']]}")
    return [Row("depth", f"drain rate, {cfg.depth_big:,} pending (median of "
                f"{cfg.depth_rounds} rounds of {cfg.depth_small:,})", b, "tasks/s",
                s, "1k pending", "within 25%", abs(b / s - 1) <= 0.25,
                note="plan: " + "; ".join(plan))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", required=True)
    parser.add_argument("--small", required=True)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    emit(child(args.big, args.small, args.k, args.rounds))


if __name__ == "__main__":
    main()
