"""``python -m bench`` (``make bench``): every benchmark of the suite, then one table.

    python -m bench                 # the full suite (about 4 minutes on 2 cores)
    python -m bench --quick         # a short smoke run (under 2 minutes)
    python -m bench --only drain,enqueue   # some benchmarks: drain enqueue http depth
                                           # pickup stress mongo wire
    python -m bench --dir /path     # where the databases go (default: a temporary folder)

Each roost figure stands next to the peer measured in the same run (Huey), as a ratio:
the machine is shared and noisy, absolute figures are not comparable across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import depth, drain, enqueue, http, mongo, pickup, stress, wire_commands
from .common import Config, Row, empty_settings, table

BENCHMARKS: dict[str, Callable[[Config], list[Row]]] = {
    "drain": drain.run,
    "enqueue": enqueue.run,
    "http": http.run,
    "depth": depth.run,
    "pickup": pickup.run,
    "stress": stress.run,
    "mongo": mongo.run,
    "wire": wire_commands.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--dir", type=Path, help="folder for the databases (same disk for all)")
    args = parser.parse_args(argv)
    chosen = list(BENCHMARKS) if not args.only else [b.strip() for b in args.only.split(",")]
    unknown = [b for b in chosen if b not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")

    workdir = Path(tempfile.mkdtemp(prefix="roost-bench-", dir=args.dir))
    cfg = Config.make(workdir, args.quick)
    for key in [k for k in os.environ if k.startswith("ROOST_")]:
        del os.environ[key]
    os.environ["ROOST_SETTINGS"] = str(empty_settings(cfg))
    os.environ["ROOST_NO_ENTRY_POINTS"] = "1"

    print(f"roost bench{' --quick' if args.quick else ''}: {', '.join(chosen)}")
    print(f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} CPUs, databases in {workdir}", flush=True)
    rows: list[Row] = []
    failed: list[str] = []
    began = time.perf_counter()
    try:
        for name in chosen:
            start = time.perf_counter()
            print(f"- {name} ...", end=" ", flush=True)
            try:
                rows += BENCHMARKS[name](cfg)
                print(f"{time.perf_counter() - start:.0f} s", flush=True)
            except Exception:
                failed.append(name)
                print("FAILED", flush=True)
                traceback.print_exc()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(rows))
    for detail in cfg.details:
        print()
        print(detail, end="")
    print(f"\ntotal {time.perf_counter() - began:.0f} s")
    if failed:
        print(f"benchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
