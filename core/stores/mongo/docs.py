"""The Mongo engine's documents: reading one as a :class:`Task`, and the update each fenced
change is (field names follow the seed's ``twittertasks`` collection)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId

from ...models import NewTask, Task, TaskStatus
from ...store.transitions import Checkpoint, Done, Fail, Release, Retry, Transition
from ..salvage import Salvage

RUNNING = TaskStatus.RUNNING.value
PENDING = TaskStatus.PENDING.value
_UNLOCK = {"lockedBy": "", "lockedAt": "", "leaseId": "", "leaseExpiresAt": ""}
_FINISH = {"leaseExpiresAt": "", "dedupeKey": ""}


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


def oid(task_id: str) -> ObjectId | str:
    return ObjectId(task_id) if ObjectId.is_valid(task_id) else task_id


def new_doc(new: NewTask, now: datetime) -> dict[str, Any]:
    """The document a new PENDING task is stored as."""
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
    return doc


def claim_query(types: Sequence[str] | None, now: datetime) -> dict[str, Any]:
    """The due PENDING tasks (of ``types``, when given): what a claim takes from."""
    query: dict[str, Any] = {"status": PENDING, "nextRunAt": {"$lte": now}}
    if types is not None:
        query["type"] = {"$in": list(types)}
    return query


def claim_update(worker_id: str, now: datetime, lease: float) -> dict[str, dict[str, Any]]:
    """PENDING -> RUNNING for ``worker_id``, the attempt counted (the claim adds ``leaseId``)."""
    return {
        "$set": {
            "status": RUNNING,
            "lockedBy": worker_id,
            "lockedAt": now,
            "leaseExpiresAt": now + timedelta(seconds=lease),
            "updatedAt": now,
        },
        "$inc": {"attempts": 1},
    }


def fence(change: Transition) -> dict[str, Any]:
    """The match every change after a claim carries: its task, RUNNING, under its lease."""
    match: dict[str, Any] = {
        "_id": oid(change.task_id),
        "status": RUNNING,
        "leaseId": change.lease_id,
    }
    if isinstance(change, Retry | Fail) and change.expired_before is not None:
        match["leaseExpiresAt"] = {"$lt": change.expired_before}
    return match


def change_update(change: Transition, now: datetime) -> dict[str, Any]:
    """The one update document that carries out ``change`` at ``now``."""
    if isinstance(change, Done):
        done = {"status": "DONE", "result": change.result, "updatedAt": now, "finishedAt": now}
        return {"$set": done, "$unset": _FINISH}
    if isinstance(change, Fail):
        failed = {
            "status": "FAILED",
            "lastError": change.error,
            "updatedAt": now,
            "finishedAt": now,
        }
        return {"$set": failed, "$unset": _FINISH}
    if isinstance(change, Checkpoint):
        return {"$set": {"checkpoint": change.data, "updatedAt": now}}
    run_at, error, charge = (
        (now, None, False)
        if isinstance(change, Release)
        else (change.run_at, change.error, change.charge)
    )
    back: dict[str, Any] = {"status": PENDING, "nextRunAt": run_at, "updatedAt": now}
    if error is not None:
        back["lastError"] = error
    update: dict[str, Any] = {"$set": back, "$unset": _UNLOCK}
    if not charge:
        update["$inc"] = {"attempts": -1}
    return update


def shows_applied(change: Transition, doc: Mapping[str, Any]) -> bool:
    """Whether ``doc``, stamped by the write that carried ``change``, is in its new state."""
    if isinstance(change, Checkpoint):
        return doc.get("status") == RUNNING and doc.get("leaseId") == change.lease_id
    wanted = {Done: "DONE", Fail: "FAILED"}.get(type(change), PENDING)
    return doc.get("status") == wanted
