"""The queue samples behind the dashboard's depth and retry charts (:mod:`roost.core.series`).

Every :data:`EVERY` seconds while it works, a worker stores what it sees: the queue's depth
(PENDING and RUNNING, counted by the engine through their indexes) and the retries it
applied since its last sample, under the current minute and its id
(:meth:`TaskStore.add_queue_sample`). Depth is a
moment and a retried task goes back to PENDING, so neither could be read from the tasks
afterwards; sampled, they are in the store, the same for every API process, and survive a
restart. A fleet writes one small row per worker per sample; a failed write is logged and
its retries are counted again in the next one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import utcnow

if TYPE_CHECKING:
    from .loop import Worker

EVERY = 10.0  # seconds between two samples of one worker


class Sampler:
    """One worker's samples; its events count the retries it announced."""

    def __init__(self, worker: Worker) -> None:
        self._store = worker.store
        self._worker_id = worker.id
        self._events = worker._events  # the worker's own, which fires every retry it applies
        self._counted = 0  # retries already in a stored sample

    async def sample(self) -> None:
        now = utcnow()
        retried = self._events.retried - self._counted
        await self._store.add_queue_sample(self._worker_id, now, retried)
        self._counted += retried
