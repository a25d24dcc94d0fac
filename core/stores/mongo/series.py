"""The dashboard's reads on the Mongo engine: finished tasks per minute, queue samples.

Finished tasks are grouped through the ``finished`` index (``{status, finishedAt}``, the
one purge and retention use): one ``$match`` + ``$group`` by minute per status, then, for
each minute that has some, the times of its newest :data:`~roost.core.series.SAMPLED` per
status (a ``find`` on the same index). Queue samples live in ``<tasks collection>.samples``
(like ``.workers``), one document per (minute, worker); it holds at most two hours of them
(:data:`~roost.core.series.KEEP_SAMPLES`), so it needs no index but ``_id``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING, ReturnDocument
from pymongo.collection import Collection

from ...models import FINISHED, TaskStatus, utcnow
from ...series import KEEP_SAMPLES, FinishedMinute, QueueSample, minute_of
from .docs import PENDING, RUNNING

MINUTE_FORMAT = "%Y-%m-%dT%H:%M"
_STATUSES = [s for s in TaskStatus if s in FINISHED]  # a fixed order


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _seconds(later: Any, earlier: Any) -> float | None:
    if not isinstance(later, datetime) or not isinstance(earlier, datetime):
        return None  # a document written by hand: no time to tell
    return max(0.0, (_utc(later) - _utc(earlier)).total_seconds())


class MongoSeries:
    """Mixed into :class:`~.engine.MongoStore` (its ``tasks`` collection and ``_op``)."""

    tasks: Collection[Any]
    _op: Callable[[], AbstractContextManager[None]]

    @property
    def samples(self) -> Collection[Any]:
        return self.tasks.database[f"{self.tasks.name}.samples"]

    def finished_minutes(
        self, start: datetime, end: datetime, sampled: int
    ) -> list[FinishedMinute]:
        found: dict[datetime, FinishedMinute] = {}
        with self._op():
            for status in _STATUSES:
                match = {"status": status.value, "finishedAt": {"$gte": start, "$lt": end}}
                group = {"$dateToString": {"format": MINUTE_FORMAT, "date": "$finishedAt"}}
                pipeline: list[dict[str, Any]] = [
                    {"$match": match},
                    {"$group": {"_id": group, "n": {"$sum": 1}}},
                ]
                for row in self.tasks.aggregate(pipeline, hint="finished"):
                    minute = datetime.strptime(row["_id"], MINUTE_FORMAT).replace(tzinfo=UTC)
                    found.setdefault(minute, FinishedMinute(minute, {})).counts[status] = int(
                        row["n"]
                    )
            for minute, entry in found.items():
                for status in entry.counts:
                    self._times(entry, status, minute, sampled)
        return [found[m] for m in sorted(found)]

    def _times(
        self, entry: FinishedMinute, status: TaskStatus, minute: datetime, sampled: int
    ) -> None:
        match = {
            "status": status.value,
            "finishedAt": {"$gte": minute, "$lt": minute + timedelta(minutes=1)},
            "lockedAt": {"$type": "date"},
        }
        fields = {"_id": 0, "finishedAt": 1, "lockedAt": 1, "nextRunAt": 1}
        cursor = self.tasks.find(match, fields, sort=[("finishedAt", DESCENDING)], limit=sampled)
        for doc in cursor.hint("finished"):
            wait = _seconds(doc.get("lockedAt"), doc.get("nextRunAt"))
            run = _seconds(doc.get("finishedAt"), doc.get("lockedAt"))
            if wait is not None and run is not None:
                entry.waits.append(wait)
                entry.runs.append(run)

    def add_queue_sample(self, worker_id: str, at: datetime, retried: int) -> QueueSample:
        minute = minute_of(at)
        key = f"{minute.isoformat()}|{worker_id}"
        with self._op():
            # the claim index ({status, priority, nextRunAt}) counts each state: no scan
            pending = self.tasks.count_documents({"status": PENDING}, hint="claim")
            running = self.tasks.count_documents({"status": RUNNING}, hint="claim")
            depth = {"at": at, "pending": pending, "running": running}
            doc = self.samples.find_one_and_update(
                {"_id": key},
                {
                    "$set": {"minute": minute, "workerId": worker_id, **depth},
                    "$inc": {"retried": retried},
                },
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
            self.samples.delete_many({"minute": {"$lt": utcnow() - KEEP_SAMPLES}})
        assert doc is not None  # an upsert returning the document after it always has one
        return QueueSample(minute, worker_id, at, pending, running, int(doc["retried"]))

    def queue_samples(self, since: datetime) -> list[QueueSample]:
        with self._op():
            docs = list(self.samples.find({"minute": {"$gte": since}}))
        out = []
        for doc in docs:
            try:
                out.append(
                    QueueSample(
                        _utc(doc["minute"]),
                        str(doc["workerId"]),
                        _utc(doc["at"]),
                        int(doc["pending"]),
                        int(doc["running"]),
                        int(doc.get("retried", 0)),
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # a document not written by roost: not a sample to draw
        return sorted(out, key=lambda s: (s.minute, s.worker_id))
