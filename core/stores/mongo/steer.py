"""The operator's calls on the Mongo engine (list, cancel, retry, redrive, purge): none of
them is on a worker's hot path, each is one or two commands through an index of
:mod:`.indexes` (``status_newest``, ``status_type_newest``, ``finished``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection as MongoCollection

from ...models import FINISHED, RETRYABLE, Task, TaskQuery, TaskStatus, utcnow
from .docs import CANCELLED, FINISH, PENDING, RUNNING, doc_to_task, oid


def _retry_update(now: datetime) -> dict[str, Any]:
    """Back to PENDING due now, attempts 0; the error history and last error stay."""
    return {
        "$set": {"status": PENDING, "attempts": 0, "nextRunAt": now, "updatedAt": now},
        "$unset": {
            "finishedAt": "",
            "result": "",
            "lockedBy": "",
            "lockedAt": "",
            "leaseId": "",
            "leaseExpiresAt": "",
            "cancelRequested": "",
        },
    }


def _in(statuses: Collection[TaskStatus], allowed: frozenset[TaskStatus]) -> list[str]:
    return sorted(s.value for s in statuses if s in allowed)


class MongoSteering:
    """Mixed into :class:`~.engine.MongoStore` (its ``tasks`` collection and ``_op``)."""

    tasks: MongoCollection[Any]
    _op: Callable[[], AbstractContextManager[None]]

    def list_tasks(self, query: TaskQuery) -> list[Task]:
        if query.limit <= 0:  # pymongo reads limit 0 as "no limit"
            return []
        match: dict[str, Any] = {}
        if query.statuses is not None:
            match["status"] = {"$in": sorted(s.value for s in query.statuses)}
        if query.type is not None:
            match["type"] = query.type
        if query.before is not None:
            match["_id"] = {"$lt": oid(query.before)}
        with self._op():
            docs = list(self.tasks.find(match).sort("_id", DESCENDING).limit(query.limit))
        return [doc_to_task(d) for d in docs]

    def cancel(self, task_id: str) -> Task | None:
        now = utcnow()
        with self._op():
            doc = self.tasks.find_one_and_update(
                {"_id": oid(task_id), "status": PENDING},
                {
                    "$set": {"status": CANCELLED, "finishedAt": now, "updatedAt": now},
                    "$unset": FINISH,
                },
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:  # RUNNING (perhaps claimed just now): ask its worker to stop it
                doc = self.tasks.find_one_and_update(
                    {"_id": oid(task_id), "status": RUNNING},
                    {"$set": {"cancelRequested": True, "updatedAt": now}},
                    return_document=ReturnDocument.AFTER,
                )
        return None if doc is None else doc_to_task(doc)

    def cancel_requested(self, task_ids: Sequence[str]) -> set[str]:
        if not task_ids:
            return set()
        match = {"_id": {"$in": [oid(t) for t in task_ids]}, "status": RUNNING}
        with self._op():
            docs = self.tasks.find({**match, "cancelRequested": True}, {"_id": 1})
            return {str(d["_id"]) for d in docs}

    def retry(self, task_id: str) -> Task | None:
        with self._op():
            doc = self.tasks.find_one_and_update(
                {"_id": oid(task_id), "status": {"$in": _in(RETRYABLE, RETRYABLE)}},
                _retry_update(utcnow()),
                return_document=ReturnDocument.AFTER,
            )
        return None if doc is None else doc_to_task(doc)

    def redrive(self, statuses: Collection[TaskStatus], type: str | None, limit: int) -> int:
        """Find the oldest ids (``status_newest`` read backwards), then one ``update_many``
        that checks their status again (one retried meanwhile is not counted twice)."""
        wanted = _in(statuses, RETRYABLE)
        if not wanted or limit <= 0:
            return 0
        match: dict[str, Any] = {"status": {"$in": wanted}}
        if type is not None:
            match["type"] = type
        with self._op():
            ids = [
                d["_id"]
                for d in self.tasks.find(match, {"_id": 1}, sort=[("_id", ASCENDING)], limit=limit)
            ]
            if not ids:
                return 0
            res = self.tasks.update_many({**match, "_id": {"$in": ids}}, _retry_update(utcnow()))
        return int(res.modified_count)

    def purge(
        self, statuses: Collection[TaskStatus], before: datetime, type: str | None, limit: int
    ) -> int:
        """The oldest finished ids through ``finished`` (``{status, finishedAt}``), then one
        ``delete_many`` that checks status and time again (a task retried meanwhile stays)."""
        wanted = _in(statuses, FINISHED)
        if not wanted or limit <= 0:
            return 0
        match: dict[str, Any] = {"status": {"$in": wanted}, "finishedAt": {"$lt": before}}
        if type is not None:
            match["type"] = type
        with self._op():
            ids = [
                d["_id"]
                for d in self.tasks.find(
                    match, {"_id": 1}, sort=[("finishedAt", ASCENDING)], limit=limit
                )
            ]
            if not ids:
                return 0
            return int(self.tasks.delete_many({**match, "_id": {"$in": ids}}).deleted_count)
