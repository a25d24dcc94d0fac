"""The Mongo engine's :class:`~roost.core.records.RecordStore`: one collection per kind of
record in the tasks' database, ``_id`` = the record's key, ``taskIds`` = who found it.

Which task found what, in which order, is kept beside it in ``<collection>.found``: one
document per (task, record), ``_id`` an ObjectId made when the task first saved it (so in
the order found; a record found again later, by this task or another, keeps each task's
own place), unique on ``{task, key}``, paged through ``{task, _id}``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError

from ...models import RecordPage, utcnow
from ...records import RecordStore

_FOUND_INDEXES: list[tuple[list[tuple[str, int]], dict[str, Any]]] = [
    ([("task", ASCENDING), ("key", ASCENDING)], {"name": "task_key", "unique": True}),
    ([("task", ASCENDING), ("_id", ASCENDING)], {"name": "task_order"}),
]
_DUPLICATE = 11000


class MongoRecords(RecordStore):
    def __init__(
        self, db: Any, op: Callable[[], AbstractContextManager[None]], *, bulk: bool
    ) -> None:
        self._db = db
        self._op = op  # the engine's error translation (and mongomock's lock)
        self._bulk = bulk  # mongomock's bulk_write lags pymongo's UpdateOne
        self._indexed: set[str] = set()  # collections whose ``.found`` indexes exist

    def _found(self, collection: str) -> Any:
        """``<collection>.found``, its indexes made on first use in this process (creating
        an index that exists with the same keys and name changes nothing)."""
        found = self._db[f"{collection}.found"]
        if collection not in self._indexed:
            for keys, opts in _FOUND_INDEXES:
                found.create_index(keys, **opts)
            self._indexed.add(collection)
        return found

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
            finds = [{"_id": ObjectId(), "task": task_id, "key": f["_id"]} for f, _ in ops]
            try:  # in order; a record this task found before keeps its first place
                self._found(collection).insert_many(finds, ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != _DUPLICATE for e in exc.details.get("writeErrors", [])):
                    raise
        return len(ops)

    def find(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = {} if task_id is None else {"taskIds": task_id}
        with self._op():
            docs = list(self._db[collection].find(query).sort("_id", ASCENDING).limit(limit))
        return [_shown(doc) for doc in docs]

    def found_by(
        self, collection: str, task_id: str, *, limit: int = 100, after: str | None = None
    ) -> RecordPage:
        """Two reads: the page of ``.found`` (one more than ``limit``, to know whether
        another page follows), then those records by ``_id``."""
        match: dict[str, Any] = {"task": task_id}
        if after is not None:
            if not ObjectId.is_valid(after):
                raise ValueError(f"cursor {after!r} is not a position this store gave")
            match["_id"] = {"$gt": ObjectId(after)}
        if limit <= 0:
            return RecordPage([], None)
        with self._op():
            finds = list(
                self._found(collection).find(match).sort("_id", ASCENDING).limit(limit + 1)
            )
            page = finds[:limit]
            keys = [f["key"] for f in page]
            by_key = {d["_id"]: d for d in self._db[collection].find({"_id": {"$in": keys}})}
        records = [_shown(by_key[k]) for k in keys if k in by_key]
        more = len(finds) > limit
        return RecordPage(records, str(page[-1]["_id"]) if more else None)


def _shown(doc: dict[str, Any]) -> dict[str, Any]:
    """A record as callers see it: its stored fields and ``taskIds``, not our bookkeeping."""
    for field in ("_id", "updatedAt", "firstSeenAt"):
        doc.pop(field, None)
    return doc
