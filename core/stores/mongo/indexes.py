"""The Mongo engine's indexes, created at start-up, idempotently (the seed's duplicate index
warnings must not come back): the claim index ``{status, priority, nextRunAt}``, the lease
index the rescuer reads, a unique partial index for deduplication keys; for the operator's
reads, the newest tasks of a status (and type) and the finished tasks by ``finishedAt``
(purge and retention), so neither a ``list_tasks`` by status nor a purge scans the
collection."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection

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
    ([("status", ASCENDING), ("_id", DESCENDING)], {"name": "status_newest"}),
    (
        [("status", ASCENDING), ("type", ASCENDING), ("_id", DESCENDING)],
        {"name": "status_type_newest"},
    ),
    ([("status", ASCENDING), ("finishedAt", ASCENDING)], {"name": "finished"}),
]


def ensure_indexes(tasks: Collection[Any]) -> None:
    """Create the indexes missing from ``tasks``. One that exists by name, or with the same
    keys under another name (made by hand: MongoDB refuses a second name for one key
    pattern), is left as it is."""
    names, keys_seen = set(), set()
    for ix in tasks.list_indexes():
        names.add(ix["name"])
        keys_seen.add(tuple((k, int(v)) for k, v in ix["key"].items()))
    for keys, opts in INDEXES:
        if opts["name"] not in names and tuple(keys) not in keys_seen:
            tasks.create_index(keys, **opts)
