"""What every benchmark shares: the run config, result rows, child processes, statistics.

Benchmarks that need a process of their own (a worker, a server, a load generator, the
Huey consumer) start ``python -m bench.<module> ...`` from the repository root; the child
prints one JSON object on its last stdout line, which :func:`run_child` returns.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Config:
    """Sizes for one run; ``--quick`` shrinks them to a smoke run."""

    workdir: Path
    quick: bool = False
    drain_n: int = 20_000
    enqueue_n: int = 5_000
    bulk_n: int = 50_000
    http_seconds: float = 30.0
    http_connections: int = 64
    depth_big: int = 100_000
    depth_small: int = 1_000
    depth_rounds: int = 9
    pickup_n: int = 200
    pickup_proc_n: int = 30
    smoke_n: int = 300
    stress_n: int = 3_000
    mongo_n: int = 500
    wire_n: int = 200
    wire_idle_seconds: float = 5.0
    huey_workers: Sequence[int] = (1, 2, 4, 8)
    repeats: int = 5  # alternating roost/peer runs; the table shows medians (runs vary ±30 %)
    details: list[str] = field(default_factory=list)

    @classmethod
    def make(cls, workdir: Path, quick: bool) -> Config:
        if not quick:
            return cls(workdir)
        return cls(
            workdir, quick=True, drain_n=5_000, enqueue_n=2_000, bulk_n=20_000,
            http_seconds=5.0, depth_big=100_000, depth_rounds=3, pickup_n=60,
            pickup_proc_n=8, smoke_n=300, stress_n=1_000, mongo_n=300, wire_n=60, wire_idle_seconds=3.0,
            huey_workers=(1, 4), repeats=1,
        )

    def db(self, name: str) -> Path:
        """A fresh database path in the work folder (same disk for roost and Huey)."""
        path = self.workdir / name
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return path

    def detail(self, title: str, text: str) -> None:
        self.details.append(f"## {title}\n{text.rstrip()}\n")


@dataclass
class Row:
    """One line of the table: a roost figure, the peer's from the same run, a target."""

    group: str
    name: str
    roost: float | None
    unit: str
    peer: float | None = None
    peer_name: str = ""
    target: str = ""
    met: bool | None = None  # None: for information only
    note: str = ""

    @property
    def ratio(self) -> str:
        if self.roost is None or not self.peer:
            return ""
        return f"{self.roost / self.peer:.2f}x"


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(rows: Sequence[Row]) -> str:
    head = ("benchmark", "roost", "peer (same run)", "ratio", "target", "met")
    lines = [head]
    for r in rows:
        peer = f"{fmt(r.peer)} {r.peer_name}".strip() if r.peer is not None else ""
        met = "-" if r.met is None else ("yes" if r.met else "NO")
        name = f"{r.group}: {r.name}"
        lines.append((name, f"{fmt(r.roost)} {r.unit}", peer, r.ratio, r.target, met))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for i, line in enumerate(lines):
        out.append("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    notes = [f"  [{r.group}: {r.name}] {r.note}" for r in rows if r.note]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def pct(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100), nearest-rank on sorted data."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(cfg: Config, **extra: str) -> dict[str, str]:
    """The environment of a child: no caller ROOST_* settings, bench plugins importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env["ROOST_SETTINGS"] = str(empty_settings(cfg))
    env["ROOST_NO_ENTRY_POINTS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def empty_settings(cfg: Config) -> Path:
    """An empty settings file, so a ./settings.toml of the caller does not leak in."""
    path = cfg.workdir / "empty-settings.toml"
    if not path.exists():
        path.write_text("# bench: settings come from arguments\n")
    return path


def spawn(cfg: Config, module: str, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=cfg.workdir, env=child_env(cfg, **env), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGINT (a graceful stop), then SIGKILL if it has not exited within 15 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_child(cfg: Config, module: str, *args: str, timeout: float = 300, **env: str) -> Any:
    """Run a child to its end and return the JSON of its last stdout line.

    ``os.sync()`` first: the previous run's dirty pages would otherwise be written back
    during this one and slow its fsyncs (a bias against whichever side runs second)."""
    os.sync()
    proc = spawn(cfg, module, *args, **env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise RuntimeError(
            f"{module} {' '.join(args)} timed out after {timeout}s\n{err[-2000:]}"
        ) from None
    return child_result(module, proc.returncode, out, err)


def child_result(module: str, code: int | None, out: str, err: str) -> Any:
    lines = [line for line in out.splitlines() if line.strip()]
    if code != 0 or not lines:
        raise RuntimeError(f"{module} exited {code}\n{err[-3000:]}")
    return json.loads(lines[-1])


def emit(data: Any) -> None:
    """A child's answer: one JSON line on stdout."""
    print(json.dumps(data), flush=True)


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
