"""This worker's entry in the store's registry of live workers (``GET /workers``).

Written when the worker starts and every :attr:`Registration.interval` (the lease
heartbeat's ``lease/3``, at most :data:`EVERY` seconds, so that ``inflight`` and
``lastSeenAt`` stay fresh on a status page whatever the lease), valid for three intervals:
a worker that died drops out of :meth:`TaskStore.list_workers` once it missed three; one
that stops cleanly removes its entry after its last writes. A registry write
that fails is logged and the worker goes on: the registry is for people, the queue is not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..models import WorkerInfo, iso, utcnow

if TYPE_CHECKING:
    from .loop import Worker

log = logging.getLogger("roost.worker")
MISSED_BEATS = 3  # heartbeats a worker may miss before it counts as dead
EVERY = 10.0  # seconds between two registry writes at most (one small upsert each)


def runtime_slots(runtime: Any) -> list[dict[str, Any]] | None:
    """A started runtime's session slots (``runtime.slots.report()``, as the Playwright
    runtime has), ``coolUntil`` as an ISO time while cooling; None without slots."""
    pool = getattr(runtime, "slots", None)
    if pool is None or not callable(getattr(pool, "report", None)):
        return None
    out = []
    for slot in pool.report():
        until = slot.get("coolUntil") if slot.get("state") == "cooling" else None
        at = datetime.fromtimestamp(until, UTC) if until else None
        out.append({**slot, "coolUntil": iso(at) if at else None})
    return out


class Registration:
    """One worker's registry entry: its fixed facts, and the write under way (one at a time)."""

    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._store = worker.store
        self.worker_id = worker.id
        self.interval = min(worker.lease / 3, EVERY)
        self._valid = timedelta(seconds=MISSED_BEATS * self.interval)
        self._host = socket.gethostname()
        self._started_at = utcnow()
        self._writing: asyncio.Future[None] | None = None
        self._removed = False

    def info(self) -> WorkerInfo:
        """The worker as it is now (its ``running`` and ``inflight`` change)."""
        worker, now = self._worker, utcnow()
        return WorkerInfo(
            worker_id=self.worker_id,
            host=self._host,
            pid=os.getpid(),
            started_at=self._started_at,
            last_seen_at=now,
            expires_at=now + self._valid,
            running=worker.is_running,
            inflight=len(worker.inflight),
            max_concurrent=worker.max_concurrent,
            types=list(worker.types),
            slots=runtime_slots(worker.roost.started_runtime),
        )

    def start(self) -> None:
        """Write the entry in the background (the worker does not wait for it to claim)."""
        if not self._removed and (self._writing is None or self._writing.done()):
            self._writing = asyncio.ensure_future(self._write(self.info()))

    async def beat(self) -> None:
        """Write the entry again; a write still under way is not doubled. A caller that is
        cancelled (a stopping worker) does not cut the write short: :meth:`remove` waits
        for it, so that no late beat brings a removed entry back."""
        self.start()
        if self._writing is not None:
            await asyncio.shield(self._writing)

    async def _write(self, info: WorkerInfo) -> None:
        try:
            await self._store.beat_worker(info)
        except Exception as exc:  # never stops the worker, whatever it is
            log.warning("worker registry: beat failed id=%s: %s", self.worker_id, exc)

    async def remove(self, deadline: float) -> None:
        """Remove the entry (once its last write is over), answered by ``deadline``
        (``time.monotonic()``); if it cannot be, it expires on its own."""
        self._removed = True
        try:
            if self._writing is not None and not self._writing.done():
                await asyncio.wait([self._writing], timeout=max(0.0, deadline - time.monotonic()))
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no time left in the shutdown")
            await asyncio.wait_for(self._store.remove_worker(self.worker_id), left)
        except Exception as exc:
            log.warning(
                "worker registry: could not remove id=%s (%s): it drops out at %s",
                self.worker_id,
                exc or type(exc).__name__,
                iso(utcnow() + self._valid),
            )
