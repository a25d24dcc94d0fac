"""``AsyncStore``: the typed async facade over a :class:`TaskStore`.

The event loop never waits on the database. Calls go to the store's own threads, except
small ones (at most :attr:`AsyncStore.LOOP_ROWS` rows) that the engine's
:meth:`TaskStore.nowait` handle can make without waiting: on SQLite a one-task enqueue is
~30 µs of work, a thread hop ~200 µs. A busy database sends the call to the threads. Each
method sizes its own calls; callers never say where a call runs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from .. import series
from ..errors import StoreUnavailable
from ..models import NewTask, QueueStats, RecordPage, Task, TaskQuery, TaskStatus, WorkerInfo
from .contract import TaskStore
from .group_commit import GroupCommit
from .transitions import Transition

T = TypeVar("T")
Op = Callable[[TaskStore], T]  # one engine call, made on whichever handle runs it
log = logging.getLogger("roost.store")


def _applying(changes: Sequence[Transition]) -> Op[list[bool]]:
    return lambda store: store.apply(changes)


def _log_upkeep_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("store upkeep failed (the next one retries): %s", done.exception())


class RecordCalls:
    """The records facade of :class:`AsyncStore` (plugin output, always in the store's
    threads), apart so that each class stays small."""

    async def _in_threads(self, op: Op[T]) -> T:
        raise NotImplementedError

    async def save_records(
        self, collection: str, records: Iterable[Mapping[str, Any]], key: str, task_id: str
    ) -> int:
        return await self._in_threads(lambda s: s.records.save(collection, records, key, task_id))

    async def find_records(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        return await self._in_threads(
            lambda s: s.records.find(collection, task_id=task_id, limit=limit)
        )

    async def records_found_by(
        self, collection: str, task_id: str, *, limit: int = 100, after: str | None = None
    ) -> RecordPage:
        return await self._in_threads(
            lambda s: s.records.found_by(collection, task_id, limit=limit, after=after)
        )


class AsyncStore(RecordCalls):
    """Runs a :class:`TaskStore`'s calls off the event loop, or on it when that cannot wait.

    ``on_enqueue`` callbacks let an in-process worker wake at once instead of polling.
    Enqueues are group-committed (:mod:`.group_commit`).
    """

    LOOP_ROWS = 32  # at most ~0.5 ms of SQLite work on the event loop
    UPKEEP_EVERY = 5_000  # rows written on the loop between two upkeeps in the threads

    def __init__(self, store: TaskStore) -> None:
        self.sync = store
        self._now = store.nowait()
        self._rows_since_upkeep = 0
        self._upkeep: asyncio.Future[None] | None = None
        self._pool = ThreadPoolExecutor(store.max_threads, thread_name_prefix="roost-store")
        self.on_enqueue: list[Callable[[], None]] = []
        self._enqueues = GroupCommit(
            lambda tasks: self._on_loop(lambda s: s.enqueue_many(tasks), len(tasks)),
            lambda tasks: self._in_threads(lambda s: s.enqueue_many(tasks)),
            self.LOOP_ROWS,
            self._woken,
        )

    @property
    def claim_size(self) -> int | None:
        """The largest claim that can run on the event loop; None when nothing runs there
        (then any size is as good)."""
        return None if self._now is None else self.LOOP_ROWS

    # -- where a call runs ---------------------------------------------------------------
    async def _in_threads(self, op: Op[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, op, self.sync)

    def _on_loop(self, op: Op[T], rows: int) -> T | None:
        """``op`` on the nowait handle when it touches at most ``LOOP_ROWS`` rows and the
        database is free at once; None when it could not be made without waiting."""
        if self._now is None or rows > self.LOOP_ROWS:
            return None
        try:
            out = op(self._now)
        except StoreUnavailable:
            return None  # busy (or really away: the threads' call will say so, after waiting)
        self._rows_since_upkeep += rows
        if self._rows_since_upkeep >= self.UPKEEP_EVERY and (
            self._upkeep is None or self._upkeep.done()
        ):
            self._rows_since_upkeep = 0
            self._upkeep = asyncio.get_running_loop().run_in_executor(self._pool, self.sync.upkeep)
            self._upkeep.add_done_callback(_log_upkeep_failure)
        return out

    async def _run(self, op: Op[T], rows: int) -> T:
        out = self._on_loop(op, rows)
        return await self._in_threads(op) if out is None else out

    def _woken(self) -> None:
        for wake in self.on_enqueue:
            wake()

    # -- the queue -----------------------------------------------------------------------
    async def setup(self) -> None:
        await self._in_threads(lambda s: s.setup())

    async def ping(self) -> None:
        await self._in_threads(lambda s: s.ping())

    async def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        """Store ``tasks``, all or none, sharing a commit with the enqueues of the same turn."""
        return await self._enqueues.enqueue_many(tasks)

    async def enqueue(self, task: NewTask) -> Task:
        return (await self.enqueue_many([task]))[0]

    async def claim(
        self,
        worker_id: str,
        types: Sequence[str] | None,
        limit: int,
        lease: float,
        *,
        unless: Callable[[], bool] | None = None,
    ) -> list[Task] | None:
        """:meth:`TaskStore.claim`. ``unless`` is asked when the call's turn comes in the
        threads: if true by then, nothing is claimed and the answer is None (a claim that
        queued behind a call stuck on a locked database, while the worker that wanted it
        stopped)."""

        def claim(store: TaskStore) -> list[Task] | None:
            if unless is not None and store is self.sync and unless():
                return None
            return store.claim(worker_id, types, limit, lease)

        out = self._on_loop(claim, limit)
        return await self._in_threads(claim) if out is None else out

    async def apply(self, changes: Sequence[Transition]) -> list[bool]:
        """:meth:`TaskStore.apply`: on the loop in pieces of ``LOOP_ROWS`` while the
        database is free, the rest in one write in the threads."""
        out: list[bool] = []
        start = 0
        while start < len(changes) and self._now is not None:
            piece = changes[start : start + self.LOOP_ROWS]
            done = self._on_loop(_applying(piece), len(piece))
            if done is None:
                break
            out += done
            start += len(piece)
        if start < len(changes):
            out += await self._in_threads(_applying(changes[start:]))
        return out

    async def apply_by(self, deadline: float, changes: Sequence[Transition]) -> list[bool]:
        """:meth:`TaskStore.apply` in one write answered by ``deadline``
        (``time.monotonic()``) or :class:`StoreUnavailable`: for the last writes of a
        shutdown, which must not queue behind calls stuck in the store's threads (each
        waiting out a locked database). Tried on the nowait handle, on the loop, again and
        again until the deadline; engines without one: in the threads, until the deadline."""
        if self._now is None:
            try:
                return await asyncio.wait_for(
                    self._in_threads(lambda s: s.apply(changes)),
                    max(0.0, deadline - time.monotonic()),
                )
            except TimeoutError:
                raise StoreUnavailable("no answer from the store in time") from None
        delay = 0.005
        while True:
            try:
                return self._now.apply(changes)
            except StoreUnavailable:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 0.1)  # SQLite's own busy handler polls the same way

    async def heartbeat(self, worker_id: str, leases: Mapping[str, str], lease: float) -> set[str]:
        return await self._run(lambda s: s.heartbeat(worker_id, leases, lease), len(leases))

    async def find_expired(self, now: datetime, limit: int) -> list[Task]:
        return await self._in_threads(lambda s: s.find_expired(now, limit))

    async def get(self, task_id: str) -> Task | None:
        return await self._in_threads(lambda s: s.get(task_id))

    async def stats(self) -> QueueStats:
        return await self._in_threads(lambda s: s.stats())

    # -- seeing and steering (operator calls: always in the threads) -----------------------
    async def list_tasks(self, query: TaskQuery) -> list[Task]:
        return await self._in_threads(lambda s: s.list_tasks(query))

    async def cancel(self, task_id: str) -> Task | None:
        return await self._in_threads(lambda s: s.cancel(task_id))

    async def cancel_requested(self, task_ids: Sequence[str]) -> set[str]:
        return await self._run(lambda s: s.cancel_requested(task_ids), len(task_ids))

    async def retry(self, task_id: str) -> Task | None:
        return await self._in_threads(lambda s: s.retry(task_id))

    async def redrive(self, statuses: Collection[TaskStatus], type: str | None, limit: int) -> int:
        return await self._in_threads(lambda s: s.redrive(statuses, type, limit))

    async def purge(
        self, statuses: Collection[TaskStatus], before: datetime, type: str | None, limit: int
    ) -> int:
        return await self._in_threads(lambda s: s.purge(statuses, before, type, limit))

    async def beat_worker(self, info: WorkerInfo) -> None:
        await self._in_threads(lambda s: s.beat_worker(info))

    async def remove_worker(self, worker_id: str) -> None:
        await self._in_threads(lambda s: s.remove_worker(worker_id))

    async def list_workers(self, now: datetime) -> list[WorkerInfo]:
        return await self._in_threads(lambda s: s.list_workers(now))

    async def queue_series(self, now: datetime) -> dict[str, Any]:
        """The last hour per minute (:func:`roost.core.series.read`), in one thread hop."""
        return await self._in_threads(lambda s: series.read(s, now))

    async def add_queue_sample(
        self, worker_id: str, at: datetime, retried: int
    ) -> series.QueueSample:
        return await self._in_threads(lambda s: s.add_queue_sample(worker_id, at, retried))

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._now is not None:
            self._now.close()
        self.sync.close()
