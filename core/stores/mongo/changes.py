"""Carrying out a batch of fenced changes (:meth:`~.engine.MongoStore.apply`): the update
documents come from :func:`.docs.change_ops`, this module sends them and learns which
were applied."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne
from pymongo.collection import Collection

from ...models import utcnow
from ...store.contract import first_per_task
from ...store.transitions import Transition
from .docs import RUNNING, adds_error, change_ops, oid, shows_applied


def apply_changes(
    tasks: Collection[Any], changes: Sequence[Transition], *, one_by_one: bool
) -> list[bool]:
    """One ``update`` command for the lot (a second, a ``find``, only when some were
    refused, to learn which: those this very write stamped). Changes that add to the
    error history read the attempt counts first, in one ``find`` (the entry names the
    attempt, which the change does not carry). ``one_by_one``: mongomock, whose
    ``bulk_write`` lags pymongo's."""
    now = utcnow()
    out = [False] * len(changes)
    todo = [i for i, first in enumerate(first_per_task(changes)) if first]
    counts = _attempts(tasks, [changes[i] for i in todo if adds_error(changes[i]) is not None])
    ops = [
        (i, match, update)
        for i in todo
        if adds_error(changes[i]) is None or changes[i].task_id in counts
        for match, update in change_ops(changes[i], now, counts.get(changes[i].task_id))
    ]
    if not ops:
        return out
    if one_by_one:
        for i, match, update in ops:  # a re-queue's second update only if the first missed
            out[i] = out[i] or tasks.update_one(match, update).modified_count == 1
        return out
    wanted = {i for i, _, _ in ops}
    if len(ops) == 1:
        modified = tasks.update_one(ops[0][1], ops[0][2]).modified_count
    else:
        modified = tasks.bulk_write(
            [UpdateOne(m, u) for _, m, u in ops], ordered=False
        ).modified_count
    if modified == len(wanted):
        for i in wanted:
            out[i] = True
        return out
    stamped = {
        str(d["_id"]): d
        for d in tasks.find(
            {"_id": {"$in": [oid(changes[i].task_id) for i in wanted]}, "updatedAt": now},
            {"_id": 1, "status": 1, "leaseId": 1},
        )
    }
    for i in wanted:
        doc = stamped.get(changes[i].task_id)
        out[i] = doc is not None and shows_applied(changes[i], doc)
    return out


def _attempts(tasks: Collection[Any], changes: Sequence[Transition]) -> dict[str, tuple[Any, Any]]:
    """``{task_id: (attempts, errors)}`` of those ``changes`` whose task is RUNNING under
    their lease."""
    if not changes:
        return {}
    leases = {c.task_id: c.lease_id for c in changes}
    docs = tasks.find(
        {"_id": {"$in": [oid(t) for t in leases]}, "status": RUNNING},
        {"attempts": 1, "leaseId": 1, "errors": 1},
    )
    return {
        str(d["_id"]): (d.get("attempts"), d.get("errors"))
        for d in docs
        if d.get("leaseId") == leases.get(str(d["_id"]))
    }
