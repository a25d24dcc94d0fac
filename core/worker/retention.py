"""Retention: finished tasks older than ``[retention]`` allows are deleted, a few at a time.

Every worker makes a pass every ``worker.recovery_interval``: for DONE, FAILED and
CANCELLED (each with its own age; 0 keeps them forever) it deletes the tasks that finished
before that age, oldest first, in batches of :data:`BATCH` (one short write each, through
the engines' index on ``finished_at``), until none is left or the pass has used
:data:`PASS_SECONDS` (each state still gets one batch). A million old DONE tasks are
deleted over several passes and never hold the database long enough to stall a claim.
Records (tweets) stay: they are the product. Workers purging at once share the work.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from ..durations import format_duration
from ..models import TaskStatus, iso, utcnow
from ..sections import RetentionSettings
from ..store import AsyncStore

log = logging.getLogger("roost.worker")
BATCH = 500  # tasks deleted per write
PASS_SECONDS = 1.0  # a pass stops starting batches after this long
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # the engines' earliest time: no cutoff before it


def ages(retention: RetentionSettings) -> dict[TaskStatus, float]:
    """How long each finished state is kept, in seconds; states kept forever left out."""
    kept = {
        TaskStatus.DONE: retention.done,
        TaskStatus.FAILED: retention.failed,
        TaskStatus.CANCELLED: retention.cancelled,
    }
    return {status: age for status, age in kept.items() if age > 0}


async def purge_expired(
    store: AsyncStore,
    retention: RetentionSettings,
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    budget: float = PASS_SECONDS,
) -> dict[TaskStatus, int]:
    """One pass: delete what :func:`ages` says is too old at ``now``; how many per state."""
    now = now or utcnow()
    until = time.monotonic() + budget
    deleted: dict[TaskStatus, int] = {}
    for status, age in ages(retention).items():
        before = max(EPOCH, now - timedelta(seconds=age))
        count = 0
        while True:
            gone = await store.purge([status], before, None, batch)
            count += gone
            if gone < batch or time.monotonic() >= until:
                break
        if count:
            deleted[status] = count
            log.info(
                "retention: deleted %d %s task(s) finished before %s (kept %s)",
                count,
                status.value,
                iso(before),
                format_duration(age),
            )
    return deleted
