"""MongoDB engine (pymongo), also run over mongomock for fast in-process tests.

A claim uses the index ``{status, priority, nextRunAt}``: one ``find_one_and_update`` for
one task, or for a batch three commands whatever its size (MongoDB has no multi-document
find-and-modify: find ids, fence them with ``update_many``, read back; see
:meth:`MongoStore._claim_batch`). Indexes are created at start-up, idempotently. Field
names follow the seed's ``twittertasks`` collection.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import bson
from bson import ObjectId
from bson.codec_options import DatetimeConversion
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import ConfigurationError, DuplicateKeyError, InvalidURI, PyMongoError

from ..errors import ConfigError, StoreUnavailable
from ..hookspecs import hookimpl
from ..models import NewTask, QueueStats, Task, TaskStatus, utcnow
from ..settings import StoreSettings
from ..store import TaskStore
from .salvage import Salvage, as_int

RUNNING = TaskStatus.RUNNING.value
PENDING = TaskStatus.PENDING.value
LEASE_EXPIRED = "lease expired: the worker stopped heartbeating (crashed or stalled)"
_MOCK_LOCK = threading.RLock()  # mongomock is not thread-safe; real MongoDB needs no lock
_MOCK_SERVERS: dict[str, Any] = {}  # mongomock://<name>: one in-memory server per name

INDEXES: list[tuple[list[tuple[str, int]], dict[str, Any]]] = [
    (
        [("status", ASCENDING), ("priority", DESCENDING), ("nextRunAt", ASCENDING)],
        {"name": "claim"},
    ),
    ([("leaseExpiresAt", ASCENDING)], {"name": "lease", "sparse": True}),
    (
        [("dedupeKey", ASCENDING)],
        {
            "name": "dedupe",
            "unique": True,
            "partialFilterExpression": {"dedupeKey": {"$type": "string"}},
        },
    ),
]


def doc_to_task(doc: Mapping[str, Any]) -> Task:
    """Read field by field (:mod:`.salvage`): a document another tool wrote, with a date
    outside Python's range or a field of the wrong type, still reads (and says why not)."""
    s = Salvage()
    created = s.time("createdAt", doc.get("createdAt"), required=True)
    return s.task(
        id=str(doc["_id"]),
        type=s.text("type", doc.get("type"), required=True),
        payload=s.obj("payload", doc.get("payload")) or {},  # the seed's tasks may have none
        status=s.status("status", doc.get("status")),
        priority=s.integer("priority", doc.get("priority"), 0),
        attempts=s.integer("attempts", doc.get("attempts"), 0),
        max_attempts=s.integer("maxAttempts", doc.get("maxAttempts"), 3),
        created_at=created,
        updated_at=s.time("updatedAt", doc.get("updatedAt")) or created,
        next_run_at=s.time("nextRunAt", doc.get("nextRunAt")) or created,
        locked_by=s.text("lockedBy", doc.get("lockedBy")),
        locked_at=s.time("lockedAt", doc.get("lockedAt")),
        lease_id=s.text("leaseId", doc.get("leaseId")),
        lease_expires_at=s.time("leaseExpiresAt", doc.get("leaseExpiresAt")),
        finished_at=s.time("finishedAt", doc.get("finishedAt")),
        result=s.obj("result", doc.get("result")),
        last_error=s.text("lastError", doc.get("lastError")),
        checkpoint=s.obj("checkpoint", doc.get("checkpoint")),
        dedupe_key=s.text("dedupeKey", doc.get("dedupeKey")),
    )


def _oid(task_id: str) -> ObjectId | str:
    return ObjectId(task_id) if ObjectId.is_valid(task_id) else task_id


