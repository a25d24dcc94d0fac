"""A closed-loop HTTP load generator: C connections, each sending the next request when the
last one answered. Runs in its own process; prints one JSON line.

``python -m bench.loadgen URL --connections 64 --seconds 30 --warmup 3``. Requests of the
warm-up are sent but not counted. Only 127.0.0.1 is accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlparse

import aiohttp

from .common import emit, pct


async def load(url: str, body: bytes, connections: int, seconds: float, warmup: float) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    headers = {"Content-Type": "application/json"}
    begin = time.perf_counter()
    measure_from = begin + warmup
    stop_at = measure_from + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        while True:
            sent = time.perf_counter()
            if sent >= stop_at:
                return
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__  # type: ignore[assignment]
            done = time.perf_counter()
            if sent < measure_from:
                continue
            if status == 201:
                latencies.append(done - sent)
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1

    connector = aiohttp.TCPConnector(limit=connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(connections)))
    ok = len(latencies)
    return {
        "seconds": seconds,
        "requests": ok + sum(errors.values()),
        "ok": ok,
        "errors": errors,
        "rps": ok / seconds,
        "p50_ms": pct(latencies, 50) * 1000,
        "p99_ms": pct(latencies, 99) * 1000,
        "max_ms": max(latencies, default=0) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--body", default=json.dumps({"query": "bitcoin", "filters": {}}))
    args = parser.parse_args()
    if urlparse(args.url).hostname != "127.0.0.1":
        raise SystemExit("bench.loadgen only loads 127.0.0.1")
    emit(asyncio.run(load(args.url, args.body.encode(), args.connections, args.seconds,
                          args.warmup)))


if __name__ == "__main__":
    main()
