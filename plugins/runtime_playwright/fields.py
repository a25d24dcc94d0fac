"""Defensive accessors for X's JSON: a missing key or a wrong type gives None, never a crash.

X moves fields between releases (2024 ``legacy`` objects, 2026 top-level fields), so the
tweet, user and timeline parsers read through these instead of indexing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

TWITTER_DATE = "%a %b %d %H:%M:%S %z %Y"


class ShapeError(ValueError):
    """One object did not have the fields every tweet, user or cursor has."""


def dig(obj: Any, *path: str) -> Any:
    """``obj[a][b]...`` or None when any step is missing or not a dict."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def pick(obj: dict[str, Any], key: str) -> Any:
    """A tweet field: top level first (2026), then ``legacy`` (2024)."""
    value = obj.get(key)
    if value is None:
        value = dig(obj, "legacy", key)
    return value


def to_int(value: Any) -> int | None:
    """Counts arrive as ints, numeric strings (views) or not at all."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def to_datetime(value: Any) -> datetime | None:
    """``Wed Jul 08 21:59:10 +0000 2026``, ISO-8601 or epoch milliseconds."""
    if isinstance(value, str) and value:
        try:
            return datetime.strptime(value, TWITTER_DATE)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    millis = to_int(value)
    if millis is not None and millis > 10**11:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    return None


def texts(items: Any, key: str) -> list[str]:
    """``[x[key] for x in items]`` skipping anything odd (entity lists may be omitted)."""
    if not isinstance(items, list):
        return []
    return [str(x[key]) for x in items if isinstance(x, dict) and x.get(key)]
