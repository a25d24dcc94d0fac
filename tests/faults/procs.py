"""Real ``roost`` processes for the fault tests, polling with a deadline, and their verdict.

Each process runs ``python -m roost.core.cli ...`` in the test's temporary folder (so no
``settings.toml`` of the checkout applies), configured through ``ROOST_*`` variables,
with :mod:`faults.taskplugins` loaded and its run log at ``$ROOST_FAULTS_LOG``.

The tests read the store only through its public contract (``get`` for the ids they
enqueued, ``stats``), so they hold for any engine behind a URL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
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


def read_tasks(store: TaskStore, ids: Iterable[str]) -> dict[str, Task]:
    """Each of ``ids``, read with ``store.get``; one the store does not know is a lost task."""
    tasks = {}
    for tid in ids:
        task = store.get(tid)
        assert task is not None, f"task {tid} is lost: the store does not know it"
        tasks[tid] = task
    return tasks


def held_by(store: TaskStore, proc: Proc, ids: Iterable[str]) -> list[Task]:
    """The tasks of ``ids`` RUNNING under a lease of ``proc``'s worker."""
    return [
        t
        for t in read_tasks(store, ids).values()
        if t.status == TaskStatus.RUNNING and (t.locked_by or "").startswith(proc.worker_prefix)
    ]


@dataclass(frozen=True)
class Run:
    """One run of a task, as its handler logged it: which claim (lease), by whom, when."""

    task: str
    lease: str
    attempt: int
    pid: int
    claimed: float  # the claim's time and its lease's first expiry, as the store set them
    expires: float
    started: float


class Events:
    """The JSON lines :mod:`faults.taskplugins` appends: runs and accepted completions."""

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

    def runs(self) -> dict[str, list[Run]]:
        """Every task's runs, in the order of their claims."""
        runs: dict[str, list[Run]] = defaultdict(list)
        for e in self:
            if e["event"] == "start":
                runs[e["task"]].append(
                    Run(
                        e["task"],
                        e["lease"],
                        e["attempt"],
                        e["pid"],
                        e["claimed"],
                        e["expires"],
                        e["t"],
                    )
                )
        for mine in runs.values():
            mine.sort(key=lambda r: (r.claimed, r.started))
        return dict(runs)


