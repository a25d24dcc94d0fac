"""The Mongo engine, for information only: drain rate on mongomock and over the wire lane.

These are NOT MongoDB speeds. mongomock is an in-process Python imitation; the wire lane
(``tests/mongo_wire.py``) is ``mongod`` when it is on PATH, else mongoeco's Python wire
server: real pymongo over TCP, but the server is Python too. Commands per task are
counted with pymongo's command monitoring on the wire.
"""

from __future__ import annotations

import asyncio
import importlib.util
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from pymongo import monitoring
from roost.core.app import Roost
from roost.core.worker import Worker

from .common import ROOT, Config, Row
from .drain import CONCURRENCY, fill
from .noop import settings


class Commands(monitoring.CommandListener):
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self.counts[f"failed {event.command_name}"] += 1


async def drain(url: str, n: int, commands: Commands | None = None) -> tuple[float, dict]:
    roost = Roost.create(settings(url, worker={"max_concurrent": CONCURRENCY}))
    await roost.start()
    fill(roost.store.sync, n, chunk=1_000)
    if commands is not None:
        commands.counts.clear()
    worker = Worker(roost)
    start = time.perf_counter()
    await worker.run(burst=True)
    seconds = time.perf_counter() - start
    done = roost.store.sync.stats().done
    counts = dict(commands.counts) if commands is not None else {}
    if "mongomock" not in url:
        roost.store.sync.client.drop_database(roost.store.sync.db.name)  # type: ignore[attr-defined]
    await roost.close()
    if done != n:
        raise RuntimeError(f"mongo drain: {done} of {n} done")
    return n / seconds, counts


def wire_server(workdir: Path) -> Any:
    """tests/mongo_wire.py's server, when it can start here; else None."""
    path = ROOT / "tests" / "mongo_wire.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("bench_mongo_wire", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    server = module.WireServer(workdir / "wire")
    try:
        server.start()
    except module.WireUnavailable as exc:
        return str(exc)
    return server


def run(cfg: Config) -> list[Row]:
    n = cfg.mongo_n
    mock_rate, _ = asyncio.run(drain(f"mongomock://bench{uuid.uuid4().hex[:8]}/bench", n))
    rows = [Row("mongo", f"drain {n:,} no-op tasks, mongomock (in-process imitation)",
                mock_rate, "tasks/s", note="for information: NOT a MongoDB speed")]
    server = wire_server(cfg.workdir)
    if server is None or isinstance(server, str):
        rows.append(Row("mongo", "wire lane", None, "", note=f"not run: {server or 'missing'}"))
        return rows
    commands = Commands()
    monitoring.register(commands)
    try:
        url = server.url.replace("/?", f"/bench{uuid.uuid4().hex[:8]}?")
        rate, counts = asyncio.run(drain(url, n, commands))
    finally:
        server.stop()
    per_task = sum(counts.values()) / n
    rows += [
        Row("mongo", f"drain {n:,} no-op tasks, wire lane ({server.kind}, pymongo over TCP)",
            rate, "tasks/s", note="for information: NOT a MongoDB speed"),
        Row("mongo", "wire lane: commands per task while draining", per_task, "",
            note=", ".join(f"{k} {v / n:.2f}" for k, v in sorted(counts.items()))),
    ]
    return rows
