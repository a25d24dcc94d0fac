"""The enqueue group commit: the enqueues of one loop turn share one transaction.

A call writes at once (on the event loop when it can) unless a write was made in this loop
turn: then it first gives the loop one turn, so other coroutines run, and the calls that
gathered meanwhile (e.g. concurrent HTTP requests), and those that arrive while a write is
in the store's threads, share one commit. On SQLite a commit's fsync dominates a small
enqueue: sharing it is what makes many concurrent producers fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from ..models import NewTask, Task

#: write ``tasks`` on the loop if that needs no waiting: the stored tasks, or None (busy)
OnLoop = Callable[[Sequence[NewTask]], "list[Task] | None"]
InThreads = Callable[[Sequence[NewTask]], Awaitable[list[Task]]]
Pending = tuple[Sequence[NewTask], asyncio.Future[list[Task]]]


class GroupCommit:
    """Batches :meth:`enqueue_many` calls; ``on_stored`` runs after each write that stored."""

    def __init__(
        self, on_loop: OnLoop, in_threads: InThreads, max_rows: int, on_stored: Callable[[], None]
    ) -> None:
        self._on_loop = on_loop
        self._in_threads = in_threads
        self._max_rows = max_rows  # at most this many rows in one write made on the loop
        self._on_stored = on_stored
        self._queued: list[Pending] = []
        self._writer: asyncio.Task[None] | None = None
        self._flush_soon = False
        self._wrote_this_turn = False  # an enqueue was written at once in this loop turn
        self._yielding = False  # a call gives the loop a turn before it writes

    def _writing(self) -> bool:
        return self._writer is not None and not self._writer.done()

    async def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        """Store ``tasks``, all or none."""
        loop = asyncio.get_running_loop()
        if self._wrote_this_turn and not self._queued and not self._yielding:
            self._yielding = True  # the calls arriving meanwhile queue for a shared commit
            try:
                await asyncio.sleep(0)
            finally:
                self._yielding = False
        if not (self._queued or self._wrote_this_turn or self._yielding or self._writing()):
            out = self._on_loop(tasks) if len(tasks) <= self._max_rows else None
            if out is not None:
                self._wrote_this_turn = True
                loop.call_soon(self._end_turn)
                self._on_stored()
                return out
        stored: asyncio.Future[list[Task]] = loop.create_future()
        self._queued.append((tasks, stored))
        if not self._flush_soon and not self._writing():
            self._flush_soon = True
            loop.call_soon(self._flush)
        return await stored

    def _end_turn(self) -> None:
        self._wrote_this_turn = False

    def _flush(self) -> None:
        """Write the calls queued in this loop turn on the loop, at most ``max_rows`` rows a
        commit; what cannot be written at once goes to the threads in one write."""
        self._flush_soon = False
        while self._queued:
            rows = take = 0
            for tasks, _ in self._queued:
                if take and rows + len(tasks) > self._max_rows:
                    break
                rows, take = rows + len(tasks), take + 1
            batch = self._queued[:take]
            out: list[Task] | BaseException | None
            try:
                tasks = [t for ts, _ in batch for t in ts]
                out = self._on_loop(tasks) if rows <= self._max_rows else None
            except Exception as exc:  # e.g. a payload that is not JSON: nothing was stored
                out = exc
            if out is None:
                break
            del self._queued[:take]
            self._answer(batch, out)
        if self._queued and not self._writing():
            self._writer = asyncio.create_task(self._write_in_threads(), name="enqueues")

    async def _write_in_threads(self) -> None:
        while self._queued:
            batch, self._queued = self._queued, []
            try:
                stored = await self._in_threads([task for tasks, _ in batch for task in tasks])
            except BaseException as exc:  # nothing of the batch was stored: each caller hears
                self._answer(batch, exc)
                if isinstance(exc, asyncio.CancelledError):
                    for _, answer in self._queued:
                        answer.cancel()
                    self._queued = []
                    raise
                continue
            self._answer(batch, stored)

    def _answer(self, batch: list[Pending], stored: list[Task] | BaseException) -> None:
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
            self._on_stored()
