"""Real ``roost`` processes for the fault tests, and polling with a deadline.

Each process runs ``python -m roost.core.cli ...`` in the test's temporary folder (so no
``settings.toml`` of the checkout applies), configured through ``ROOST_*`` variables,
with :mod:`faults.taskplugins` loaded and its output log at ``$ROOST_FAULTS_LOG``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from roost.core.models import Task, TaskStatus
from roost.core.store import TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.stores.sqlite import SQLiteStore

TESTS = Path(__file__).resolve().parent.parent
POLL = 0.05


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    diagnose: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = f"\n{diagnose()}" if diagnose else ""
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{extra}")
        time.sleep(POLL)


def open_store(url: str) -> TaskStore:
    store: TaskStore = SQLiteStore(url) if url.startswith("sqlite:") else MongoStore(url)
    store.setup()
    return store


def all_tasks(store: TaskStore) -> list[Task]:
    """Every task, read through the engine's own client (SQLite rows or Mongo documents)."""
    if isinstance(store, SQLiteStore):
        from roost.core.stores.sqlite_rows import row_to_task

        with store._read() as conn:  # the engine has no list call; a test may read its rows
            return [row_to_task(r) for r in conn.execute("SELECT * FROM tasks")]
    from roost.core.stores.mongo import doc_to_task

    assert isinstance(store, MongoStore)
    return [doc_to_task(d) for d in store.tasks.find({})]


def held_by(store: TaskStore, proc: Proc) -> list[Task]:
    """Tasks RUNNING under a lease of ``proc``'s worker."""
    return [t for t in all_tasks(store) if t.status == TaskStatus.RUNNING
            and (t.locked_by or "").startswith(proc.worker_prefix)]


class Events:
    """The JSON lines :mod:`faults.taskplugins` appends: run starts and accepted completions."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return iter(())
        lines = self.path.read_text().splitlines()
        return iter([json.loads(line) for line in lines if line])

    def count(self, event: str) -> Counter[str]:
        return Counter(e["task"] for e in self if e["event"] == event)

    def by(self, event: str, task_id: str) -> list[dict[str, Any]]:
        return [e for e in self if e["event"] == event and e["task"] == task_id]


class Proc:
    def __init__(self, name: str, popen: subprocess.Popen[bytes], log: Path) -> None:
        self.name, self.popen, self.log = name, popen, log

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def worker_prefix(self) -> str:
        return f"worker-{self.pid}-"

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 25) -> str:
        return f"--- {self.name} (pid {self.pid}) log tail:\n" + "\n".join(
            self.text().splitlines()[-lines:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} did not exit within {timeout:g}s\n{self.tail()}") from None


class Procs:
    """Starts ``roost`` commands; whatever still runs at the end of the test is killed."""

    def __init__(self, workdir: Path, store_url: str, **settings: Any) -> None:
        self.workdir = workdir
        self.events = Events(workdir / "events.jsonl")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
        self.env.update({
            "ROOST_NO_ENTRY_POINTS": "1",
            "ROOST_STORE__URL": store_url,
            "ROOST_PLUGINS__MODULES": '["faults.taskplugins"]',
            "ROOST_RUNTIME__NAME": "mock",
            "ROOST_FAULTS_LOG": str(self.events.path),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        })
        self.env.update(env_settings(settings))
        self.started: list[Proc] = []

    def start(self, name: str, *args: str, **settings: Any) -> Proc:
        """``roost ARGS`` as a process; ``settings`` like ``worker__stale_timeout=2``."""
        log = self.workdir / f"{name}.log"
        env = {**self.env, **env_settings(settings)}
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "roost.core.cli", *args],
                cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def diagnose(self) -> str:
        return "\n".join(p.tail() for p in self.started)

    def close(self) -> None:
        for proc in self.started:
            if proc.alive():
                proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait()


def env_settings(settings: dict[str, Any]) -> dict[str, str]:
    return {f"ROOST_{key.upper()}": str(value) for key, value in settings.items()}
