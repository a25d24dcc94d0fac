"""Captured X timeline JSON -> ``Page`` (tweets and cursors). Pure: no browser, no network.

Nothing here raises on an odd entry: it is skipped and noted in ``Page.problems``, and the raw
body is saved; a response whose structure is unrecognisable raises :class:`SchemaChanged` after
saving it. Tweet and user fields are read in ``tweets`` / ``users``, cursors in ``cursors``;
their public names are re-exported here, where the runtime and tests import them.
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

from .cursors import read_cursor
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
ENTRY_ERRORS = (ShapeError, ValueError, TypeError, AttributeError, KeyError, IndexError)


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


def _entries(instructions: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """(entry id, entry) of every instruction kind, in order."""
    entries: list[tuple[str, dict[str, Any]]] = []
    for ins in instructions:
        if not isinstance(ins, dict):
            continue
        for key in ("entries", "moduleItems"):  # TimelineAddEntries, TimelineAddToModule
            if isinstance(ins.get(key), list):
                entries.extend(
                    (str(e.get("entryId") or ""), e) for e in ins[key] if isinstance(e, dict)
                )
        if "entry" in ins:  # TimelinePinEntry, TimelineReplaceEntry
            entry = ins["entry"] if isinstance(ins["entry"], dict) else {}
            # a replaced entry without an id (or without a body) is still the one it replaces
            entry_id = entry.get("entryId") or ins.get("entry_id_to_replace") or ""
            entries.append((str(entry_id), entry))
    return entries


def _units(entry_id: str, entry: dict[str, Any]) -> list[tuple[str, Any]]:
    """(id, content) of the entry, or of each item of a module: each a tweet or a cursor."""
    content = entry.get("content") or entry.get("item")
    items = content.get("items") if isinstance(content, dict) else None
    if not isinstance(items, list):
        return [(entry_id, content)]
    return [
        (str(item.get("entryId") or entry_id), item.get("item"))
        for item in items
        if isinstance(item, dict)
    ]


def _tweet_result(content: Any) -> tuple[bool, Any]:
    """(is it a tweet, its ``tweet_results.result``); promoted tweets are not tweets here."""
    inner = dig(content, "itemContent")
    if not isinstance(inner, dict) or inner.get("promotedMetadata"):
        return False, None
    if "tweet_results" not in inner and inner.get("itemType") != "TimelineTweet":
        return False, None
    return True, dig(inner, "tweet_results", "result")


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
    for entry_id, entry in _entries(instructions):
        if entry_id.startswith(SKIP_PREFIXES):
            page.skipped += 1
            continue
        for unit_id, content in _units(entry_id, entry):
            try:  # one odd entry must not cost the page
                _take(unit_id, content, page, seen, counts)
            except ENTRY_ERRORS as exc:
                page.problems.append(f"{unit_id}: {type(exc).__name__}: {exc}")
    if page.problems:
        summary = "; ".join(page.problems[:5])
        page.dump = save_raw(dump_dir, op, body, summary)
        log.warning(
            "schema drift op=%s problems=%d dump=%s: %s", op, len(page.problems), page.dump, summary
        )
        broken = counts["tweet_entries"] - page.skipped
        if counts["tweet_entries"] and not page.tweets and broken > 0:
            raise SchemaChanged(op, f"no tweet could be parsed: {page.problems[-1]}", page.dump)
    return page


def _take(unit_id: str, content: Any, page: Page, seen: set[str], counts: dict[str, int]) -> None:
    """One entry or module item into ``page``: a cursor, a tweet, or nothing we read."""
    cursor = read_cursor(unit_id, content)
    if cursor is not None:
        if cursor.kind == "Bottom":
            page.bottom_cursor = cursor.value
        elif cursor.kind == "Top":
            page.top_cursor = cursor.value
        return  # other kinds ("ShowMore" replies, "Gap") are not how a timeline pages
    is_tweet, result = _tweet_result(content)
    if not is_tweet:
        return
    counts["tweet_entries"] += 1
    tweet = parse_tweet(result)
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
