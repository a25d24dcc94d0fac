"""Captured X GraphQL JSON -> ``Tweet`` / ``User``. Pure: no browser, no network.

X moves fields between releases (2024 ``legacy`` objects, 2026 top-level fields, user
``core``), so every lookup tries the new place then the old one. Nothing here raises
on an odd entry: it is skipped and noted in ``Page.problems``; a response whose
structure is unrecognisable raises :class:`SchemaChanged` after saving the raw body.
"""

from __future__ import annotations

import html
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roost.plugins.twitter.models import Tweet, User

from .errors import SchemaChanged

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
GONE = {"TweetTombstone", "TweetUnavailable"}
TWITTER_DATE = "%a %b %d %H:%M:%S %z %Y"


class ShapeError(ValueError):
    """One object did not have the fields every tweet or user has."""


@dataclass
class Page:
    """One timeline response, parsed."""

    tweets: list[Tweet] = field(default_factory=list)
    bottom_cursor: str | None = None
    top_cursor: str | None = None
    skipped: int = 0  # tombstones, unavailable, promoted
    problems: list[str] = field(default_factory=list)
    dump: Path | None = None


@dataclass
class UserLookup:
    """What ``UserByScreenName`` said: the user, or why there is none."""

    user: User | None
    unavailable: str | None = None  # "not found", "suspended", ...


# -- small defensive accessors ---------------------------------------------------------


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


# -- users -------------------------------------------------------------------------------


def parse_user(result: Any) -> User | None:
    """A ``user_results.result`` in the 2024 (``legacy``) or 2026 (``core``...) shape."""
    if not isinstance(result, dict) or not result:
        return None
    if result.get("__typename") == "UserUnavailable":
        return None
    legacy: dict[str, Any] = result["legacy"] if isinstance(result.get("legacy"), dict) else {}
    core: dict[str, Any] = result["core"] if isinstance(result.get("core"), dict) else {}
    user_id = result.get("rest_id") or legacy.get("id_str")
    screen_name = core.get("screen_name") or legacy.get("screen_name")
    if not user_id or not screen_name:
        raise ShapeError("user without rest_id or screen_name")

    def first(*values: Any) -> Any:
        return next((v for v in values if v is not None), None)

    return User(
        id=str(user_id),
        screen_name=str(screen_name),
        name=str(first(core.get("name"), legacy.get("name"), "")),
        created_at=to_datetime(first(core.get("created_at"), legacy.get("created_at"))),
        followers=to_int(
            first(dig(result, "relationship_counts", "followers"), legacy.get("followers_count"))
        ),
        following=to_int(
            first(dig(result, "relationship_counts", "following"), legacy.get("friends_count"))
        ),
        tweets=to_int(first(dig(result, "tweet_counts", "tweets"), legacy.get("statuses_count"))),
        verified=bool(first(dig(result, "verification", "verified"), legacy.get("verified"))),
        blue_verified=bool(result.get("is_blue_verified")),
        protected=bool(first(dig(result, "privacy", "protected"), legacy.get("protected"))),
        avatar_url=first(dig(result, "avatar", "image_url"), legacy.get("profile_image_url_https")),
    )


def parse_user_lookup(body: Any) -> UserLookup:
    """``UserByScreenName``: the user, or "not found" / "suspended" / the unavailable reason."""
    result = dig(body, "data", "user", "result")
    if not isinstance(result, dict) or not result:
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            return UserLookup(None, "not found")
        raise ShapeError("UserByScreenName response without data")
    if result.get("__typename") == "UserUnavailable":
        reason = str(result.get("reason") or result.get("message") or "unavailable")
        return UserLookup(None, reason.lower())
    return UserLookup(parse_user(result))


# -- tweets ------------------------------------------------------------------------------


def unwrap(result: Any) -> dict[str, Any] | None:
    """The tweet inside a result: None for tombstones, unavailable and empty results."""
    if not isinstance(result, dict) or not result:
        return None
    kind = result.get("__typename")
    if kind in GONE:
        return None
    if kind == "TweetWithVisibilityResults" or (kind is None and "tweet" in result):
        return unwrap(result.get("tweet"))
    return result


