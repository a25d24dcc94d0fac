"""The ``TaskStore`` contract every storage engine implements, and its async facade.

Engines are synchronous (simple to reason about, testable from threads and processes);
:class:`AsyncStore` runs their calls off the event loop so aiohttp and the worker never
block on the database.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from .models import NewTask, QueueStats, Task

T = TypeVar("T")


class TaskStore(abc.ABC):
    """Durable task storage. Every write after a claim is fenced on ``(id, RUNNING, lease_id)``.

    A fenced write returns False when the lease is no longer the caller's: the task was
    recovered and perhaps claimed by another worker, whose run must not be overwritten.
    """

    #: How many threads may call this engine at once from one :class:`AsyncStore`.
    max_threads: int = 1

    @abc.abstractmethod
    def setup(self) -> None:
        """Create tables/indexes if missing. Idempotent; called once at start-up."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` when the database cannot be reached."""

    @abc.abstractmethod
    def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        """Store new PENDING tasks in one write. A task whose ``dedupe_key`` matches an
        unfinished task is not stored again: that task is returned in its place."""

    def enqueue(self, task: NewTask) -> Task:
        return self.enqueue_many([task])[0]

    @abc.abstractmethod
    def claim(
        self, worker_id: str, types: Sequence[str] | None, limit: int, lease: float
    ) -> list[Task]:
        """Atomically move up to ``limit`` due PENDING tasks to RUNNING for ``worker_id``.

        Highest priority first, then oldest ``next_run_at``. Each claimed task gets
        ``attempts + 1``, a fresh ``lease_id`` and ``lease_expires_at = now + lease``.
        ``types=None`` claims any type.
        """

    @abc.abstractmethod
    def complete(self, task_id: str, lease_id: str, result: dict[str, Any] | None) -> bool:
        """RUNNING -> DONE, fenced."""

    def complete_many(self, items: Sequence[tuple[str, str, dict[str, Any] | None]]) -> list[bool]:
        """Several :meth:`complete` calls ``(task_id, lease_id, result)``, in one write where
        the engine allows it. Each is fenced on its own lease, as :meth:`complete` is; the
        answer says, in order, which were accepted (a task given twice is accepted once)."""
        return [self.complete(*item) for item in items]

    @abc.abstractmethod
    def reschedule(
        self, task_id: str, lease_id: str, run_at: datetime, error: str | None, *, charge: bool
    ) -> bool:
        """RUNNING -> PENDING at ``run_at``, fenced. ``charge=False`` gives the attempt back."""

    @abc.abstractmethod
    def fail(self, task_id: str, lease_id: str, error: str) -> bool:
        """RUNNING -> FAILED for good, fenced."""

    @abc.abstractmethod
    def heartbeat(self, worker_id: str, leases: Mapping[str, str], lease: float) -> set[str]:
        """Extend the leases ``{task_id: lease_id}`` in one write; return the ids still held."""

    @abc.abstractmethod
    def checkpoint(self, task_id: str, lease_id: str, data: dict[str, Any]) -> bool:
        """Save resumable progress on a running task, fenced. A retry sees it on ``task.checkpoint``."""

    @abc.abstractmethod
    def recover(self) -> int:
        """Expired leases: back to PENDING, or FAILED when no attempts are left. Returns how many."""

    @abc.abstractmethod
    def get(self, task_id: str) -> Task | None: ...

    @abc.abstractmethod
    def stats(self) -> QueueStats:
        """Counts per status, read in one consistent snapshot."""

    @abc.abstractmethod
    def save_records(
        self, collection: str, records: Iterable[Mapping[str, Any]], key: str, task_id: str
    ) -> int:
        """Upsert plugin output (e.g. tweets) by ``record[key]``, remembering that ``task_id``
        found it. Returns how many records were written."""

    @abc.abstractmethod
    def find_records(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Records of ``collection`` (those ``task_id`` found, when given), each with ``taskIds``."""

    def release(self, task_id: str, lease_id: str, now: datetime) -> bool:
        """Give a running task back (shutdown) without charging the attempt."""
        return self.reschedule(task_id, lease_id, now, None, charge=False)


class AsyncStore:
    """Runs a :class:`TaskStore`'s calls in its own threads, off the event loop.

    ``on_enqueue`` callbacks let an in-process worker wake at once instead of polling.
    Enqueues are group-committed: the calls that arrive while a write is under way (e.g.
    concurrent HTTP requests) are stored together by the next write, in one transaction.
    """

    def __init__(self, store: TaskStore) -> None:
        self.sync = store
        self._pool = ThreadPoolExecutor(store.max_threads, thread_name_prefix="roost-store")
        self.on_enqueue: list[Callable[[], None]] = []
        self._enqueues: list[tuple[Sequence[NewTask], asyncio.Future[list[Task]]]] = []
        self._enqueuer: asyncio.Task[None] | None = None

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(fn, *args, **kwargs))

    async def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        """Store ``tasks`` (in one write, shared with concurrent callers); all or none."""
        stored: asyncio.Future[list[Task]] = asyncio.get_running_loop().create_future()
        self._enqueues.append((tasks, stored))
        if self._enqueuer is None or self._enqueuer.done():
            self._enqueuer = asyncio.create_task(self._write_enqueues(), name="enqueues")
        return await stored

    async def _write_enqueues(self) -> None:
        while self._enqueues:
            batch, self._enqueues = self._enqueues, []
            try:
                stored = await self.call(
                    self.sync.enqueue_many, [task for tasks, _ in batch for task in tasks]
                )
            except BaseException as exc:  # nothing of the batch was stored: each caller hears
                for _, answer in batch:
                    if not answer.done():
                        answer.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    for _, answer in self._enqueues:
                        answer.cancel()
                    self._enqueues = []
                    raise
                continue
            start = 0
            for tasks, answer in batch:
                if not answer.done():
                    answer.set_result(stored[start : start + len(tasks)])
                start += len(tasks)
            for wake in self.on_enqueue:
                wake()

    async def enqueue(self, task: NewTask) -> Task:
        return (await self.enqueue_many([task]))[0]

    async def get(self, task_id: str) -> Task | None:
        return await self.call(self.sync.get, task_id)

    async def stats(self) -> QueueStats:
        return await self.call(self.sync.stats)

    async def recover(self) -> int:
        return await self.call(self.sync.recover)

    async def ping(self) -> None:
        await self.call(self.sync.ping)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.sync.close()
