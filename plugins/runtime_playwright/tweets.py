"""One ``tweet_results.result`` -> ``Tweet``: wrappers, tombstones, long posts, retweets, media.

Fields are read top level first (2026), then from ``legacy`` (2024); see ``fields.pick``.
"""

from __future__ import annotations

import html
from typing import Any

from roost.plugins.twitter.models import Tweet

from .fields import ShapeError, dig, pick, texts, to_datetime, to_int
from .users import parse_user

GONE = {"TweetTombstone", "TweetUnavailable"}


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
