"""Captured X GraphQL JSON -> ``Page`` (tweets and cursors). Pure: no browser, no network.

Nothing here raises on an odd entry: it is skipped and noted in ``Page.problems``; a response
whose structure is unrecognisable raises :class:`SchemaChanged` after saving the raw body.
Tweet and user fields are read in ``tweets`` / ``users``; their public names are re-exported
here, where the runtime and tests import them.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roost.plugins.twitter.models import Tweet

from .errors import SchemaChanged
from .fields import ShapeError, dig
from .tweets import parse_tweet
from .users import UserLookup, parse_user, parse_user_lookup

__all__ = [
    "Page",
    "ShapeError",
    "UserLookup",
    "parse_timeline",
    "parse_tweet",
    "parse_user",
    "parse_user_lookup",
    "save_raw",
]

log = logging.getLogger("roost.playwright")

#: Where each operation keeps its instructions, newest shape first.
INSTRUCTION_PATHS: dict[str, list[tuple[str, ...]]] = {
    "SearchTimeline": [("search_by_raw_query", "search_timeline", "timeline", "instructions")],
    "UserTweets": [
        ("user", "result", "timeline", "timeline", "instructions"),
        ("user", "result", "timeline_v2", "timeline", "instructions"),
    ],
}
SKIP_PREFIXES = ("promoted-tweet-", "who-to-follow-", "messageprompt-", "superhero-", "pivot-")


@dataclass
class Page:
    """One timeline response, parsed."""

    tweets: list[Tweet] = field(default_factory=list)
    bottom_cursor: str | None = None
    top_cursor: str | None = None
    skipped: int = 0  # tombstones, unavailable, promoted
    problems: list[str] = field(default_factory=list)
    dump: Path | None = None


def find_instructions(body: Any, op: str) -> tuple[list[Any] | None, bool]:
    """The instruction list and whether it was at a documented path."""
    data = dig(body, "data")
    for path in INSTRUCTION_PATHS.get(op, []):
        found = dig(data, *path)
        if isinstance(found, list):
            return found, True
    found = _search_key(data, "instructions", depth=8)
    return found, False


def _search_key(obj: Any, key: str, depth: int) -> list[Any] | None:
    """Breadth-first look for a list under ``key``: survives X nesting it one level deeper."""
    level = [obj]
    for _ in range(depth):
        following: list[Any] = []
        for node in level:
            if isinstance(node, dict):
                if isinstance(node.get(key), list):
                    return node[key]
                following.extend(node.values())
            elif isinstance(node, list):
                following.extend(node)
        level = following
    return None


def _entry_results(entry: dict[str, Any]) -> list[Any]:
    """Tweet results inside one entry: a single item, or a module's items."""
    content = entry.get("content") or entry.get("item") or {}
    single = dig(content, "itemContent", "tweet_results", "result")
    if single is not None or dig(content, "itemContent", "tweet_results") is not None:
        if dig(content, "itemContent", "promotedMetadata"):
            return []
        return [single]
    items = content.get("items") if isinstance(content, dict) else None
    results = []
    for item in items if isinstance(items, list) else []:
        inner = dig(item, "item", "itemContent")
        if isinstance(inner, dict) and not inner.get("promotedMetadata"):
            results.append(dig(inner, "tweet_results", "result"))
    return results


def _cursor(entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """(``Top``/``Bottom``, value) when the entry is a cursor."""
    content = entry.get("content")
    if not isinstance(content, dict):
        return None, None
    kind = content.get("cursorType") or dig(content, "operation", "cursor", "cursorType")
    value = content.get("value") or dig(content, "operation", "cursor", "value")
    entry_id = str(entry.get("entryId", ""))
    if kind is None and entry_id.startswith("cursor-"):
        kind = "Bottom" if entry_id.startswith("cursor-bottom") else "Top"
    return (str(kind), str(value)) if kind and value else (None, None)


def _entries(instructions: list[Any]) -> list[dict[str, Any]]:
    """Every entry of every instruction kind, in order."""
    entries: list[dict[str, Any]] = []
    for ins in instructions:
        if not isinstance(ins, dict):
            continue
        for key in ("entries", "moduleItems"):
            if isinstance(ins.get(key), list):
                entries.extend(e for e in ins[key] if isinstance(e, dict))
        if isinstance(ins.get("entry"), dict):  # TimelinePinEntry, TimelineReplaceEntry
            entries.append(ins["entry"])
    return entries


def parse_timeline(body: Any, op: str, dump_dir: Path | None = None) -> Page:
    """A ``SearchTimeline`` / ``UserTweets`` response -> tweets (deduplicated) + cursors."""
    page = Page()
    instructions, documented = find_instructions(body, op)
    if instructions is None:
        dump = save_raw(dump_dir, op, body, "no timeline instructions")
        raise SchemaChanged(op, "no timeline instructions in the response", dump)
    if not documented:
        page.problems.append("instructions found at an undocumented path")
    counts = {"tweet_entries": 0}
    seen: set[str] = set()
    for entry in _entries(instructions):
        entry_id = str(entry.get("entryId", ""))
        try:
            _take_entry(entry, entry_id, page, seen, counts)
        except ENTRY_ERRORS as exc:  # one odd entry must not cost the page
            page.problems.append(f"{entry_id}: {type(exc).__name__}: {exc}")
    if page.problems:
        page.dump = save_raw(dump_dir, op, body, "; ".join(page.problems[:5]))
        log.warning("schema drift op=%s problems=%d dump=%s", op, len(page.problems), page.dump)
        broken = counts["tweet_entries"] - page.skipped
        if counts["tweet_entries"] and not page.tweets and broken > 0:
            raise SchemaChanged(op, f"no tweet could be parsed: {page.problems[-1]}", page.dump)
    return page


ENTRY_ERRORS = (ShapeError, ValueError, TypeError, AttributeError, KeyError, IndexError)


def _take_entry(
    entry: dict[str, Any], entry_id: str, page: Page, seen: set[str], counts: dict[str, int]
) -> None:
    kind, value = _cursor(entry)
    if kind == "Bottom":
        page.bottom_cursor = value
        return
    if kind == "Top":
        page.top_cursor = value
        return
    if entry_id.startswith(SKIP_PREFIXES):
        page.skipped += 1
        return
    for result in _entry_results(entry):
        counts["tweet_entries"] += 1
        try:
            tweet = parse_tweet(result)
        except ENTRY_ERRORS as exc:
            page.problems.append(f"{entry_id}: {type(exc).__name__}: {exc}")
            continue
        if tweet is None:
            page.skipped += 1
        elif tweet.id not in seen:
            seen.add(tweet.id)
            page.tweets.append(tweet)


def save_raw(dump_dir: Path | None, op: str, body: Any, reason: str) -> Path | None:
    """Write the raw response for a person to inspect; never fails the caller."""
    if dump_dir is None:
        return None
    try:
        dump_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        path = dump_dir / f"{op}-{stamp}-{uuid.uuid4().hex[:8]}.json"
        raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        path.write_text(
            json.dumps({"op": op, "reason": reason, "response": raw}, indent=1, default=str),
            encoding="utf-8",
        )
        return path
    except OSError as exc:
        log.error("cannot save raw response op=%s dir=%s: %s", op, dump_dir, exc)
        return None