def assert_history(
    store: TaskStore,
    ids: Collection[str],
    events: Events,
    *,
    failing: Collection[str] = (),
    frozen: Iterable[Task] = (),
) -> dict[str, Task]:
    """The verdict of every fault test, from two independent sources: the store (through
    its public contract) and the runs the handlers logged. Returns the tasks by id.

    - No task lost: the store has every id, and its counts are exactly these tasks'.
    - At most one accepted completion per task: only for a DONE task, of its last run,
      whose result it stores (also when the run's process died before its hook could say so).
    - Every re-run explained: the run before it was claimed again only after its lease had
      expired (a recovered lease), or it failed on purpose (``failing``: the retry policy);
      and each re-run charged one attempt. A released run (shutdown) is never re-run here.
      A run's lease expiry is the claim's, or for ``frozen`` (tasks read once nothing could
      extend their leases any more: their worker dead or stopped) the last one stored.
    """
    ids = set(ids)
    tasks = read_tasks(store, ids)
    stats = store.stats()
    assert stats.total == len(ids), f"the store holds {stats.total} tasks, the test made {len(ids)}"
    statuses = Counter(t.status for t in tasks.values())
    for status in TaskStatus:
        if hasattr(stats, status.value.lower()):
            assert getattr(stats, status.value.lower()) == statuses[status], (stats, statuses)

    runs = events.runs()
    final = {
        (t.id, t.lease_id): t.lease_expires_at.timestamp()
        for t in frozen
        if t.lease_expires_at is not None
    }
    accepted: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        if e["event"] == "accepted":
            accepted[e["task"]].append(e)
    assert set(runs) <= ids and set(accepted) <= ids, "a run of a task this test did not make"
    for tid, task in tasks.items():
        mine = runs.get(tid, [])
        assert len({r.lease for r in mine}) == len(mine), f"{tid}: one claim ran twice: {mine}"
        done = accepted.get(tid, [])
        assert len(done) <= 1, f"{tid}: {len(done)} accepted completions: {done}"
        if done:
            assert mine, f"{tid}: a completion accepted, but no run started: {done}"
            assert task.status == TaskStatus.DONE, f"{tid}: completion accepted, but {task}"
            assert (done[0]["lease"], done[0]["attempt"]) == (mine[-1].lease, task.attempts), (
                f"{tid}: the accepted completion {done[0]} is not of the last run {mine[-1]}"
            )
        if task.status == TaskStatus.DONE and task.result and "lease" in task.result:
            assert mine and task.result["lease"] == mine[-1].lease, (
                f"{tid}: the stored result {task.result} is not the last run's: {mine}"
            )
        for before, after in pairwise(mine):
            expired = max(before.expires, final.get((tid, before.lease), before.expires))
            assert after.claimed > expired or tid in failing, (
                f"{tid} ran again before the lease of its earlier run had expired, and that run "
                f"was not meant to fail:\n  {before}\n  {after}"
            )
            assert after.attempt == before.attempt + 1, f"{tid}: a re-run not charged: {mine}"
    return tasks


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
            self.text().splitlines()[-lines:]
        )

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def deliver(self, sig: int) -> None:
        """Send ``sig`` and wait until the process has taken it (no longer pending): its
        handler has run, so a next signal is a second one, never merged into this one."""
        self.signal(sig)
        wait_until(
            lambda: not self._pending(sig), 10, f"{self.name} to take signal {sig}", self.tail
        )

    def _pending(self, sig: int) -> bool:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except FileNotFoundError:  # gone: nothing is pending any more
            return False
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pending = int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
        return bool(pending >> (sig - 1) & 1)

    def wait(self, timeout: float) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.name} did not exit within {timeout:g}s\n{self.tail()}"
            ) from None


class Procs:
    """Starts ``roost`` commands; whatever still runs at the end of the test is killed."""

    def __init__(self, workdir: Path, store_url: str, **settings: Any) -> None:
        self.workdir = workdir
        self.events = Events(workdir / "events.jsonl")
        self.gate = workdir / "gate"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
        self.env.update(
            {
                "ROOST_NO_ENTRY_POINTS": "1",
                "ROOST_STORE__URL": store_url,
                "ROOST_PLUGINS__MODULES": '["faults.taskplugins"]',
                "ROOST_RUNTIME__NAME": "mock",
                # recovery charges the attempt and waits the retry policy's delay: a short one,
                # so a scenario sees a crashed worker's tasks run again within its deadline
                "ROOST_RETRY__STRATEGY": "fixed",
                "ROOST_RETRY__BASE_DELAY": "0.1",
                "ROOST_RETRY__JITTER": "0",
                "ROOST_FAULTS_LOG": str(self.events.path),
                "ROOST_FAULTS_GATE": str(self.gate),
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])
                ),
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.env.update(env_settings(settings))
        self.started: list[Proc] = []

    def start(self, name: str, *args: str, **settings: Any) -> Proc:
        """``roost ARGS`` as a process; ``settings`` like ``worker__lease=2``."""
        log = self.workdir / f"{name}.log"
        env = {**self.env, **env_settings(settings)}
        with log.open("ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "roost.core.cli", *args],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def open_gate(self, n: int | None = None) -> None:
        """Let every GATED run (of every process) finish, or those of payload ``n``."""
        (self.gate if n is None else self.gate.with_name(f"{self.gate.name}.{n}")).touch()

    def diagnose(self) -> str:
        return "\n".join(p.tail() for p in self.started)

    def close(self) -> None:
        for proc in self.started:
            if proc.alive():
                proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait()


def env_settings(settings: dict[str, Any]) -> dict[str, str]:
    return {f"ROOST_{key.upper()}": str(value) for key, value in settings.items()}
