"""A real ``roost serve`` process (``--no-worker`` unless asked) on a fresh SQLite file, for
tests over real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    port: int
    log: Path  # the process's stderr: its log
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def serve(
    folder: Path, *, env: dict[str, str] | None = None, worker: bool = False
) -> Iterator[Served]:
    """Start it with only these ``ROOST_*`` settings (and ``env``'s), wait for ``/health``,
    stop it after."""
    port = free_port()
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env.update(
        ROOST_STORE__URL=f"sqlite:///{folder / 'roost.db'}",
        ROOST_API__PORT=str(port),
        ROOST_NO_ENTRY_POINTS="1",
    )
    env.update(extra)
    log = folder / "serve.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "roost.core.cli", "serve", *([] if worker else ["--no-worker"])],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    served = Served(port, log, proc)
    with answering(proc, served.url + "/health", log, "roost serve"):
        yield served


@contextmanager
def answering(proc: subprocess.Popen[bytes], url: str, log: Path, what: str) -> Iterator[None]:
    """Wait until ``url`` answers (``what`` failed to start if ``proc`` ends or 20 s pass,
    the error shows its ``log``); stop ``proc`` when the block ends."""
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                break
        except urllib.error.HTTPError:
            break  # it answers (e.g. 401 without the token): it is up
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start: {log.read_text()!r}") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=15)
