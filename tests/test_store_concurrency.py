"""Claims and counts while several workers use one database at the same time.

These tests prove something only where the calls really overlap: on SQLite (threads with
their own connections, and processes) and on the wire lane (pymongo over TCP, where a
batch claim is several commands that other workers' commands can interleave with). The
Mongo engine runs every mongomock call behind one process-wide lock (mongomock is not
thread-safe), so on that lane the threads take turns call by call: the ``mongomock-serialised``
variants check the sequential logic only and cannot catch a race.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
from collections import Counter
from collections.abc import Callable, Sequence

import pytest
from roost.core.models import Task, TaskStatus
from roost.core.store import TaskStore
from storekit import add, complete, fail

CONCURRENT = pytest.mark.parametrize(
    "engine", ["sqlite", "wire", pytest.param("mongomock", id="mongomock-serialised")]
)


class StatsWatcher:
    """A thread with its own connection that reads ``stats()`` over and over, and notes
    every snapshot whose counts do not add up to ``total``."""

    def __init__(self, open_store: Callable[[], TaskStore], total: int) -> None:
        self.total = total
        self.store = open_store()
        self.reads = 0
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch)

    def __enter__(self) -> StatsWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            s = self.store.stats()
            self.reads += 1
            if (
                s.pending + s.running + s.done + s.failed + s.cancelled != self.total
                or s.total != self.total
            ):
                self.bad.append(repr(s))


def settle(store: TaskStore, batch: Sequence[Task]) -> None:
    """Finish a claimed batch the way workers do: every other task fails."""
    for i, task in enumerate(batch):
        assert task.lease_id is not None
        if i % 2:
            assert fail(store, task.id, task.lease_id, "x")
        else:
            assert complete(store, task.id, task.lease_id, {"ok": True})


@CONCURRENT
def test_claims_from_many_threads_never_overlap(open_store: Callable[[], TaskStore]) -> None:
    ids = set(add(open_store(), 200))
    claimed: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(n: int) -> None:
        store = open_store()  # its own connection, like another process
        start.wait()  # all six claim at the same moment
        while batch := store.claim(f"w{n}", None, 3, 60):
            with lock:
                claimed.extend(t.id for t in batch)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert set(claimed) == ids


@CONCURRENT
def test_stats_add_up_while_workers_change_states(open_store: Callable[[], TaskStore]) -> None:
    first = open_store()
    add(first, 150)
    start = threading.Barrier(3)

    def work(n: int) -> None:
        store = open_store()
        start.wait()
        while batch := store.claim(f"w{n}", None, 2, 60):
            settle(store, batch)

    with StatsWatcher(open_store, 150) as watcher:
        workers = [threading.Thread(target=work, args=(n,)) for n in range(3)]
        for t in workers:
            t.start()
        for t in workers:
            t.join()
    assert watcher.bad == [] and watcher.reads > 0
    s = first.stats()
    assert (s.pending, s.running, s.done + s.failed, s.total) == (0, 0, 150, 150)
    assert s.done and s.failed  # (a contended Mongo batch claim may take fewer than asked)


@pytest.mark.parametrize("engine", ["sqlite"])
def test_sqlite_processes_never_claim_a_task_twice_and_stats_add_up(
    open_store: Callable[[], TaskStore],
) -> None:
    store = open_store()
    ids = set(add(store, 400))
    ctx = mp.get_context("spawn")
    with StatsWatcher(open_store, 400) as watcher, ctx.Pool(4) as pool:
        results = pool.map(_claim_and_settle, [(store.url, f"p{n}") for n in range(4)])  # type: ignore[attr-defined]
    claimed = [tid for batch in results for tid in batch]
    assert Counter(claimed).most_common(1)[0][1] == 1
    assert set(claimed) == ids
    assert watcher.bad == [] and watcher.reads > 0
    s = store.stats()
    assert (s.pending, s.running, s.done + s.failed, s.total) == (0, 0, 400, 400)
    assert all(store.get(t).status in (TaskStatus.DONE, TaskStatus.FAILED) for t in ids)  # type: ignore[union-attr]


def _claim_and_settle(args: tuple[str, str]) -> list[str]:
    """A worker process: claim 5 at a time until nothing is left; the ids it claimed."""
    from roost.core.stores.sqlite import SQLiteStore

    url, worker = args
    store = SQLiteStore(url)
    out: list[str] = []
    while batch := store.claim(worker, None, 5, 60):
        out.extend(t.id for t in batch)
        settle(store, batch)
    store.close()
    return out
