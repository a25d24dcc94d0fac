"""HTTP enqueue: ``roost serve --no-worker`` in one process, the load generator in another.

64 connections (closed loop) POST the documented SEARCH route on 127.0.0.1 for
``Config.http_seconds`` after a warm-up; the server stores every task in SQLite. No peer:
Huey has no HTTP front; the row is judged against the target.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

from .common import Config, Row, child_env, free_port, run_child, stop

PREFIX = "/api/v4/twitter"


def start_server(cfg: Config, db: str, port: int) -> subprocess.Popen[str]:
    env = child_env(cfg, ROOST_STORE__URL=f"sqlite:///{db}", ROOST_API__HOST="127.0.0.1",
                    ROOST_API__PORT=str(port))
    proc = subprocess.Popen(
        [sys.executable, "-m", "roost.core.cli", "--log-level", "WARNING", "serve", "--no-worker"],
        cwd=cfg.workdir, env=env, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"roost serve did not start:\n{proc.communicate()[1][-2000:]}")
        time.sleep(0.1)


def run(cfg: Config) -> list[Row]:
    db = str(cfg.db("http.db"))
    port = free_port()
    server = start_server(cfg, db, port)
    try:
        warmup = 1.0 if cfg.quick else 3.0
        res = run_child(cfg, "bench.loadgen", f"http://127.0.0.1:{port}{PREFIX}/tasks/search",
                        "--connections", str(cfg.http_connections),
                        "--seconds", str(cfg.http_seconds), "--warmup", str(warmup),
                        timeout=cfg.http_seconds + warmup + 60)
    finally:
        stop(server)
    errors = sum(res["errors"].values())
    where = f"{cfg.http_connections} conns, {cfg.http_seconds:g} s"
    cfg.detail("http: load generator result", str(res))
    return [
        Row("http", f"SEARCH enqueue, {where}", res["rps"], "req/s", target=">= 2,000 req/s",
            met=res["rps"] >= 2000),
        Row("http", "latency p50", res["p50_ms"], "ms"),
        Row("http", "latency p99", res["p99_ms"], "ms", target="< 50 ms",
            met=res["p99_ms"] < 50),
        Row("http", "errors (non-201 or failed)", errors, "", target="0", met=errors == 0,
            note=", ".join(f"{k}: {v}" for k, v in res["errors"].items())),
    ]
