"""The queue's last hour, per minute: what the dashboard charts (``GET /queue/series``).

Everything comes from the store, so every API process draws the same charts and they
survive a restart:

- finished tasks by outcome (DONE / FAILED / CANCELLED), and the wait (due -> claimed:
  ``locked_at - next_run_at``) and run (``finished_at - locked_at``) times of those that
  ran, from the tasks themselves, grouped by ``finished_at`` minute through the engines'
  index on it (:meth:`TaskStore.finished_minutes`);
- queue depth (pending, running) and retries, from the samples every worker writes as it
  works (:mod:`roost.core.worker.sampler`): a depth is a moment, not a time a task keeps,
  and a retried task goes back to PENDING, so neither can be read from the tasks later.

The engines only read; the minutes, percentiles and retry rate are made here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from .models import TaskStatus, iso

if TYPE_CHECKING:
    from .store import TaskStore

MINUTES = 60  # the window: the last hour
SAMPLED = 500  # per minute, the newest tasks whose times feed the percentiles
KEEP_SAMPLES = timedelta(hours=2)  # engines delete older queue samples as they write


@dataclass(frozen=True, slots=True)
class FinishedMinute:
    """The tasks that finished in one minute: counts by status; the wait and run times (in
    seconds) of up to ``SAMPLED`` of those that ran (a task cancelled while PENDING never
    did)."""

    minute: datetime  # the minute's start, UTC
    counts: dict[TaskStatus, int]
    waits: list[float] = field(default_factory=list)
    runs: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueSample:
    """What one worker saw in one minute: the queue's depth at ``at`` (its latest look),
    and the retries it applied in that minute. Stored once per (minute, worker): a new
    sample of the same pair replaces the depth and adds the retries."""

    minute: datetime
    worker_id: str
    at: datetime
    pending: int
    running: int
    retried: int


def minute_of(when: datetime) -> datetime:
    """The start of ``when``'s minute, UTC."""
    return when.astimezone(UTC).replace(second=0, microsecond=0)


def window(now: datetime) -> tuple[datetime, datetime]:
    """``[start, end)`` of the last :data:`MINUTES` minutes, the current one included."""
    end = minute_of(now) + timedelta(minutes=1)
    return end - timedelta(minutes=MINUTES), end


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def build(
    now: datetime, finished: Sequence[FinishedMinute], samples: Sequence[QueueSample]
) -> dict[str, Any]:
    """The JSON of ``GET /queue/series``: one entry per minute of the window, oldest first.

    ``pending``/``running`` are the latest depth any worker sampled in that minute (None:
    no worker looked); ``retried`` sums the workers' retries; ``retryRate`` is retries per
    attempt that ended in the minute (retried / (retried + done + failed)), None when none
    ended; times are in seconds, None when no task that ran finished in the minute.
    """
    start, end = window(now)
    by_minute = {minute_of(f.minute): f for f in finished}
    depth: dict[datetime, QueueSample] = {}
    retried: dict[datetime, int] = {}
    for s in samples:
        m = minute_of(s.minute)
        retried[m] = retried.get(m, 0) + s.retried
        if m not in depth or s.at > depth[m].at:
            depth[m] = s
    minutes = []
    for i in range(MINUTES):
        m = start + timedelta(minutes=i)
        f = by_minute.get(m)
        counts = f.counts if f else {}
        done, failed = counts.get(TaskStatus.DONE, 0), counts.get(TaskStatus.FAILED, 0)
        again = retried.get(m, 0)
        ended = done + failed + again
        sample = depth.get(m)
        waits, runs = (f.waits, f.runs) if f else ([], [])
        minutes.append(
            {
                "at": iso(m),
                "done": done,
                "failed": failed,
                "cancelled": counts.get(TaskStatus.CANCELLED, 0),
                "retried": again,
                "retryRate": round(again / ended, 4) if ended else None,
                "pending": sample.pending if sample else None,
                "running": sample.running if sample else None,
                "waitP50": _rounded(percentile(waits, 0.5)),
                "waitP95": _rounded(percentile(waits, 0.95)),
                "runP50": _rounded(percentile(runs, 0.5)),
                "runP95": _rounded(percentile(runs, 0.95)),
            }
        )
    return {"from": iso(start), "to": iso(end), "minutes": minutes}


def read(store: TaskStore, now: datetime) -> dict[str, Any]:
    """The series at ``now`` from ``store``'s two reads (in the caller's thread)."""
    start, end = window(now)
    finished = store.finished_minutes(start, end, SAMPLED)
    return build(now, finished, store.queue_samples(start))
