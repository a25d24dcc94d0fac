"""``TaskStore``: the thin driver contract every storage engine implements.

The thinnest layer that lets the queue run on an engine (River's ``riverdriver`` spirit):
enqueue, claim, ONE fenced :meth:`TaskStore.apply` for every state change after a claim,
heartbeat, and the reads. Engines carry changes out; what change an outcome becomes is
decided in :mod:`roost.core.lifecycle`. Engines are synchronous (simple to reason about,
testable from threads and processes); :class:`~roost.core.store.dispatch.AsyncStore` runs
them off the event loop.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime

from ..models import NewTask, QueueStats, Task
from ..records import RecordStore
from .transitions import Transition


class TaskStore(abc.ABC):
    """Durable task storage. Every write after a claim is fenced on ``(id, RUNNING, lease_id)``.

    A fenced change is refused (False) when the lease is no longer the caller's: the task
    was recovered and perhaps claimed by another worker, whose run must not be overwritten.
    """

    #: How many threads may call this engine at once from one :class:`AsyncStore`.
    max_threads: int = 1

    @property
    @abc.abstractmethod
    def records(self) -> RecordStore:
        """Plugin output (e.g. tweets) kept next to the queue: see :mod:`roost.core.records`."""

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
    def apply(self, changes: Sequence[Transition]) -> list[bool]:
        """Carry out ``changes``, in one write where the engine allows it (the built-in
        engines do), each fenced on its task being RUNNING under its ``lease_id`` (and, with
        ``expired_before``, that lease still expired then). The answer says, in order,
        which were applied. One change per task per call: a task given again in the same
        call is refused."""

    @abc.abstractmethod
    def heartbeat(self, worker_id: str, leases: Mapping[str, str], lease: float) -> set[str]:
        """Extend the leases ``{task_id: lease_id}`` in one write; return the ids still held."""

    @abc.abstractmethod
    def find_expired(self, now: datetime, limit: int) -> list[Task]:
        """Up to ``limit`` RUNNING tasks whose lease expired before ``now``, through an index
        (the rescuer's read; it decides in :mod:`roost.core.lifecycle` what becomes of them)."""

    @abc.abstractmethod
    def get(self, task_id: str) -> Task | None: ...

    @abc.abstractmethod
    def stats(self) -> QueueStats:
        """Counts per status, read in one consistent snapshot."""

    def nowait(self) -> TaskStore | None:
        """A second handle on the same database whose calls never wait: a busy database
        raises :class:`StoreUnavailable` at once, and no call runs :meth:`upkeep`.
        :class:`AsyncStore` runs small calls on it on the event loop, which saves a thread
        hop. None (the default) when the engine cannot promise that (network I/O)."""
        return None

    def upkeep(self) -> None:
        """Maintenance that writes through :meth:`nowait` skip (SQLite: a WAL checkpoint)."""
        return None


def first_per_task(changes: Sequence[Transition]) -> list[bool]:
    """Per change, in order: is it the first one of its task in ``changes`` (only those are
    applied: see :meth:`TaskStore.apply`)."""
    seen: set[str] = set()
    out = []
    for change in changes:
        out.append(change.task_id not in seen)
        seen.add(change.task_id)
    return out


def nothing_to_claim(types: Sequence[str] | None, limit: int) -> bool:
    """A claim that can take nothing: no room (``limit <= 0``) or no type (``types == []``)."""
    return limit <= 0 or (types is not None and not types)