class MongoStore(TaskStore):
    """Tasks in one collection; plugin records in collections of their own, same database."""

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
            client = _client(url, timeout_ms, mock)
        self.client = client
        db_name = (urlparse(url).path or "/").lstrip("/") or database
        self.db = client[db_name]
        self.tasks: Collection[Any] = self.db[collection]
        if not mock:  # a BSON date outside Python's years 1-9999 reads as a DatetimeMS
            auto = self.tasks.codec_options.with_options(
                datetime_conversion=DatetimeConversion.DATETIME_AUTO
            )
            self.tasks = self.tasks.with_options(codec_options=auto)
        self._lock = _MOCK_LOCK if mock else None
        if mock:
            self.max_threads = 1

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
            existing = {ix["name"] for ix in self.tasks.list_indexes()}
            for keys, opts in INDEXES:
                if opts["name"] not in existing:
                    self.tasks.create_index(keys, **opts)

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
        docs: list[dict[str, Any]] = []
        for new in tasks:
            doc: dict[str, Any] = {
                "_id": ObjectId(),
                "type": new.type,
                "status": PENDING,
                "payload": new.payload,
                "priority": new.priority,
                "attempts": 0,
                "maxAttempts": new.max_attempts,
                "createdAt": now,
                "updatedAt": now,
                "nextRunAt": new.run_at or now,
            }
            if new.dedupe_key is not None:
                doc["dedupeKey"] = new.dedupe_key
            docs.append(doc)
        for doc in docs:  # all or none: a document BSON cannot hold fails before any write
            bson.encode(doc)
        with self._op():
            plain = [d for d in docs if "dedupeKey" not in d]
            if plain:
                self.tasks.insert_many(plain, ordered=False)
            return [doc_to_task(self._insert_deduped(d) if "dedupeKey" in d else d) for d in docs]

    def _insert_deduped(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Insert, or return the unfinished task that holds the same ``dedupeKey``."""
        while True:
            try:
                self.tasks.insert_one(doc)
                return doc
            except DuplicateKeyError:
                existing = self.tasks.find_one({"dedupeKey": doc["dedupeKey"]})
                if existing is not None:
                    return dict(existing)
                # it finished between our insert and find: try to store anew

    def claim(
        self, worker_id: str, types: Sequence[str] | None, limit: int, lease: float
    ) -> list[Task]:
        if limit <= 0 or (types is not None and not types):
            return []
        now = utcnow()
        query: dict[str, Any] = {"status": PENDING, "nextRunAt": {"$lte": now}}
        if types is not None:
            query["type"] = {"$in": list(types)}
        update: dict[str, dict[str, Any]] = {
            "$set": {
                "status": RUNNING,
                "lockedBy": worker_id,
                "lockedAt": now,
                "leaseExpiresAt": now + timedelta(seconds=lease),
                "updatedAt": now,
            },
            "$inc": {"attempts": 1},
        }
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

    def _fenced(self, task_id: str, lease_id: str, update: dict[str, Any]) -> bool:
        with self._op():
            res = self.tasks.update_one(
                {"_id": _oid(task_id), "status": RUNNING, "leaseId": lease_id}, update
            )
        return res.modified_count == 1

    def complete(self, task_id: str, lease_id: str, result: dict[str, Any] | None) -> bool:
        now = utcnow()
        return self._fenced(
            task_id,
            lease_id,
            {
                "$set": {"status": "DONE", "result": result, "updatedAt": now, "finishedAt": now},
                "$unset": {"leaseExpiresAt": "", "dedupeKey": ""},
            },
        )

    def complete_many(self, items: Sequence[tuple[str, str, dict[str, Any] | None]]) -> list[bool]:
        """One ``update`` command for the lot (a second, a ``find``, only when some were
        refused, to learn which). mongomock's ``bulk_write`` lags pymongo's: one by one there."""
        if self._lock is not None:
            return super().complete_many(items)
        now = utcnow()
        first: dict[str, int] = {}  # a task given twice: only its first entry can be accepted
        for i, (task_id, _, _) in enumerate(items):
            first.setdefault(task_id, i)
        ops = [
            UpdateOne(
                {"_id": _oid(task_id), "status": RUNNING, "leaseId": lease_id},
                {
                    "$set": {
                        "status": "DONE",
                        "result": result,
                        "updatedAt": now,
                        "finishedAt": now,
                    },
                    "$unset": {"leaseExpiresAt": "", "dedupeKey": ""},
                },
            )
            for i, (task_id, lease_id, result) in enumerate(items)
            if first[task_id] == i
        ]
        if not ops:
            return []
        with self._op():
            res = self.tasks.bulk_write(ops, ordered=False)
            if res.modified_count == len(ops):
                return [first[task_id] == i for i, (task_id, _, _) in enumerate(items)]
            # done by this very write: DONE, our lease, finished at the instant we wrote
            accepted = {
                (str(d["_id"]), d.get("leaseId"))
                for d in self.tasks.find(
                    {"_id": {"$in": [_oid(t) for t in first]}, "status": "DONE", "finishedAt": now},
                    {"_id": 1, "leaseId": 1},
                )
            }
        return [
            first[task_id] == i and (task_id, lease_id) in accepted
            for i, (task_id, lease_id, _) in enumerate(items)
        ]

    def reschedule(
        self, task_id: str, lease_id: str, run_at: datetime, error: str | None, *, charge: bool
    ) -> bool:
        update: dict[str, Any] = {
            "$set": {"status": PENDING, "nextRunAt": run_at, "updatedAt": utcnow()},
            "$unset": {"lockedBy": "", "lockedAt": "", "leaseId": "", "leaseExpiresAt": ""},
        }
        if error is not None:
            update["$set"]["lastError"] = error
        if not charge:
            update["$inc"] = {"attempts": -1}
        return self._fenced(task_id, lease_id, update)

    def release_many(self, items: Sequence[tuple[str, str]], now: datetime) -> list[bool]:
        """One ``update`` command for the lot (a second, a ``find``, only when some were
        refused, to learn which: those this write stamped)."""
        if not items:
            return []
        first: dict[str, int] = {}
        for i, (task_id, _) in enumerate(items):
            first.setdefault(task_id, i)
        stamp = utcnow()
        match = {
            "status": RUNNING,
            "$or": [{"_id": _oid(t), "leaseId": lid} for t, lid in items],
        }
        update = {
            "$set": {"status": PENDING, "nextRunAt": now, "updatedAt": stamp},
            "$unset": {"lockedBy": "", "lockedAt": "", "leaseId": "", "leaseExpiresAt": ""},
            "$inc": {"attempts": -1},
        }
        with self._op():
            if self.tasks.update_many(match, update).modified_count == len(first):
                released = set(first)
            else:  # PENDING, stamped by this very write (one taken again since: not counted)
                released = {
                    str(d["_id"])
                    for d in self.tasks.find(
                        {
                            "_id": {"$in": [_oid(t) for t in first]},
                            "status": PENDING,
                            "updatedAt": stamp,
                        },
                        {"_id": 1},
                    )
                }
        return [first[t] == i and t in released for i, (t, _) in enumerate(items)]

    def fail(self, task_id: str, lease_id: str, error: str) -> bool:
        now = utcnow()
        return self._fenced(
            task_id,
            lease_id,
            {
                "$set": {
                    "status": "FAILED",
                    "lastError": error,
                    "updatedAt": now,
                    "finishedAt": now,
                },
                "$unset": {"leaseExpiresAt": "", "dedupeKey": ""},
            },
        )

    def heartbeat(self, worker_id: str, leases: Mapping[str, str], lease: float) -> set[str]:
        if not leases:
            return set()
        now = utcnow()
        match = {
            "status": RUNNING,
            "lockedBy": worker_id,
            "$or": [{"_id": _oid(t), "leaseId": lid} for t, lid in leases.items()],
        }
        with self._op():
            res = self.tasks.update_many(
                match,
                {"$set": {"leaseExpiresAt": now + timedelta(seconds=lease), "updatedAt": now}},
            )
            if res.matched_count == len(leases):  # the usual case: one command
                return set(leases)
            return {str(d["_id"]) for d in self.tasks.find(match, {"_id": 1})}

    def checkpoint(self, task_id: str, lease_id: str, data: dict[str, Any]) -> bool:
        return self._fenced(
            task_id, lease_id, {"$set": {"checkpoint": data, "updatedAt": utcnow()}}
        )

    def recover(self) -> int:
        now = utcnow()
        count = 0
        with self._op():
            expired = list(
                self.tasks.find(
                    {"status": RUNNING, "leaseExpiresAt": {"$lt": now}},
                    {"_id": 1, "leaseId": 1, "attempts": 1, "maxAttempts": 1},
                )
            )
        for doc in expired:
            attempts, most = as_int(doc.get("attempts"), 0), as_int(doc.get("maxAttempts"), 3)
            if (attempts or 0) >= (3 if most is None else most):  # fields of another type too
                update = {
                    "$set": {
                        "status": "FAILED",
                        "lastError": LEASE_EXPIRED,
                        "updatedAt": now,
                        "finishedAt": now,
                    },
                    "$unset": {"leaseExpiresAt": "", "dedupeKey": ""},
                }
            else:
                update = {
                    "$set": {
                        "status": PENDING,
                        "nextRunAt": now,
                        "updatedAt": now,
                        "lastError": LEASE_EXPIRED,
                    },
                    "$unset": {"lockedBy": "", "lockedAt": "", "leaseId": "", "leaseExpiresAt": ""},
                }
            with self._op():
                res = self.tasks.update_one(
                    {
                        "_id": doc["_id"],
                        "status": RUNNING,
                        "leaseId": doc.get("leaseId"),
                        "leaseExpiresAt": {"$lt": now},
                    },
                    update,
                )
            count += res.modified_count
        return count

    def get(self, task_id: str) -> Task | None:
        with self._op():
            doc = self.tasks.find_one({"_id": _oid(task_id)})
        return None if doc is None else doc_to_task(doc)

    def stats(self) -> QueueStats:
        with self._op():
            rows = list(self.tasks.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]))
        counts = {str(r["_id"]).lower(): r["n"] for r in rows if r["_id"] in TaskStatus.__members__}
        return QueueStats(**counts)

    def save_records(
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
        coll = self.db[collection]
        with self._op():
            if self._lock is None:  # one round trip on a real server
                coll.bulk_write([UpdateOne(f, u, upsert=True) for f, u in ops], ordered=False)
            else:  # mongomock's bulk_write lags pymongo's UpdateOne
                for f, u in ops:
                    coll.update_one(f, u, upsert=True)
        return len(ops)

    def find_records(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        query = {} if task_id is None else {"taskIds": task_id}
        with self._op():
            docs = list(self.db[collection].find(query).sort("_id", ASCENDING).limit(limit))
        for doc in docs:
            doc.pop("_id", None)
            doc.pop("updatedAt", None)
            doc.pop("firstSeenAt", None)
        return docs


def _client(url: str, timeout_ms: int, mock: bool) -> Any:
    if mock:
        try:
            import mongomock
        except ImportError as exc:
            raise ConfigError(
                "store.url mongomock:// needs mongomock: pip install mongomock"
            ) from exc
        with _MOCK_LOCK:
            name = urlparse(url).netloc
            if name not in _MOCK_SERVERS:
                _MOCK_SERVERS[name] = mongomock.MongoClient(tz_aware=True)
            return _MOCK_SERVERS[name]
    from pymongo import MongoClient

    try:
        return MongoClient(
            url,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            appname="roost",
        )
    except (ConfigurationError, InvalidURI, ValueError) as exc:
        raise ConfigError(f"store.url: {exc}") from exc


def _open(config: StoreSettings) -> TaskStore:
    return MongoStore(
        config.url,
        database=config.database,
        collection=config.collection,
        timeout_ms=int(config.timeout * 1000),
    )


@hookimpl(trylast=True)
def register_stores(register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]) -> None:
    for scheme in ("mongodb", "mongodb+srv", "mongomock"):
        register(scheme, _open)
