"""The arguments of the steering calls, one rule each, for every entry point.

:mod:`roost.core.steering` applies these, so the Python API, HTTP and the CLI refuse the same
values with the same words; a :class:`ValidationFailed` names the argument (``status``,
``limit``, ``older_than``...), which the entry points pass under their own spelling.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta

from .durations import HELP as DURATION_HELP
from .durations import parse_duration
from .errors import ValidationFailed
from .fields import TIME_RULE
from .models import TaskStatus, is_task_id

#: What a status argument looks like: one name or a comma list (the OpenAPI pattern).
_NAMES = "|".join(s.value for s in TaskStatus)
STATUSES_PATTERN = rf"^(?:{_NAMES})(?:,(?:{_NAMES}))*$"
#: A task type's name (as :class:`~roost.core.tasktypes.TaskType` requires it).
TYPE_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
_TYPE = re.compile(TYPE_PATTERN)
_ISO = re.compile(r"^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


def statuses(
    value: object, field: str = "status", allowed: Collection[TaskStatus] | None = None
) -> frozenset[TaskStatus] | None:
    """``value`` (None, a status, ``"FAILED,CANCELLED"`` or an iterable of statuses) as a
    set; None stays None (every status). ``allowed``: the statuses this call acts on."""
    if value is None:
        return None
    items: Iterable[object]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        items = [value]
    found = frozenset(_status(item, field) for item in items)
    if not found:
        raise failed(field, f"give at least one status: {', '.join(TaskStatus)}")
    if allowed is not None and not found <= set(allowed):
        bad = ", ".join(sorted(found - set(allowed)))
        ok = ", ".join(s.value for s in TaskStatus if s in allowed)
        raise failed(field, f"must be {ok} here (got {bad})")
    return found


def _status(item: object, field: str) -> TaskStatus:
    if isinstance(item, TaskStatus):
        return item
    if isinstance(item, str) and item in TaskStatus.__members__:
        return TaskStatus(item)
    known = ", ".join(TaskStatus)
    raise failed(
        field, f"{_shown(item)} is not a task status; use one of {known} (or a comma list)"
    )


def task_type(value: object, field: str = "type") -> str | None:
    """A task type's name, or None (any type). A name no plugin registers is accepted: tasks
    of a plugin removed since are still listed, requeued and purged by it."""
    if value is None:
        return None
    if not isinstance(value, str) or not _TYPE.match(value):
        raise failed(
            field, f"{_shown(value)} is not a task type name (upper-case, e.g. SEARCH or ACCOUNT)"
        )
    return value


def limit(value: object, low: int, high: int | None, field: str = "limit") -> int:
    """An integer from ``low`` to ``high`` (None: no upper bound)."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if integer and low <= value and (high is None or value <= high):  # type: ignore[operator]
        return value  # type: ignore[return-value]
    rule = f"from {low} to {high}" if high is not None else f"of {low} or more"
    raise failed(field, f"must be an integer {rule} (got {_shown(value)})")


def task_id(value: object, field: str = "task_id") -> str:
    if not isinstance(value, str) or not is_task_id(value):
        raise failed(field, f"a task id is 24 hexadecimal characters (got {_shown(value)})")
    return value.lower()


def text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value or "\x00" in value or len(value) > 200:
        raise failed(field, f"must be a name of 1 to 200 characters (got {_shown(value)})")
    return value


def cutoff(value: object, now: datetime, field: str = "older_than") -> datetime:
    """The instant before which tasks count as old: ``now`` minus a duration (seconds, a
    :class:`timedelta` or text such as ``"7d"``), or an aware time (a datetime or its ISO text)."""
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise failed(field, "a time must have a timezone (e.g. datetime.now(UTC))")
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise failed(field, f"{_shown(value)} is out of range in UTC") from None
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, str) and _ISO.match(value.strip()):
        return _iso_time(value, field)
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise failed(field, f"{exc}, or an ISO-8601 time with a timezone") from None
    return now - timedelta(seconds=seconds)


def _iso_time(value: str, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("z", "Z"))
        if when.utcoffset() is not None:
            return when.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time; or out of range once in UTC
        pass
    raise failed(field, f"{_shown(value)}: {TIME_RULE}, or a duration: {DURATION_HELP}")


def _shown(value: object) -> str:
    try:
        shown = repr(value)
    except ValueError:  # an int too long to print
        shown = "a number of more than 4000 digits"
    return shown if len(shown) <= 50 else shown[:47] + "..."


def failed(field: str, problem: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {problem}", [{"loc": (field,), "msg": problem, "type": "value_error"}]
    )