def _media(tweet: dict[str, Any]) -> list[str]:
    """Photo URLs, and the best-bitrate file of videos and GIFs."""
    found: list[str] = []
    items = dig(tweet, "extended_entities", "media") or dig(
        tweet, "legacy", "extended_entities", "media"
    )
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        variants = dig(item, "video_info", "variants")
        if isinstance(variants, list) and variants:
            best = max(
                (v for v in variants if isinstance(v, dict) and v.get("url")),
                key=lambda v: to_int(v.get("bitrate")) or 0,
                default=None,
            )
            if best:
                found.append(str(best["url"]))
                continue
        if item.get("media_url_https"):
            found.append(str(item["media_url_https"]))
    return found


def parse_tweet(result: Any) -> Tweet | None:
    """One ``tweet_results.result``; None when it is a tombstone or empty."""
    tweet = unwrap(result)
    if tweet is None:
        return None
    tweet_id = tweet.get("rest_id") or dig(tweet, "legacy", "id_str")
    if not tweet_id or not str(tweet_id).isdigit():
        raise ShapeError(f"tweet without rest_id (__typename={tweet.get('__typename')!r})")
    note = dig(tweet, "note_tweet", "note_tweet_results", "result") or {}
    raw_text = note.get("text") if isinstance(note, dict) else None
    if raw_text is None:
        raw_text = pick(tweet, "full_text")
    if raw_text is None:
        raw_text = pick(tweet, "text")
    if not isinstance(raw_text, str):
        raise ShapeError(f"tweet {tweet_id} without full_text")
    text = html.unescape(raw_text)  # legacy full_text escapes &, < and >
    try:
        author = parse_user(dig(tweet, "core", "user_results", "result"))
    except ShapeError:
        author = None  # keep the tweet; the author is the least important part of it

    retweeted = None
    rt_result = dig(pick(tweet, "retweeted_status_result"), "result")
    if rt_result:
        try:
            retweeted = parse_tweet(rt_result)
        except ShapeError:
            retweeted = None
    if retweeted is not None and retweeted.author is not None:
        text = f"RT @{retweeted.author.screen_name}: {retweeted.text}"  # the legacy copy is cut

    entities = pick(tweet, "entities") or {}
    note_entities = note.get("entity_set") if isinstance(note, dict) else None
    sets = [e for e in (entities, note_entities) if isinstance(e, dict)]

    def merged(name: str, key: str) -> list[str]:
        out: list[str] = []
        for entity_set in sets:
            for value in texts(entity_set.get(name), key):
                if value not in out:
                    out.append(value)
        return out

    urls = []
    for entity_set in sets:
        for url in entity_set.get("urls") or []:
            if isinstance(url, dict) and (url.get("expanded_url") or url.get("url")):
                value = str(url.get("expanded_url") or url.get("url"))
                if value not in urls:
                    urls.append(value)

    views = to_int(dig(tweet, "views", "count"))
    return Tweet(
        id=str(tweet_id),
        text=text,
        created_at=to_datetime(pick(tweet, "created_at")),
        author=author,
        lang=pick(tweet, "lang"),
        likes=to_int(pick(tweet, "favorite_count")) or 0,
        retweets=to_int(pick(tweet, "retweet_count")) or 0,
        replies=to_int(pick(tweet, "reply_count")) or 0,
        quotes=to_int(pick(tweet, "quote_count")) or 0,
        bookmarks=to_int(pick(tweet, "bookmark_count")) or 0,
        views=views,
        conversation_id=pick(tweet, "conversation_id_str"),
        in_reply_to_id=pick(tweet, "in_reply_to_status_id_str"),
        retweeted_id=retweeted.id if retweeted else pick(tweet, "retweeted_status_id_str"),
        hashtags=merged("hashtags", "text"),
        urls=urls,
        mentions=merged("user_mentions", "screen_name"),
        symbols=merged("symbols", "text"),
        media=_media(tweet),
    )


# -- timelines ---------------------------------------------------------------------------


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
