"""Where a timeline keeps its paging cursors, in every shape X has used. Pure.

A cursor is an entry, or an item of a module, whose content holds ``cursorType`` and a
string ``value`` at one of these places:

- ``content`` itself (``TimelineTimelineCursor``: search and user timelines, also inside
  ``TimelineReplaceEntry`` on pages 2+);
- ``content.itemContent`` (a ``TimelineTimelineItem`` wrapping a cursor: TweetDetail, 2023-2024;
  module items carry it as ``item.itemContent``);
- ``content.operation.cursor`` (the adaptive search of 2020-2022).

Something that looks like a cursor (its id says ``cursor-``, or a ``TimelineTimelineCursor``
type) but has no readable type and value raises :class:`ShapeError`, so the page records a
problem and saves the raw body instead of the run ending quietly at "no bottom cursor".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .fields import ShapeError, dig

CURSOR_TYPENAME = "TimelineTimelineCursor"
#: ``cursor-bottom-...``, ``cursor-top-...``, ``conversationthread-1-cursor-showmore-2``.
CURSOR_ID = re.compile(r"(?:^|-)cursor-([a-z]*)", re.IGNORECASE)
KIND_FROM_ID = {"bottom": "Bottom", "top": "Top"}
NESTED = (("itemContent",), ("operation", "cursor"))


@dataclass(frozen=True)
class Cursor:
    """One cursor entry, read."""

    kind: str  # "Bottom", "Top", or one the timeline does not page with ("ShowMore", "Gap"...)
    value: str  # opaque to us: sent back as ``variables.cursor``


def _looks_like_cursor(node: dict[str, Any]) -> bool:
    kinds = (node.get("entryType"), node.get("itemType"), node.get("__typename"))
    return "cursorType" in node or CURSOR_TYPENAME in kinds


def _cursor_object(content: Any) -> dict[str, Any] | None:
    """The dict holding the cursor's fields: the content itself or one nested in it."""
    if not isinstance(content, dict):
        return None
    for node in (content, *(dig(content, *path) for path in NESTED)):
        if isinstance(node, dict) and _looks_like_cursor(node):
            return node
    return None


def read_cursor(entry_id: str, content: Any) -> Cursor | None:
    """The cursor in one entry's (or module item's) content; None when it is not a cursor.

    Raises :class:`ShapeError` naming what is missing when it is a cursor that cannot be read.
    """
    said = CURSOR_ID.search(entry_id)
    cursor = _cursor_object(content)
    if cursor is None:
        if said is None:
            return None
        raise ShapeError(
            "the id says cursor, but no cursorType/value at content, content.itemContent "
            "or content.operation.cursor"
        )
    kind = cursor.get("cursorType")
    if kind is None and said is not None:
        kind = KIND_FROM_ID.get(said.group(1).lower())
    kind = _text(kind, "cursor: cursorType")
    return Cursor(kind, _text(cursor.get("value"), f"{kind} cursor: value"))


def _text(value: Any, what: str) -> str:
    """``value`` when it is a non-empty string; else say what was there instead."""
    if isinstance(value, str) and value:
        return value
    if value is None:
        raise ShapeError(f"{what} missing")
    if isinstance(value, str):
        raise ShapeError(f"{what} empty")
    raise ShapeError(f"{what} is a {type(value).__name__}, not a string")
