"""The Mongo engine's :class:`~roost.core.records.RecordStore`: one collection per kind of
record in the tasks' database, ``_id`` = the record's key, ``taskIds`` = who found it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from pymongo import ASCENDING, UpdateOne

from ...models import utcnow
from ...records import RecordStore


class MongoRecords(RecordStore):
    def __init__(
        self, db: Any, op: Callable[[], AbstractContextManager[None]], *, bulk: bool
    ) -> None:
        self._db = db
        self._op = op  # the engine's error translation (and mongomock's lock)
        self._bulk = bulk  # mongomock's bulk_write lags pymongo's UpdateOne

    def save(
        self, collection: str, records: Iterable[Mapping[str, Any]], key: str, task_id: str
    ) -> int:
        now = utcnow()
        ops = [
            (
                {"_id": str(r[key])},
                {
                    "$set": {**{k: v for k, v in r.items() if k != "_id"}, "updatedAt": now},
                    "$addToSet": {"taskIds": task_id},
                    "$setOnInsert": {"firstSeenAt": now},
                },
            )
            for r in records
        ]
        if not ops:
            return 0
        coll = self._db[collection]
        with self._op():
            if self._bulk:  # one round trip on a real server
                coll.bulk_write([UpdateOne(f, u, upsert=True) for f, u in ops], ordered=False)
            else:
                for f, u in ops:
                    coll.update_one(f, u, upsert=True)
        return len(ops)

    def find(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = {} if task_id is None else {"taskIds": task_id}
        with self._op():
            docs = list(self._db[collection].find(query).sort("_id", ASCENDING).limit(limit))
        for doc in docs:
            doc.pop("_id", None)
            doc.pop("updatedAt", None)
            doc.pop("firstSeenAt", None)
        return docs
