"""MongoDB engine (pymongo), also run over mongomock for fast in-process tests.

A claim uses the index ``{status, priority, nextRunAt}``: one ``find_one_and_update`` for
one task, or for a batch three commands whatever its size (MongoDB has no multi-document
find-and-modify: find ids, fence them with ``update_many``, read back; see
:meth:`MongoStore._claim_batch`). Indexes are created at start-up, idempotently. Field
names follow the seed's ``twittertasks`` collection.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import bson
from bson.codec_options import DatetimeConversion
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, PyMongoError

from ...errors import StoreUnavailable
from ...models import NewTask, QueueStats, Task, TaskStatus, utcnow
from ...store.contract import TaskStore, nothing_to_claim
from ...store.transitions import Transition
from .changes import apply_changes
from .client import MOCK_LOCK, connect
from .counts import MongoCounts
from .docs import (
    PENDING,
    RUNNING,
    claim_query,
    claim_update,
    doc_to_task,
    new_doc,
    oid,
)
from .indexes import ensure_indexes
from .records import MongoRecords
from .series import MongoSeries
from .steer import MongoSteering
from .workers import MongoWorkers


class MongoStore(MongoCounts, MongoSteering, MongoWorkers, MongoSeries, TaskStore):
    """Tasks in one collection; plugin records in collections of their own, same database;
    the operator's calls in :mod:`.steer`, the worker registry in :mod:`.workers`."""

    max_threads = 4

    def __init__(
        self,
        url: str,
        *,
        database: str = "crypto_analytics",
        collection: str = "twittertasks",
        client: Any = None,
        timeout_ms: int = 5000,
    ) -> None:
        self.url = url
        mock = url.startswith("mongomock://")
        if client is None:
            client = connect(url, timeout_ms, mock)
        self.client = client
        db_name = (urlparse(url).path or "/").lstrip("/") or database
        self.db = client[db_name]
        self.tasks: Collection[Any] = self.db[collection]
        if not mock:  # a BSON date outside Python's years 1-9999 reads as a DatetimeMS
            auto = self.tasks.codec_options.with_options(
                datetime_conversion=DatetimeConversion.DATETIME_AUTO
            )
            self.tasks = self.tasks.with_options(codec_options=auto)
        self._lock = MOCK_LOCK if mock else None
        if mock:
            self.max_threads = 1
        self._records = MongoRecords(self.db, self._op, bulk=not mock)

    @property
    def records(self) -> MongoRecords:
        return self._records

    @contextmanager
    def _op(self) -> Iterator[None]:
        try:
            with self._lock or nullcontext():
                yield
        except DuplicateKeyError:
            raise
        except PyMongoError as exc:
            # the topology dump pymongo appends helps nobody reading a log line
            reason = str(exc).split(" (configured timeouts")[0].split(", Timeout:")[0]
            raise StoreUnavailable(f"MongoDB: {reason}") from exc

    def setup(self) -> None:
        with self._op():
            ensure_indexes(self.tasks)

    def close(self) -> None:
        if self._lock is None:  # mongomock servers live as long as the process
            self.client.close()

    def ping(self) -> None:
        """One indexed read of the tasks collection (the claim index), not a bare ``ping``:
        a server that answers but cannot serve the collection is not healthy."""
        with self._op():
            self.tasks.find_one({"status": PENDING}, {"_id": 1})

    def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        now = utcnow()
        docs = [new_doc(new, now) for new in tasks]
        for doc in docs:  # all or none: a document BSON cannot hold fails before any write
            bson.encode(doc)
        with self._op():
            plain = [d for d in docs if "dedupeKey" not in d]
            if plain:
                self.tasks.insert_many(plain, ordered=False)
            return [
                doc_to_task(insert_deduped(self.tasks, d) if "dedupeKey" in d else d) for d in docs
            ]

    def claim(
        self, worker_id: str, types: Sequence[str] | None, limit: int, lease: float
    ) -> list[Task]:
        if nothing_to_claim(types, limit):
            return []
        now = utcnow()
        query, update = claim_query(types, now), claim_update(worker_id, now, lease)
        order = [("priority", DESCENDING), ("nextRunAt", ASCENDING)]  # the claim index
        with self._op():
            if limit == 1:  # one command instead of three
                update["$set"]["leaseId"] = secrets.token_hex(12)
                doc = self.tasks.find_one_and_update(
                    query, update, sort=order, return_document=ReturnDocument.AFTER
                )
                return [] if doc is None else [doc_to_task(doc)]
            return self._claim_batch(query, update, order, limit)

    def _claim_batch(
        self,
        query: dict[str, Any],
        update: dict[str, dict[str, Any]],
        order: list[tuple[str, int]],
        limit: int,
    ) -> list[Task]:
        """Claim ids, then fence them: find the first ``limit`` due ids, move those still
        PENDING to RUNNING under one new lease id in one ``update_many`` (atomic per task,
        so a competing worker's claim of the same ids cannot overlap), and read back what
        carries that lease: 3 commands for the batch instead of one per task (2 when only
        one task is due). Candidates taken by another worker in between are looked for
        again, up to 3 rounds."""
        lease_id = update["$set"]["leaseId"] = secrets.token_hex(12)
        claimed: list[dict[str, Any]] = []
        for _ in range(3):
            want = limit - len(claimed)
            ids = [d["_id"] for d in self.tasks.find(query, {"_id": 1}, sort=order, limit=want)]
            if not ids:
                break
            if len(ids) == 1:  # one candidate (a trickle): take it in one command
                doc = self.tasks.find_one_and_update(
                    {**query, "_id": ids[0]}, update, return_document=ReturnDocument.AFTER
                )
                claimed += [doc] if doc is not None else []
            elif self.tasks.update_many({**query, "_id": {"$in": ids}}, update).modified_count:
                claimed += self.tasks.find({"_id": {"$in": ids}, "leaseId": lease_id})
            if len(claimed) >= limit or len(ids) < want:
                break
        tasks = [doc_to_task(d) for d in claimed]
        tasks.sort(key=lambda t: (-t.priority, t.next_run_at, t.id))  # read first: see salvage
        return tasks

    def apply(self, changes: Sequence[Transition]) -> list[bool]:
        """One ``update`` command for the lot: see :func:`.changes.apply_changes`."""
        with self._op():
            return apply_changes(self.tasks, changes, one_by_one=self._lock is not None)

    def heartbeat(self, worker_id: str, leases: Mapping[str, str], lease: float) -> set[str]:
        if not leases:
            return set()
        now = utcnow()
        match = {
            "status": RUNNING,
            "lockedBy": worker_id,
            "$or": [{"_id": oid(t), "leaseId": lid} for t, lid in leases.items()],
        }
        with self._op():
            res = self.tasks.update_many(
                match,
                {"$set": {"leaseExpiresAt": now + timedelta(seconds=lease), "updatedAt": now}},
            )
            if res.matched_count == len(leases):  # the usual case: one command
                return set(leases)
            return {str(d["_id"]) for d in self.tasks.find(match, {"_id": 1})}

    def find_expired(self, now: datetime, limit: int) -> list[Task]:
        with self._op():
            docs = list(
                self.tasks.find({"status": RUNNING, "leaseExpiresAt": {"$lt": now}})
                .sort("leaseExpiresAt", ASCENDING)
                .limit(limit)
            )
        return [doc_to_task(doc) for doc in docs]

    def get(self, task_id: str) -> Task | None:
        with self._op():
            doc = self.tasks.find_one({"_id": oid(task_id)})
        return None if doc is None else doc_to_task(doc)

    def stats(self) -> QueueStats:
        with self._op():
            rows = list(self.tasks.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]))
        counts = {str(r["_id"]).lower(): r["n"] for r in rows if r["_id"] in TaskStatus.__members__}
        return QueueStats(**counts)


def insert_deduped(tasks: Collection[Any], doc: dict[str, Any]) -> dict[str, Any]:
    """Insert, or return the unfinished task that holds the same ``dedupeKey``."""
    while True:
        try:
            tasks.insert_one(doc)
            return doc
        except DuplicateKeyError:
            existing = tasks.find_one({"dedupeKey": doc["dedupeKey"]})
            if existing is not None:
                return dict(existing)
            # it finished between our insert and find: try to store anew
