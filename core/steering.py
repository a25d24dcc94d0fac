"""Seeing and steering tasks from Python: the operator's calls on :class:`~roost.core.Roost`.

List, cancel, retry, redrive, purge, the live workers and the records a task found. Every
argument is checked by :mod:`.steer_args` (HTTP and the CLI call these same methods), so a
mistake is a :class:`ValidationFailed` naming the argument, raised before anything changes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta

import pluggy

from . import steer_args as args
from .errors import NotCancellable, NotFound, NotRetryable
from .models import FINISHED, RETRYABLE, Task, TaskQuery, TaskStatus, WorkerInfo, utcnow
from .pages import (
    ResultsPage,
    TaskPage,
    results_cursor,
    results_position,
    tasks_cursor,
    tasks_position,
)
from .store import AsyncStore
from .worker.events import Events

log = logging.getLogger("roost")
#: Called with how many tasks a bulk call changed so far, after each chunk.
Progress = Callable[[int], None]
StatusArg = str | TaskStatus | Iterable[str | TaskStatus] | None
LIST_MAX, RESULTS_MAX = 500, 1000
#: Tasks requeued or deleted per write by :meth:`Steering.redrive` and :meth:`Steering.purge`.
CHUNK = 500
#: The records of a plugin the Twitter task types save to (``Roost.tweets``).
TWEETS = "tweets"


class Steering:
    """Mixed into :class:`~roost.core.Roost`: its store and plugins are all these need."""

    store: AsyncStore
    pm: pluggy.PluginManager

    async def list_tasks(
        self,
        status: StatusArg = None,
        type: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> TaskPage:
        """Tasks newest first, filtered by ``status`` (one, ``"FAILED,CANCELLED"`` or an
        iterable) and ``type``; ``limit`` 1..500. Pass ``page.next_cursor`` back as
        ``cursor`` for the next page: paging is stable while tasks are enqueued."""
        query = TaskQuery(
            statuses=args.statuses(status),
            type=args.task_type(type),
            limit=args.limit(limit, 1, LIST_MAX) + 1,  # one more says whether a next page exists
            before=None if cursor is None else tasks_position(cursor),
        )
        tasks = await self.store.list_tasks(query)
        if len(tasks) < query.limit:
            return TaskPage(tasks, None)
        tasks = tasks[: query.limit - 1]
        return TaskPage(tasks, tasks_cursor(tasks[-1]))

    async def cancel(self, task_id: str) -> Task:
        """PENDING: CANCELLED at once (fires ``task_cancelled``). RUNNING: the cancel is
        requested (``cancel_requested``); its worker stops the handler within 10 s and
        the task ends CANCELLED. :class:`NotFound`, or :class:`NotCancellable` once ended."""
        tid = args.task_id(task_id)
        for _ in range(3):  # a task retried between the two reads is cancellable again
            task = await self.store.cancel(tid)
            if task is not None:
                if task.status == TaskStatus.CANCELLED:
                    Events(self.pm).fire("task_cancelled", task=task)
                    log.info("task cancelled id=%s type=%s", task.id, task.type)
                else:
                    log.info("task cancel requested id=%s type=%s", task.id, task.type)
                return task
            now = await self._existing(tid)
            if now.status in FINISHED:
                raise NotCancellable(
                    f"task {tid} is {now.status.value}: only PENDING or RUNNING tasks can be "
                    "cancelled",
                    tid,
                    now.status.value,
                )
        raise NotCancellable(f"task {tid} changed while being cancelled; try again", tid, "")

    async def retry(self, task_id: str) -> Task:
        """FAILED or CANCELLED: PENDING due now, attempts back to 0, the error history kept.
        :class:`NotFound`, or :class:`NotRetryable` in any other status."""
        tid = args.task_id(task_id)
        task = await self.store.retry(tid)
        if task is None:
            now = await self._existing(tid)
            raise NotRetryable(
                f"task {tid} is {now.status.value}: only FAILED or CANCELLED tasks can be retried",
                tid,
                now.status.value,
            )
        self._wake()
        log.info("task requeued id=%s type=%s", task.id, task.type)
        return task

    async def redrive(
        self,
        type: str | None = None,
        status: StatusArg = TaskStatus.FAILED,
        limit: int | None = None,
        progress: Progress | None = None,
    ) -> int:
        """:meth:`retry` in bulk: up to ``limit`` (None: all) tasks in ``status`` (FAILED
        and/or CANCELLED) of ``type`` (None: any), oldest first, one write per chunk.
        Returns how many were requeued; ``progress`` hears the count after each chunk."""
        statuses = args.statuses(status, allowed=RETRYABLE) or frozenset({TaskStatus.FAILED})
        kind = args.task_type(type)
        wanted = None if limit is None else args.limit(limit, 1, None)
        bound = await self._counted(statuses)  # a task that fails again meanwhile: not twice
        left = bound if wanted is None else min(wanted, bound)
        done = await self._chunked(lambda n: self.store.redrive(statuses, kind, n), left, progress)
        if done:
            self._wake()
            log.info("tasks requeued count=%d statuses=%s", done, ",".join(sorted(statuses)))
        return done

    async def purge(
        self,
        status: StatusArg,
        older_than: float | timedelta | str | datetime,
        type: str | None = None,
        progress: Progress | None = None,
    ) -> int:
        """Delete tasks in ``status`` (DONE, FAILED and/or CANCELLED: PENDING and RUNNING
        never) that finished before ``older_than`` ago (seconds, a timedelta, ``"7d"``) or
        before an aware time; of ``type`` (None: any). The records they found stay. In
        chunks, one write each; returns how many were deleted."""
        if status is None:
            raise args.failed(
                "status", "give the finished statuses to purge: DONE, FAILED, CANCELLED"
            )
        statuses = args.statuses(status, allowed=FINISHED)
        assert statuses is not None
        before = args.cutoff(older_than, utcnow())
        kind = args.task_type(type)
        left = await self._counted(statuses)
        done = await self._chunked(
            lambda n: self.store.purge(statuses, before, kind, n), left, progress
        )
        if done:
            log.info("tasks purged count=%d statuses=%s", done, ",".join(sorted(statuses)))
        return done

    async def workers(self) -> list[WorkerInfo]:
        """Every live worker process sharing this store, on any machine, oldest first."""
        return await self.store.list_workers(utcnow())

    async def records(
        self, collection: str, task_id: str, limit: int = 100, cursor: str | None = None
    ) -> ResultsPage:
        """The records of ``collection`` that task ``task_id`` found, in the order found,
        each with ``taskIds``; ``limit`` 1..1000. :class:`NotFound` for an unknown task."""
        name = args.text(collection, "collection")
        tid = args.task_id(task_id)
        size = args.limit(limit, 1, RESULTS_MAX)
        await self._existing(tid)  # first: an unknown task is a 404, whatever the cursor says
        after = None if cursor is None else results_position(cursor, name, tid)
        try:
            page = await self.store.records_found_by(name, tid, limit=size, after=after)
        except ValueError:  # a position this engine never gave (an edited cursor, another store's)
            raise args.failed(
                "cursor", "this cursor is damaged; start again from the first page"
            ) from None
        following = None if page.next is None else results_cursor(name, tid, page.next)
        return ResultsPage(page.records, following)

    async def tweets(
        self, task_id: str, limit: int = 100, cursor: str | None = None
    ) -> ResultsPage:
        """:meth:`records` of the ``tweets`` collection (what SEARCH and ACCOUNT save)."""
        return await self.records(TWEETS, task_id, limit, cursor)

    # -- helpers -------------------------------------------------------------------------
    async def _existing(self, task_id: str) -> Task:
        task = await self.store.get(task_id)
        if task is None:
            raise NotFound(f"no task with id {task_id}")
        return task

    async def _counted(self, statuses: frozenset[TaskStatus]) -> int:
        counts = (await self.store.stats()).to_json()
        return sum(counts[s.value.lower()] for s in statuses)

    async def _chunked(
        self, write: Callable[[int], Awaitable[int]], left: int, progress: Progress | None
    ) -> int:
        """``write(n)`` until ``left`` are done or a write changes fewer than it was asked."""
        done = 0
        while left > 0:
            asked = min(CHUNK, left)
            changed = await write(asked)
            done, left = done + changed, left - changed
            if progress is not None and changed:
                progress(done)
            if changed < asked:
                break
        return done

    def _wake(self) -> None:
        """Requeued tasks are due now: an in-process worker claims them without waiting."""
        for wake in self.store.on_enqueue:
            wake()
