"""The Mongo engine's per-type counts (a mixin of :class:`.engine.MongoStore`): one
``$group`` aggregation over the tasks."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from pymongo.collection import Collection

from ...models import TaskStatus
from ...store.counts import TypeCount

PIPELINE: list[dict[str, Any]] = [
    {
        "$group": {
            "_id": {"type": "$type", "status": "$status"},
            "n": {"$sum": 1},
            "oldest": {"$min": "$nextRunAt"},
        }
    }
]


class MongoCounts:
    tasks: Collection[Any]
    _op: Callable[[], AbstractContextManager[None]]

    def type_counts(self) -> list[TypeCount]:
        with self._op():
            rows = list(self.tasks.aggregate(PIPELINE))
        out = []
        for row in rows:
            key = row["_id"]
            status, type_ = key.get("status"), key.get("type")
            if status not in TaskStatus.__members__ or not isinstance(type_, str):
                continue  # a damaged document is no queue state
            oldest = row.get("oldest") if status == TaskStatus.PENDING else None
            if not isinstance(oldest, datetime):  # the client is tz_aware: these are UTC
                oldest = None
            out.append(TypeCount(type_, TaskStatus(status), int(row["n"]), oldest))
        return out
