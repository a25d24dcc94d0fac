"""The ``TaskStore`` contract every storage engine implements, and its async facade.

Engines are synchronous (simple to reason about, testable from threads and processes);
:class:`AsyncStore` runs their calls off the event loop so aiohttp and the worker never
block on the database.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from .errors import StoreUnavailable
from .models import NewTask, QueueStats, Task

T = TypeVar("T")
log = logging.getLogger("roost.store")
_BUSY = object()  # a call the event loop could not make without waiting


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
        """Raise :class:`StoreUnavailable` when the database cannot be reached (or
        :class:`StoreCorrupt` when it is damaged). Reads the tasks themselves, cheaply
        (through an index): a health check that reads only metadata misses damage."""

    def exists(self) -> bool:
        """Whether the database was created already. Commands that only read or enqueue
        check it, so that one run in the wrong folder does not create an empty database.
        True by default: engines that create collections on demand (MongoDB)."""
        return True

    def location(self) -> str | None:
        """Where the data lives when the URL alone does not say (SQLite: the file's
        absolute path), for start-up logs and error messages."""
        return None

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

    def release_many(self, items: Sequence[tuple[str, str]], now: datetime) -> list[bool]:
        """Give running tasks ``(task_id, lease_id)`` back, due at ``now``, without charging
        their attempts, each fenced on its lease: what a stopping worker still holds, in
        one write (one statement or command; the built-in engines do), so a shutdown
        waits for a locked database once, not once per task. The answer says, in order,
        which were released (a task given twice is released once)."""
        seen: set[str] = set()
        out = []
        for task_id, lease_id in items:
            out.append(task_id not in seen and self.release(task_id, lease_id, now))
            seen.add(task_id)
        return out

    def nowait(self) -> TaskStore | None:
        """A second handle on the same database whose calls never wait: a busy database
        raises :class:`StoreUnavailable` at once, and no call runs :meth:`upkeep`.
        :class:`AsyncStore` runs small calls on it on the event loop, which saves a thread
        hop. None (the default) when the engine cannot promise that (network I/O)."""
        return None

    def upkeep(self) -> None:
        """Maintenance that writes through :meth:`nowait` skip (SQLite: a WAL checkpoint)."""
        return None


def _unless(
    unless: Callable[[], bool], fn: Callable[..., T], *args: Any, **kwargs: Any
) -> T | None:
    return None if unless() else fn(*args, **kwargs)


def _log_upkeep_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.warning("store upkeep failed (the next one retries): %s", done.exception())


class AsyncStore:
    """Runs a :class:`TaskStore`'s calls off the event loop, or on it when that cannot wait.

    The event loop never waits on the database. Calls go to the store's own threads, except
    small ones (:meth:`quick`, at most ``INLINE_ROWS`` rows) that the engine's
    :meth:`TaskStore.nowait` handle can make without waiting: on SQLite a one-task enqueue
    is ~30 µs of work, a thread hop ~200 µs. A busy database sends the call to the threads.

    ``on_enqueue`` callbacks let an in-process worker wake at once instead of polling.
    Enqueues are group-committed: the calls of one loop turn after the first, and those
    that arrive while a write is in the threads (e.g. concurrent HTTP requests), share
    one transaction.
    """

    INLINE_ROWS = 32  # at most ~0.5 ms of SQLite work on the event loop
    UPKEEP_EVERY = 5_000  # rows written on the loop between two upkeeps in the threads

    def __init__(self, store: TaskStore) -> None:
        self.sync = store
        self._now = store.nowait()
        self._now_rows = 0
        self._upkeep: asyncio.Future[None] | None = None
        self._pool = ThreadPoolExecutor(store.max_threads, thread_name_prefix="roost-store")
        self.on_enqueue: list[Callable[[], None]] = []
        self._enqueues: list[tuple[Sequence[NewTask], asyncio.Future[list[Task]]]] = []
        self._enqueuer: asyncio.Task[None] | None = None
        self._flush_soon = False
        self._wrote_this_turn = False  # an enqueue was written at once in this loop turn
        self._yielding = False  # a call gives the loop a turn before it writes

    @property
    def chunk(self) -> int | None:
        """The most rows a caller should put in one :meth:`quick` call to keep it on the
        loop; None when nothing runs there (then any size is as good)."""
        return None if self._now is None else self.INLINE_ROWS

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in the store's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(fn, *args, **kwargs))

    async def quick(
        self,
        name: str,
        *args: Any,
        rows: int = 1,
        unless: Callable[[], bool] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The engine's method ``name``: on the event loop when it touches at most
        ``INLINE_ROWS`` rows and the database is free at once, else in the threads.

        ``unless`` is asked when the call's turn comes in the threads: if true by then,
        the engine is not called and the answer is None (a claim that queued behind a
        call stuck on a locked database, while the worker that wanted it stopped)."""
        out = self._try_now(name, args, kwargs, rows)
        if out is _BUSY:
            fn = getattr(self.sync, name)
            if unless is not None:
                fn = partial(_unless, unless, fn)
            return await self.call(fn, *args, **kwargs)
        return out

    async def call_by(self, deadline: float, name: str, *args: Any) -> Any:
        """The engine's method ``name``, answered by ``deadline`` (``time.monotonic()``)
        or :class:`StoreUnavailable`: for the last writes of a shutdown, which must not
        queue behind calls stuck in the store's threads (each waiting out a locked
        database). Tried on the :meth:`TaskStore.nowait` handle, on the loop, again and
        again until the deadline; engines without one: in the threads, waited for until
        the deadline."""
        if self._now is None:
            try:
                return await asyncio.wait_for(
                    self.call(getattr(self.sync, name), *args),
                    max(0.0, deadline - time.monotonic()),
                )
            except TimeoutError:
                raise StoreUnavailable("no answer from the store in time") from None
        delay = 0.005
        while True:
            try:
                return getattr(self._now, name)(*args)
            except StoreUnavailable:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 0.1)  # SQLite's own busy handler polls the same way

    def _try_now(self, name: str, args: Sequence[Any], kwargs: Mapping[str, Any], rows: int) -> Any:
        if self._now is None or rows > self.INLINE_ROWS:
            return _BUSY
        try:
            out = getattr(self._now, name)(*args, **kwargs)
        except StoreUnavailable:
            return _BUSY  # busy (or really away: the threads' call will say so, after waiting)
        self._now_rows += rows
        if self._now_rows >= self.UPKEEP_EVERY and (self._upkeep is None or self._upkeep.done()):
            self._now_rows = 0
            self._upkeep = asyncio.get_running_loop().run_in_executor(self._pool, self.sync.upkeep)
            self._upkeep.add_done_callback(_log_upkeep_failure)
        return out

    async def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        """Store ``tasks``, all or none.

        A call writes at once (on the loop when it can) unless a write was made in this
        loop turn: then it first gives the loop one turn, so other coroutines run, and if
        other calls gathered meanwhile, they all share one commit (group commit)."""
        loop = asyncio.get_running_loop()
        if self._wrote_this_turn and not self._enqueues and not self._yielding:
            self._yielding = True  # the calls arriving meanwhile queue for a shared commit
            try:
                await asyncio.sleep(0)
            finally:
                self._yielding = False
        if (
            not self._enqueues
            and not self._wrote_this_turn
            and not self._yielding
            and (self._enqueuer is None or self._enqueuer.done())
        ):
            out = self._try_now("enqueue_many", (tasks,), {}, len(tasks))
            if out is not _BUSY:
                self._wrote_this_turn = True
                loop.call_soon(self._end_turn)
                for wake in self.on_enqueue:
                    wake()
                return out  # type: ignore[no-any-return]
        stored: asyncio.Future[list[Task]] = loop.create_future()
        self._enqueues.append((tasks, stored))
        if not self._flush_soon and (self._enqueuer is None or self._enqueuer.done()):
            self._flush_soon = True
            loop.call_soon(self._flush_enqueues)
        return await stored

    def _end_turn(self) -> None:
        self._wrote_this_turn = False

    def _flush_enqueues(self) -> None:
        """Write the calls queued in this loop turn on the loop, at most ``INLINE_ROWS``
        rows a commit; what cannot be written at once goes to the threads in one write."""
        self._flush_soon = False
        while self._enqueues:
            rows = take = 0
            for tasks, _ in self._enqueues:
                if take and rows + len(tasks) > self.INLINE_ROWS:
                    break
                rows, take = rows + len(tasks), take + 1
            batch = self._enqueues[:take]
            try:
                out = self._try_now("enqueue_many", ([t for ts, _ in batch for t in ts],), {}, rows)
            except Exception as exc:  # e.g. a payload that is not JSON: nothing was stored
                out = exc
            if out is _BUSY:
                break
            del self._enqueues[:take]
            self._answer(batch, out)
        if self._enqueues and (self._enqueuer is None or self._enqueuer.done()):
            self._enqueuer = asyncio.create_task(self._write_enqueues(), name="enqueues")

    async def _write_enqueues(self) -> None:
        while self._enqueues:
            batch, self._enqueues = self._enqueues, []
            try:
                stored = await self.call(
                    self.sync.enqueue_many, [task for tasks, _ in batch for task in tasks]
                )
            except BaseException as exc:  # nothing of the batch was stored: each caller hears
                self._answer(batch, exc)
                if isinstance(exc, asyncio.CancelledError):
                    for _, answer in self._enqueues:
                        answer.cancel()
                    self._enqueues = []
                    raise
                continue
            self._answer(batch, stored)

    def _answer(
        self,
        batch: list[tuple[Sequence[NewTask], asyncio.Future[list[Task]]]],
        stored: list[Task] | BaseException,
    ) -> None:
        """Each caller of ``batch`` gets its own slice of ``stored``, or the exception."""
        start = 0
        for tasks, answer in batch:
            if answer.done():  # the caller was cancelled (its tasks are stored all the same)
                pass
            elif isinstance(stored, BaseException):
                answer.set_exception(stored)
            else:
                answer.set_result(stored[start : start + len(tasks)])
            start += len(tasks)
        if not isinstance(stored, BaseException):
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
        if self._now is not None:
            self._now.close()
        self.sync.close()
