"""A MongoDB-wire-compatible server for the tests: real pymongo over TCP, never mongomock.

Which server, in this order:

1. ``ROOST_TEST_MONGO_URL`` names one (``mongodb://host:port/?...``): used as it is
   (the tests that stop the server start one of their own, see below);
2. ``mongod`` is on PATH: started on a free port with a temporary ``--dbpath``;
3. otherwise mongoeco's wire server (``tests/wire_server.py``), run by the Python 3.13
   environment ``.venv-wire/`` that ``scripts/install-test-deps`` creates.

No server means a failed test with a message that says what to run, never a skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pymongo import MongoClient
from pymongo.errors import PyMongoError

ROOT = Path(__file__).resolve().parent.parent
WIRE_VENV = ROOT / ".venv-wire"
LAUNCHER = Path(__file__).resolve().parent / "wire_server.py"
URL_ENV = "ROOST_TEST_MONGO_URL"
START_TIMEOUT = 30.0


class WireUnavailable(RuntimeError):
    """No server could be started or reached; the message says why and what to do."""


def with_database(url: str, database: str) -> str:
    """``url`` pointing at ``database`` (its query options kept)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))


def ping(url: str, timeout: float = 0.5) -> None:
    client: MongoClient = MongoClient(
        url, serverSelectionTimeoutMS=int(timeout * 1000), connectTimeoutMS=int(timeout * 1000)
    )
    try:
        client.admin.command("ping")
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WireServer:
    """A server process this test run owns: start, stop (gracefully or not), restart."""

    def __init__(self, workdir: Path, *, persistent: bool = False) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.persistent = persistent
        self.mongod = shutil.which("mongod")
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "server.log"
        self.kind = "mongod" if self.mongod else "mongoeco"

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> str:
        """Start (again, on the same port and data after a stop) and wait until it answers."""
        if self.mongod:
            self.port = self.port or free_port()
            dbpath = self.workdir / "mongod-data"
            dbpath.mkdir(exist_ok=True)
            argv = [
                self.mongod,
                "--dbpath",
                str(dbpath),
                "--port",
                str(self.port),
                "--bind_ip",
                "127.0.0.1",
                "--quiet",
            ]
        else:
            python = WIRE_VENV / "bin" / "python"
            if not python.exists():
                raise WireUnavailable(
                    f"no MongoDB server for the wire tests: no mongod on PATH, {URL_ENV} unset, "
                    f"and {python} is missing. Run scripts/install-test-deps (make test does) to "
                    "install the mongoeco wire server, or set ROOST_TEST_MONGO_URL."
                )
            argv = [str(python), str(LAUNCHER), "--port", str(self.port)]
            if self.persistent:
                argv += ["--sqlite", str(self.workdir / "mongoeco.sqlite")]
        with self.log.open("ab") as log:
            offset = log.tell()
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        if not self.mongod:
            self.port = self._announced_port(offset)
        self._wait_ready()
        return self.url

    def _announced_port(self, offset: int) -> int:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            for line in text.splitlines():
                if line.startswith("listening mongodb://"):
                    return int(urlsplit(line.split()[1]).port or 0)
            self._check_alive()
            time.sleep(0.05)
        raise WireUnavailable(
            f"{self.kind} did not announce its port in {START_TIMEOUT}s: {self.tail()}"
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                ping(self.url)
                return
            except PyMongoError as exc:
                error = exc
        raise WireUnavailable(
            f"{self.kind} on port {self.port} did not answer a ping in "
            f"{START_TIMEOUT}s ({error}): {self.tail()}"
        )

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise WireUnavailable(
                f"{self.kind} exited with code {self.proc.returncode}: {self.tail()}"
            )

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        """Stop the server process (SIGKILL: the database vanishes as in a crash)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wire_url_from_env() -> str | None:
    url = os.environ.get(URL_ENV)
    if not url:
        return None
    try:
        ping(url, timeout=5)
    except PyMongoError as exc:
        raise WireUnavailable(f"{URL_ENV}={url} does not answer a ping: {exc}") from exc
    return url
