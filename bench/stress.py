"""SMOKE (300 tasks) and STRESS (3,000 tasks) of the seed, in seconds instead of 10/30 minutes.

SEARCH tasks through the whole pipeline (worker -> handler -> mock runtime -> saved tweets,
checkpoint, completion) on SQLite, one worker process with ``max_concurrent`` raised. The
mock runtime answers each task's one page in 50-500 ms and fails 10% of calls, so retries
run (backoff 50 ms, factor 2, 5 attempts). All tasks are enqueued in bulk, then the worker
starts; the clock runs until none is PENDING or RUNNING. Queue depth and RSS are sampled
every 0.5 s.

Child entry: ``python -m bench.stress --db PATH --n N --concurrency C``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from roost.core.app import Roost
from roost.core.worker import Worker

from .common import Config, Row, emit, pct, peak_rss_mb, rss_mb, run_child
from .noop import Recorder, settings

CONCURRENCY = 1_000
MOCK = {"latency_ms": 275, "latency_jitter_ms": 225, "failure_rate": 0.1,
        "page_size": 20, "max_results": 20}
RETRY = {"max_attempts": 5, "strategy": "exponential", "base_delay": 0.05, "factor": 2.0,
         "max_delay": 1.0, "jitter": 0.2}


async def stress(db: str, n: int, concurrency: int) -> dict[str, Any]:
    recorder = Recorder()
    roost = Roost.create(settings(db, worker={"max_concurrent": concurrency},
                                  runtime={"name": "mock", "mock": MOCK}, retry=RETRY),
                         plugins=[recorder])
    await roost.start()
    await roost.enqueue_many([roost.new_task("SEARCH", {"query": f"stress {i}", "limit": 20})
                              for i in range(n)])
    worker = Worker(roost)
    samples: list[tuple[float, int, int, int, int, float]] = []
    start = time.perf_counter()
    job = asyncio.create_task(worker.run())
    while True:
        await asyncio.sleep(0.5)
        s = await roost.store.stats()
        samples.append((time.perf_counter() - start, s.pending, s.running, s.done, s.failed,
                        rss_mb()))
        if s.pending == 0 and s.running == 0:
            break
        if time.perf_counter() - start > 600:
            raise SystemExit("stress: not finished in 600 s")
    wall = time.perf_counter() - start
    worker.stop()
    await job
    final = await roost.store.stats()
    await roost.close()
    claims = len(recorder.claim_lag)
    return {
        "n": n, "wall": wall, "done": final.done, "failed": final.failed,
        "claims": claims, "retried": recorder.retried,
        "pickup_p50": pct(recorder.claim_lag, 50), "pickup_p95": pct(recorder.claim_lag, 95),
        "run_p50": pct(recorder.run_seconds, 50), "run_p95": pct(recorder.run_seconds, 95),
        "peak_rss_mb": peak_rss_mb(), "samples": samples,
    }


def depth_line(samples: list[list[float]], every: int) -> str:
    """``t: pending/running/done (rss)`` every ``every``-th sample, and the last one."""
    picked = samples[::every] + ([samples[-1]] if (len(samples) - 1) % every else [])
    return "\n".join(f"  t={t:5.1f}s pending={p:5d} running={r:4d} done={d:5d} failed={f} "
                     f"rss={m:.0f}MB" for t, p, r, d, f, m in picked)


def run(cfg: Config) -> list[Row]:
    rows: list[Row] = []
    for name, n in (("SMOKE", cfg.smoke_n), ("STRESS", cfg.stress_n)):
        res = run_child(cfg, "bench.stress", "--db", str(cfg.db(f"{name.lower()}.db")),
                        "--n", str(n), "--concurrency", str(CONCURRENCY), timeout=700)
        cfg.detail(f"{name}: queue depth over time", depth_line(res["samples"], 4))
        retry_rate = res["retried"] / max(1, res["claims"])
        rss = [s[5] for s in res["samples"]]
        g = name
        rows += [
            Row(g, f"{n:,} SEARCH tasks, wall time (concurrency {CONCURRENCY})", res["wall"],
                "s", target="< 60 s" if name == "STRESS" else "",
                met=res["wall"] < 60 if name == "STRESS" else None,
                note=f"done {res['done']}, failed {res['failed']} (out of attempts), "
                     f"{res['claims']} runs"),
            Row(g, "retry rate (retried runs / runs)", retry_rate * 100, "%"),
            Row(g, "pickup latency p50 (due -> claimed, incl. waiting for a slot)",
                res["pickup_p50"] * 1000, "ms",
                note=f"p95 {res['pickup_p95'] * 1000:.0f} ms; all {n:,} tasks are due at once, "
                     f"so most wait for one of the {CONCURRENCY} slots"),
            Row(g, "run latency p50 (handler, incl. its store writes)", res["run_p50"] * 1000,
                "ms", note=f"p95 {res['run_p95'] * 1000:.0f} ms; the mock answers in 50-500 ms"),
            Row(g, "worker peak RSS", res["peak_rss_mb"], "MB",
                note=f"RSS at 1/4, 1/2, end of the run: "
                     f"{rss[len(rss) // 4]:.0f}, {rss[len(rss) // 2]:.0f}, {rss[-1]:.0f} MB"),
        ]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    emit(asyncio.run(stress(args.db, args.n, args.concurrency)))


if __name__ == "__main__":
    main()
