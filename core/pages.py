"""Pages of a listing and their opaque cursors.

A cursor is urlsafe base64 (no padding) of a small JSON object: which listing it belongs to
and where the next page starts. Users only hand it back. One that does not decode, or that
belongs to another listing (a tweets cursor given to the task list, or to another task's
tweets), is a :class:`ValidationFailed` naming the argument, never a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from .models import Task, is_task_id
from .steer_args import failed

#: What a cursor looks like (the OpenAPI document says it too); ours are far shorter than
#: the bound, and longer text is not worth decoding.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,1024}$"
_CURSOR = re.compile(CURSOR_PATTERN)
TASKS = "tasks"
RECORDS = "records"


@dataclass(frozen=True, slots=True)
class TaskPage:
    """A page of :meth:`Roost.list_tasks`: newest first; ``next_cursor`` gives the next
    page (None: this is the last)."""

    tasks: list[Task]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"tasks": [t.to_json() for t in self.tasks], "nextCursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class ResultsPage:
    """A page of the records one task found (:meth:`Roost.records`), in the order found."""

    records: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self, key: str = "records") -> dict[str, Any]:
        return {key: self.records, "nextCursor": self.next_cursor}


def encode(listing: str, **position: str) -> str:
    raw = json.dumps({"l": listing, **position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode(cursor: object, listing: str, describe: str, field: str = "cursor") -> dict[str, str]:
    """The position in ``cursor``, a cursor of ``listing`` (``describe`` names that listing
    in the message, e.g. "the task list")."""
    position = _read(cursor)
    if position is None:
        raise failed(
            field,
            f"{_shown(cursor)} is not a cursor roost made; pass the nextCursor of the previous "
            "page as it is (none for the first page)",
        )
    if position.get("l") != listing:
        raise failed(field, f"this cursor is not one of {describe}: it belongs to another listing")
    return position


def tasks_cursor(last: Task) -> str:
    return encode(TASKS, before=last.id)


def tasks_position(cursor: object, field: str = "cursor") -> str:
    """The id the next page of the task list starts below."""
    before = decode(cursor, TASKS, "the task list", field).get("before")
    if not isinstance(before, str) or not is_task_id(before):
        raise failed(field, "this cursor is damaged; start again from the first page")
    return before


def results_cursor(collection: str, task_id: str, after: str) -> str:
    return encode(RECORDS, c=collection, t=task_id, after=after)


def results_position(cursor: object, collection: str, task_id: str, field: str = "cursor") -> str:
    """The engine's own position string for the next page of ``task_id``'s records."""
    describe = f"the {collection} of task {task_id}"
    position = decode(cursor, RECORDS, describe, field)
    if position.get("c") != collection or position.get("t") != task_id:
        raise failed(field, f"this cursor is not one of {describe}: it belongs to another listing")
    after = position.get("after")
    if not isinstance(after, str):
        raise failed(field, "this cursor is damaged; start again from the first page")
    return after


def _read(cursor: object) -> dict[str, str] | None:
    if not isinstance(cursor, str) or not _CURSOR.fullmatch(cursor):
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError):  # not base64, not UTF-8, not JSON
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return None
    return value


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
