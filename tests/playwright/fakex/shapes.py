"""Builders of X GraphQL objects in the documented 2024 and 2026 shapes (docs/x-graphql.md).

Used by the fake X server and by parser tests; the hand-written JSON fixtures in
``tests/playwright/fixtures`` cover the same shapes independently of this code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

BASE_ID = 1_900_000_000_000_000_000  # above 2**53: ids must stay strings
START = datetime(2026, 7, 8, 21, 59, 10, tzinfo=UTC)


def tweet_id(n: int) -> str:
    return str(BASE_ID + n)


def x_date(when: datetime) -> str:
    return when.strftime("%a %b %d %H:%M:%S +0000 %Y")


def user_2026(uid: str, handle: str, *, protected: bool = False) -> dict[str, Any]:
    """The 2026 user: no ``legacy`` at all."""
    return {
        "__typename": "User",
        "rest_id": uid,
        "core": {"screen_name": handle, "name": handle.title(), "created_at": x_date(START)},
        "avatar": {"image_url": f"https://pbs.twimg.com/profile_images/{uid}/a_normal.jpg"},
        "relationship_counts": {"followers": 1200, "following": 34},
        "tweet_counts": {"tweets": 5678},
        "verification": {"verified": False},
        "is_blue_verified": True,
        "privacy": {"protected": protected},
    }


def user_2024(uid: str, handle: str, *, protected: bool = False) -> dict[str, Any]:
    """The 2024 user: everything under ``legacy``."""
    return {
        "__typename": "User",
        "id": "VXNlcjo" + uid,
        "rest_id": uid,
        "is_blue_verified": False,
        "legacy": {
            "screen_name": handle,
            "name": handle.title(),
            "created_at": x_date(START),
            "followers_count": 1200,
            "friends_count": 34,
            "statuses_count": 5678,
            "verified": True,
            "protected": protected,
            "profile_image_url_https": f"https://pbs.twimg.com/profile_images/{uid}/b_normal.jpg",
        },
    }


def make_user(uid: str, handle: str, shape: str, *, protected: bool = False) -> dict[str, Any]:
    build = user_2026 if shape == "2026" else user_2024
    return build(uid, handle, protected=protected)


def tweet(
    n: int,
    author: dict[str, Any],
    *,
    text: str | None = None,
    views: int | None = 1000,
    media_url: str | None = None,
    flat: bool = False,
) -> dict[str, Any]:
    """A ``Tweet`` result. ``flat`` moves counts and dates to the top level (2026 drift)."""
    tid = tweet_id(n)
    legacy: dict[str, Any] = {
        "id_str": tid,
        "full_text": text if text is not None else f"tweet number {n} about $BTC &amp; #bitcoin",
        "created_at": x_date(START - timedelta(minutes=n)),
        "lang": "en",
        "favorite_count": 10 + n,
        "retweet_count": 2 * n,
        "reply_count": n % 7,
        "quote_count": 1,
        "bookmark_count": 3,
        "conversation_id_str": tid,
        "entities": {
            "hashtags": [{"text": "bitcoin", "indices": [0, 8]}],
            "symbols": [{"text": "BTC", "indices": [0, 4]}],
            "user_mentions": [],
            "urls": [],
        },
    }
    if media_url:
        legacy["extended_entities"] = {
            "media": [{"type": "photo", "media_url_https": media_url, "id_str": tid + "7"}]
        }
    result: dict[str, Any] = {
        "__typename": "Tweet",
        "rest_id": tid,
        "core": {"user_results": {"result": author}},
        "legacy": legacy,
    }
    if views is not None:
        result["views"] = {"count": str(views), "state": "EnabledWithCount"}
    if flat:
        for key in ("created_at", "favorite_count", "retweet_count", "reply_count", "lang"):
            result[key] = legacy.pop(key)
    return result


def with_visibility(result: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "TweetWithVisibilityResults", "tweet": result, "limitedActionResults": {}}


def tombstone() -> dict[str, Any]:
    return {
        "__typename": "TweetTombstone",
        "tombstone": {"text": {"text": "This Post was deleted"}},
    }


def long_post(n: int, author: dict[str, Any], body: str) -> dict[str, Any]:
    """A note tweet: ``full_text`` is cut, the whole text is in ``note_tweet``."""
    result = tweet(n, author, text=body[:270] + "…")
    result["note_tweet"] = {
        "is_expandable": True,
        "note_tweet_results": {"result": {"id": "Tm90ZTo" + str(n), "text": body}},
    }
    return result


def retweet(n: int, retweeter: dict[str, Any], original: dict[str, Any]) -> dict[str, Any]:
    """A retweet: its own ``full_text`` is a truncated copy, the original is nested."""
    handle = (original["core"]["user_results"]["result"].get("core") or {}).get(
        "screen_name"
    ) or original["core"]["user_results"]["result"]["legacy"]["screen_name"]
    cut = f"RT @{handle}: " + original["legacy"]["full_text"][:40] + "…"
    result = tweet(n, retweeter, text=cut)
    result["legacy"]["retweeted_status_result"] = {"result": original}
    return result


# -- entries and timelines ------------------------------------------------------------


def tweet_entry(result: dict[str, Any], entry_id: str | None = None) -> dict[str, Any]:
    rid = (result.get("tweet") or result).get("rest_id", "0")
    return {
        "entryId": entry_id or f"tweet-{rid}",
        "sortIndex": rid,
        "content": {
            "entryType": "TimelineTimelineItem",
            "__typename": "TimelineTimelineItem",
            "itemContent": {
                "itemType": "TimelineTweet",
                "__typename": "TimelineTweet",
                "tweet_results": {"result": result},
                "tweetDisplayType": "Tweet",
            },
        },
    }


def promoted_entry(result: dict[str, Any]) -> dict[str, Any]:
    entry = tweet_entry(result, f"promoted-tweet-{result['rest_id']}-9")
    entry["content"]["itemContent"]["promotedMetadata"] = {"advertiser_results": {}}
    return entry


def module_item(result: dict[str, Any], entry_id: str) -> dict[str, Any]:
    return {
        "entryId": entry_id,
        "item": {
            "itemContent": {
                "itemType": "TimelineTweet",
                "__typename": "TimelineTweet",
                "tweet_results": {"result": result},
            }
        },
    }


def module_entry(entry_id: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """A conversation (profile) or grid (media search) module."""
    return {
        "entryId": entry_id,
        "sortIndex": "1",
        "content": {
            "entryType": "TimelineTimelineModule",
            "__typename": "TimelineTimelineModule",
            "displayType": "VerticalConversation",
            "items": [module_item(r, f"{entry_id}-tweet-{r.get('rest_id')}") for r in results],
        },
    }


def cursor_entry(kind: str, value: str) -> dict[str, Any]:
    return {
        "entryId": f"cursor-{kind.lower()}-{value[-12:]}",
        "sortIndex": "0",
        "content": {
            "entryType": "TimelineTimelineCursor",
            "__typename": "TimelineTimelineCursor",
            "value": value,
            "cursorType": kind,
        },
    }


def search_response(instructions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": {
            "search_by_raw_query": {"search_timeline": {"timeline": {"instructions": instructions}}}
        }
    }


def user_tweets_response(instructions: list[dict[str, Any]], shape: str) -> dict[str, Any]:
    key = "timeline" if shape == "2026" else "timeline_v2"
    return {
        "data": {
            "user": {
                "result": {
                    "__typename": "User",
                    key: {"timeline": {"instructions": instructions}},
                }
            }
        }
    }


def user_by_screen_name(user: dict[str, Any] | None, reason: str | None = None) -> dict[str, Any]:
    if reason:
        return {"data": {"user": {"result": {"__typename": "UserUnavailable", "reason": reason}}}}
    if user is None:
        return {"data": {}}
    return {"data": {"user": {"result": user}}}


def unwrap_for_tests(result: dict[str, Any]) -> dict[str, Any] | None:
    """The tweet a result stands for (what a correct parser must keep), None for tombstones."""
    if result.get("__typename") == "TweetWithVisibilityResults":
        return result["tweet"]  # type: ignore[no-any-return]
    if result.get("__typename") in ("TweetTombstone", "TweetUnavailable") or not result:
        return None
    return result
