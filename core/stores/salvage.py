"""Reading a stored task that does not decode: field by field, noting what cannot be read.

A row written by hand, by another tool or by an older roost can hold what no task should:
a time Python cannot represent (a BSON date in year 0, epoch milliseconds past 9999), a
payload that is not a JSON object, a priority that is text. Such a task must never stop a
worker nor break a lookup, so the engines read it with :class:`Salvage`: the Task comes
back with those fields clamped or emptied, and ``Task.unreadable`` says why; the worker
fails that task with the reason instead of running it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from bson.datetime_ms import DatetimeMS
from pydantic_core import from_json

from ..models import ERRORS_KEPT, AttemptError, Task, TaskStatus

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_TIME = datetime.min.replace(tzinfo=UTC)  # what an unreadable time is shown as
MAX_TIME = datetime.max.replace(tzinfo=UTC)
_UNREAD = object()  # what Salvage.json returns for text that is not JSON (already noted)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def as_int(value: Any, default: int) -> int | None:
    """``value`` as an int (a float with no fraction too), ``default`` for None, else None."""
    if value is None:
        return default
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)  # bson's Int64 is an int subclass
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class Salvage:
    """Collects the problems of one stored task while its fields are read."""

    __slots__ = ("problems", "ms")

    def __init__(self, *, ms: bool = False) -> None:
        self.problems: list[str] = []
        self.ms = ms  # times are stored as epoch milliseconds (SQLite), not as dates

    def time(self, field: str, value: Any, *, required: bool = False) -> datetime | None:
        """A datetime, a BSON date outside Python's range, or (``ms``) epoch milliseconds."""
        if value is None:
            if required:
                self.problems.append(f"{field} is missing")
                return MIN_TIME
            return None
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, DatetimeMS):
            return self._from_ms(field, int(value))
        if self.ms and isinstance(value, int | float) and not isinstance(value, bool):
            return self._from_ms(field, value)
        self.problems.append(f"{field} is not a time: {_shown(value)}")
        return MIN_TIME if required else None

    def _from_ms(self, field: str, value: float) -> datetime:
        try:
            return EPOCH + timedelta(milliseconds=value)
        except (OverflowError, ValueError):  # ValueError: NaN
            self.problems.append(
                f"{field} {_shown(value)} ms from 1970 is outside the years 1-9999"
            )
            return MAX_TIME if value > 0 and not math.isnan(value) else MIN_TIME

    def integer(self, field: str, value: Any, default: int) -> int:
        number = as_int(value, default)
        if number is None:
            self.problems.append(f"{field} is not an integer: {_shown(value)}")
            return default
        return number

    def text(self, field: str, value: Any, *, required: bool = False) -> str | None:
        if isinstance(value, str) or (value is None and not required):
            return value
        self.problems.append(f"{field} is missing" if value is None else f"{field} is not text")
        return "" if value is None else str(value)

    def json(self, field: str, text: Any) -> Any:
        """Decode a JSON column (SQLite): None for NULL; what is not JSON is noted."""
        if text is None:
            return None
        try:
            return from_json(text)
        except (ValueError, TypeError) as exc:  # TypeError: a number, not text
            self.problems.append(f"{field} is not valid JSON ({exc})")
            return _UNREAD

    def obj(self, field: str, value: Any, *, required: bool = False) -> dict[str, Any] | None:
        """A JSON object or None; a required one that is not an object reads as ``{}``."""
        if isinstance(value, dict):
            return value
        if value is not _UNREAD and (value is not None or required):
            self.problems.append(f"{field} is a JSON {_kind(value)}, not an object")
        return {} if required else None

    def status(self, field: str, value: Any) -> TaskStatus:
        """A status; one roost does not know reads as FAILED (no worker or recovery acts on it)."""
        try:
            return TaskStatus(value)
        except (ValueError, TypeError):
            self.problems.append(f"{field} {_shown(value)} is not a task status")
            return TaskStatus.FAILED

    def flag(self, field: str, value: Any) -> bool:
        """A yes/no stored as 0/1 (SQLite) or a boolean (MongoDB); missing reads as False."""
        if value is None or value is False or value == 0:
            return False
        if value is True or value == 1:
            return True
        self.problems.append(f"{field} is not 0/1 or a boolean: {_shown(value)}")
        return False

    def errors(self, value: Any) -> list[AttemptError]:
        """An error history: a list (or, SQLite, its JSON text) of ``{attempt, at, error}``,
        the newest :data:`ERRORS_KEPT`. It is for people, not for running the task: what
        does not read is left out without making the task unreadable (the next error
        written starts a history that is not an array again)."""
        if isinstance(value, str):
            try:
                value = from_json(value)
            except ValueError:
                return []
        if not isinstance(value, list | tuple):
            return []
        out = []
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("error"), str):
                continue
            attempt, at = as_int(entry.get("attempt"), 0), Salvage(ms=self.ms)
            when = at.time("at", entry.get("at"), required=True)
            if attempt is not None and when is not None and not at.problems:
                out.append(AttemptError(attempt, when, entry["error"]))
        return out[-ERRORS_KEPT:]

    def task(self, **fields: Any) -> Task:
        return Task(**fields, unreadable="; ".join(self.problems) or None)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def sound(task: Task) -> bool:
    """Whether the fields a worker relies on have their types (the engines' fast paths
    build a Task without looking; one that is not sound is read again with Salvage)."""
    return (
        type(task.payload) is dict
        and type(task.type) is str
        and type(task.priority) is int
        and type(task.attempts) is int
        and type(task.max_attempts) is int
        and (task.checkpoint is None or type(task.checkpoint) is dict)
        and (task.result is None or type(task.result) is dict)
    )


def dict_list(found: object) -> list[dict[str, Any]] | None:
    """``found`` if it is a list of objects (a worker's slots), else None (hand-edited)."""
    if isinstance(found, list) and all(isinstance(item, dict) for item in found):
        return found
    return None
