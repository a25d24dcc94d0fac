"""The registry of live workers on the Mongo engine: one document per worker process in
``<tasks collection>.workers`` (e.g. ``twittertasks.workers``: two queues in one database
keep apart), replaced by each heartbeat. The collection stays small (dead workers are
deleted an hour after they expired), so it needs no index but ``_id``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from pymongo.collection import Collection

from ...models import WorkerInfo
from ..salvage import as_int, dict_list

FORGET_AFTER = timedelta(hours=1)  # how long an expired worker's document is kept


def worker_doc(info: WorkerInfo) -> dict[str, Any]:
    return {
        "_id": info.worker_id,
        "host": info.host,
        "pid": info.pid,
        "startedAt": info.started_at,
        "lastSeenAt": info.last_seen_at,
        "expiresAt": info.expires_at,
        "running": info.running,
        "inflight": info.inflight,
        "maxConcurrent": info.max_concurrent,
        "types": info.types,
        "slots": info.slots,
    }


def doc_to_worker(doc: Mapping[str, Any]) -> WorkerInfo | None:
    """The worker a document describes; None for one that is not ours to read (hand-made)."""
    times = [doc.get(k) for k in ("startedAt", "lastSeenAt", "expiresAt")]
    pid, inflight = as_int(doc.get("pid"), 0), as_int(doc.get("inflight"), 0)
    concurrent, types = as_int(doc.get("maxConcurrent"), 0), doc.get("types")
    if not all(isinstance(t, datetime) for t in times) or None in (pid, inflight, concurrent):
        return None
    return WorkerInfo(
        worker_id=str(doc["_id"]),
        host=str(doc.get("host", "")),
        pid=pid or 0,
        started_at=times[0],  # type: ignore[arg-type]  # checked above
        last_seen_at=times[1],  # type: ignore[arg-type]
        expires_at=times[2],  # type: ignore[arg-type]
        running=doc.get("running") is True,
        inflight=inflight or 0,
        max_concurrent=concurrent or 0,
        types=[str(t) for t in types] if isinstance(types, list) else None,
        slots=dict_list(doc.get("slots")),
    )


class MongoWorkers:
    """Mixed into :class:`~.engine.MongoStore` (its ``tasks`` collection and ``_op``)."""

    tasks: Collection[Any]
    _op: Callable[[], AbstractContextManager[None]]

    @property
    def workers(self) -> Collection[Any]:
        return self.tasks.database[f"{self.tasks.name}.workers"]

    def beat_worker(self, info: WorkerInfo) -> None:
        with self._op():
            self.workers.replace_one({"_id": info.worker_id}, worker_doc(info), upsert=True)

    def remove_worker(self, worker_id: str) -> None:
        with self._op():
            self.workers.delete_one({"_id": worker_id})

    def list_workers(self, now: datetime) -> list[WorkerInfo]:
        with self._op():
            self.workers.delete_many({"expiresAt": {"$lt": now - FORGET_AFTER}})
            docs = list(self.workers.find({"expiresAt": {"$gt": now}}).sort("startedAt", 1))
        return [w for w in map(doc_to_worker, docs) if w is not None]
