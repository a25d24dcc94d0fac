"""The Mongo engine's indexes, created at start-up, idempotently (the seed's duplicate index
warnings must not come back): the claim index ``{status, priority, nextRunAt}``, the lease
index the rescuer reads, and a unique partial index for deduplication keys."""

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
]


def ensure_indexes(tasks: Collection[Any]) -> None:
    """Create the indexes missing from ``tasks`` (by name: an existing one is left as is)."""
    existing = {ix["name"] for ix in tasks.list_indexes()}
    for keys, opts in INDEXES:
        if opts["name"] not in existing:
            tasks.create_index(keys, **opts)
