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
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from ..models import NewTask, QueueStats, Task, TaskQuery, TaskStatus, WorkerInfo
from ..records import RecordStore
from ..series import FinishedMinute, QueueSample
from .counts import TypeCount
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
        """Counts per status (all five), read in one consistent snapshot."""

    # -- seeing and steering tasks (the operator's calls; none of them is on the hot path) --

    @abc.abstractmethod
    def list_tasks(self, query: TaskQuery) -> list[Task]:
        """Up to ``query.limit`` tasks, newest first (id descending), filtered by status and
        type, ids below ``query.before`` only. Through an index for a status filter: a
        million DONE tasks must not make ``statuses={FAILED}`` slow."""

    @abc.abstractmethod
    def cancel(self, task_id: str) -> Task | None:
        """PENDING -> CANCELLED at once (``finished_at`` set, dedupe key released);
        RUNNING -> ``cancel_requested`` set (its worker looks for cancels every 10 s,
        stops the handler and applies :class:`~.transitions.Cancel`). Returns the task as
        it is after the change (a RUNNING task already being cancelled is returned again),
        or None when nothing changed: unknown id, or DONE/FAILED/CANCELLED."""

    @abc.abstractmethod
    def cancel_requested(self, task_ids: Sequence[str]) -> set[str]:
        """Of ``task_ids``, those RUNNING with a cancel requested (the heartbeat's read)."""

    @abc.abstractmethod
    def retry(self, task_id: str) -> Task | None:
        """FAILED or CANCELLED -> PENDING due now: attempts 0, ``finished_at``, result,
        lock and cancel request cleared, the error history kept. Returns the task after
        the change, or None when nothing changed (unknown id, or another status)."""

    @abc.abstractmethod
    def redrive(self, statuses: Collection[TaskStatus], type: str | None, limit: int) -> int:
        """What :meth:`retry` does, for up to ``limit`` tasks in ``statuses`` (a subset of
        FAILED/CANCELLED) of ``type`` (None: any), oldest first, in one write. Returns how
        many were requeued; callers repeat it for more (one write per chunk)."""

    @abc.abstractmethod
    def purge(
        self, statuses: Collection[TaskStatus], before: datetime, type: str | None, limit: int
    ) -> int:
        """Delete up to ``limit`` tasks in ``statuses`` (finished states only: PENDING and
        RUNNING are never deleted, whatever is asked) whose ``finished_at`` is before
        ``before``, oldest first, through an index on ``finished_at``, in one write. Records
        (tweets) stay. Returns how many were deleted; callers repeat it in small batches."""

    # -- the registry of live workers --

    @abc.abstractmethod
    def beat_worker(self, info: WorkerInfo) -> None:
        """Insert or replace ``info`` (by ``worker_id``): a worker calls it when it starts
        and on every heartbeat."""

    @abc.abstractmethod
    def remove_worker(self, worker_id: str) -> None:
        """Forget a worker that stopped cleanly (nothing when it is unknown)."""

    @abc.abstractmethod
    def list_workers(self, now: datetime) -> list[WorkerInfo]:
        """The workers whose ``expires_at`` is after ``now``, oldest ``started_at`` first;
        rows that expired more than an hour before ``now`` are deleted on the way."""

    def type_counts(self) -> list[TypeCount]:
        """How many tasks of each type are in each status, and the oldest due PENDING one,
        in one read (grouped; it may read every task: callers cache it). Engines that
        cannot count by type raise ``NotImplementedError``."""
        raise NotImplementedError(f"{type(self).__name__} cannot count tasks by type")

    def nowait(self) -> TaskStore | None:
        """A second handle on the same database whose calls never wait: a busy database
        raises :class:`StoreUnavailable` at once, and no call runs :meth:`upkeep`.
        :class:`AsyncStore` runs small calls on it on the event loop, which saves a thread
        hop. None (the default) when the engine cannot promise that (network I/O)."""
        return None

    def upkeep(self) -> None:
        """Maintenance that writes through :meth:`nowait` skip (SQLite: a WAL checkpoint)."""
        return None

    # -- the dashboard's last hour (see :mod:`roost.core.series`) --

    @abc.abstractmethod
    def finished_minutes(
        self, start: datetime, end: datetime, sampled: int
    ) -> list[FinishedMinute]:
        """The tasks that finished in ``[start, end)``, grouped by ``finished_at`` minute
        (minutes with none left out), through the index on ``finished_at``: counts by
        status, and the wait/run times of up to ``sampled`` of each minute's newest ones
        that ran (claimed: ``locked_at`` set)."""

    @abc.abstractmethod
    def add_queue_sample(self, worker_id: str, at: datetime, retried: int) -> QueueSample:
        """Count the PENDING and RUNNING tasks now, through their indexes (never the whole
        collection: every worker calls this every few seconds), and store them with
        ``retried`` as ``worker_id``'s sample of ``at``'s minute: one per minute and worker,
        a later one replacing the depth and adding its retries. Samples older than
        :data:`~roost.core.series.KEEP_SAMPLES` are deleted. Returns the stored sample."""

    @abc.abstractmethod
    def queue_samples(self, since: datetime) -> list[QueueSample]:
        """Every sample of a minute at or after ``since``, oldest minute first."""


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
