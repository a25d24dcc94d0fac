"""Pickup latency: an idle worker, tasks enqueued one by one; time from enqueue to claim.

In process: API side and worker share one process and event loop; ``roost.enqueue`` wakes
the worker directly. Timed with ``perf_counter`` from before the enqueue call to the
``task_claimed`` hook. Across processes: ``roost worker`` (the real CLI) in its own
process finds tasks by polling, with an idle back-off from ``worker.poll_interval`` up to
``worker.max_poll_interval`` (the ceiling); timed from the task's ``createdAt`` to its
``lockedAt`` as stored (millisecond clock). Each task is enqueued after a random idle gap.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time

from roost.core.app import Roost
from roost.core.models import NewTask
from roost.core.stores.sqlite import SQLiteStore
from roost.core.worker import Worker

from .common import Config, Row, child_env, pct, stop
from .noop import NOOP, Recorder, settings


async def in_process(cfg: Config) -> list[float]:
    recorder = Recorder()
    roost = Roost.create(settings(cfg.db("pickup-inproc.db")), plugins=[recorder])
    await roost.start()
    worker = Worker(roost)
    job = asyncio.create_task(worker.run())
    rng = random.Random(1)
    lags: list[float] = []
    try:
        for i in range(cfg.pickup_n + 10):  # the first 10 warm up
            await asyncio.sleep(rng.uniform(0.002, 0.03))
            start = time.perf_counter()
            task = await roost.enqueue(NOOP, {"i": i})
            while task.id not in recorder.claimed:  # noqa: ASYNC110 (a bench poll, 0.5 ms)
                await asyncio.sleep(0.0005)
            if i >= 10:
                lags.append(recorder.claimed[task.id] - start)
    finally:
        worker.stop()
        await job
        await roost.close()
    return lags


def across_processes(cfg: Config) -> tuple[list[float], float]:
    db = cfg.db("pickup-proc.db")
    store = SQLiteStore(f"sqlite:///{db}")
    store.setup()
    s = settings(db)
    env = child_env(cfg, ROOST_STORE__URL=s.store.url,
                    ROOST_PLUGINS__MODULES=json.dumps(["bench.noop"]))
    proc = subprocess.Popen([sys.executable, "-m", "roost.core.cli", "--log-level", "WARNING",
                             "worker"], cwd=cfg.workdir, env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rng = random.Random(2)
    lags: list[float] = []
    try:
        for i in range(cfg.pickup_proc_n + 2):  # the first 2 wait for start-up
            time.sleep(rng.uniform(0.0, s.worker.max_poll_interval * 1.2))
            task = store.enqueue(NewTask(type=NOOP, payload={"i": i}))
            deadline = time.monotonic() + 30
            while (got := store.get(task.id)) is None or got.locked_at is None:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"roost worker did not claim:\n{proc.communicate()[1]}")
                time.sleep(0.002)
            if i >= 2:
                lags.append((got.locked_at - got.created_at).total_seconds())
    finally:
        stop(proc)
        store.close()
    return lags, s.worker.max_poll_interval


def run(cfg: Config) -> list[Row]:
    inproc = asyncio.run(in_process(cfg))
    proc, ceiling = across_processes(cfg)
    ms = 1000
    return [
        Row("pickup", f"in process, woken directly: p50 ({len(inproc)} tasks)",
            pct(inproc, 50) * ms, "ms"),
        Row("pickup", "in process, woken directly: p95", pct(inproc, 95) * ms, "ms",
            target="<= 20 ms", met=pct(inproc, 95) * ms <= 20),
        Row("pickup", f"across processes, polling: p50 ({len(proc)} tasks)",
            pct(proc, 50) * ms, "ms"),
        Row("pickup", "across processes, polling: p95", pct(proc, 95) * ms, "ms",
            target=f"<= {ceiling * ms:.0f} ms (ceiling)", met=pct(proc, 95) <= ceiling),
    ]
