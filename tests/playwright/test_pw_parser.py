"""The parser on JSON alone: every documented shape, and no crash on shapes it does not know."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakex import shapes
from roost.plugins.runtime_playwright.errors import SchemaChanged
from roost.plugins.runtime_playwright.paging import Run
from roost.plugins.runtime_playwright.parser import (
    parse_timeline,
    parse_tweet,
    parse_user,
    parse_user_lookup,
)

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def by_id(tweets: list[Any]) -> dict[str, Any]:
    return {t.id: t for t in tweets}


def test_search_page_2024_fields_text_counts_and_cursors() -> None:
    page = parse_timeline(load("search_2024.json"), "SearchTimeline")

    assert [t.id for t in page.tweets] == ["1810000000000000001", "1809999999999999999"]
    first = page.tweets[0]
    assert first.text == "$BTC S&P up > 5% #bitcoin @elonmusk https://t.co/abc https://t.co/pic"
    assert first.created_at == datetime(2024, 7, 8, 21, 59, 10, tzinfo=UTC)
    assert (first.likes, first.retweets, first.replies, first.quotes, first.bookmarks) == (
        1520,
        230,
        87,
        12,
        4,
    )
    assert first.views == 48213
    assert first.lang == "en"
    assert first.hashtags == ["bitcoin"] and first.symbols == ["BTC"]
    assert first.mentions == ["elonmusk"] and first.urls == ["https://example.com/a"]
    assert first.media == ["https://pbs.twimg.com/media/GSabc.jpg"]
    assert first.author is not None
    assert (first.author.id, first.author.screen_name, first.author.followers) == (
        "12345",
        "coinfan",
        98765,
    )
    assert page.bottom_cursor == "DAADDAABCgABGRkZ-bottom-1"
    assert page.top_cursor == "DAADDAABCgABGRkZ-top"
    assert page.skipped == 1  # the promoted tweet
    assert page.problems == []


def test_long_post_takes_the_note_tweet_text() -> None:
    page = parse_timeline(load("search_2024.json"), "SearchTimeline")
    long = by_id(page.tweets)["1809999999999999999"]
    assert long.text.endswith("only the note tweet carries.")
    assert "…" not in long.text
    assert long.hashtags == ["longform"]
    assert long.in_reply_to_id == "1809999999999999000"
    assert long.views is None


def test_user_tweets_2026_pin_wrappers_tombstones_modules_retweets() -> None:
    page = parse_timeline(load("user_tweets_2026.json"), "UserTweets")

    assert [t.id for t in page.tweets] == [
        "1700000000000000001",  # pinned
        "1820000000000000005",  # visibility wrapper
        "1820000000000000002",  # retweet
        "1820000000000000000",  # conversation module
        "1820000000000000001",
    ]
    assert page.skipped == 3  # tombstone, empty result, who-to-follow
    assert page.bottom_cursor == "HBbAbottom"
    tweets = by_id(page.tweets)
    pinned = tweets["1700000000000000001"]
    assert pinned.author is not None and pinned.author.screen_name == "elonmusk"
    assert pinned.author.followers == 220_000_000 and pinned.author.blue_verified
    assert pinned.views is None  # "state": "Enabled" without a count
    wrapped = tweets["1820000000000000005"]
    assert (wrapped.likes, wrapped.retweets, wrapped.views) == (99000, 8000, 1234567)
    assert wrapped.created_at == datetime(2026, 7, 8, 21, 59, 10, tzinfo=UTC)
    rt = tweets["1820000000000000002"]
    assert rt.retweeted_id == "1819000000000000000"
    assert rt.text == (
        "RT @satoshi: The original text is longer than what the retweet copy keeps, "
        "so the copy ends with an ellipsis."
    )
    assert tweets["1820000000000000001"].in_reply_to_id == "1820000000000000000"


def test_user_tweets_2024_timeline_v2() -> None:
    page = parse_timeline(load("user_tweets_2024.json"), "UserTweets")
    (tweet,) = page.tweets
    assert tweet.id == "1750000000000000001" and tweet.text == "2024 timeline_v2 post"
    assert (tweet.likes, tweet.retweets, tweet.replies, tweet.quotes, tweet.bookmarks) == (
        1,
        2,
        3,
        4,
        5,
    )
    assert tweet.views == 77
    assert tweet.author is not None and tweet.author.tweets == 40000
    assert page.bottom_cursor == "v2-bottom"


def test_media_search_add_to_module_and_replace_entry_cursor() -> None:
    page = parse_timeline(load("search_media_page2.json"), "SearchTimeline")
    assert [t.id for t in page.tweets] == ["1811000000000000002", "1811000000000000001"]
    assert page.tweets[0].media == ["https://video.twimg.com/high.mp4"]
    assert page.tweets[1].media == ["https://pbs.twimg.com/media/P.jpg"]
    assert page.bottom_cursor == "bottom-3"


@pytest.mark.parametrize("shape", ["2024", "2026"])
def test_user_shapes(shape: str) -> None:
    user = parse_user(shapes.make_user("42", "satoshi", shape, protected=True))
    assert user is not None
    assert (user.id, user.screen_name, user.name) == ("42", "satoshi", "Satoshi")
    assert (user.followers, user.following, user.tweets) == (1200, 34, 5678)
    assert user.protected is True
    assert user.created_at is not None and user.created_at.year == 2026
    assert user.avatar_url and user.avatar_url.startswith("https://pbs.twimg.com/")


def test_user_lookup_found_missing_suspended() -> None:
    found = parse_user_lookup(shapes.user_by_screen_name(shapes.user_2026("1", "a")))
    assert found.user is not None and found.user.screen_name == "a"
    assert parse_user_lookup({"data": {}}).unavailable == "not found"
    assert parse_user_lookup({"data": {"user": {}}}).unavailable == "not found"
    suspended = parse_user_lookup(shapes.user_by_screen_name(None, reason="Suspended"))
    assert suspended.user is None and suspended.unavailable == "suspended"


def test_ids_stay_exact_strings_above_2_53() -> None:
    author = shapes.user_2026("1", "a")
    tweet = parse_tweet(shapes.tweet(1, author))
    assert tweet is not None
    assert tweet.id == "1900000000000000001"
    assert int(tweet.id) > 2**53


def test_flat_2026_tweet_counts_at_the_top_level() -> None:
    tweet = parse_tweet(shapes.tweet(5, shapes.user_2026("1", "a"), flat=True, views=None))
    assert tweet is not None
    assert (tweet.likes, tweet.retweets, tweet.replies, tweet.lang) == (15, 10, 5, "en")
    assert tweet.created_at is not None and tweet.views is None


def test_duplicates_in_one_page_are_dropped() -> None:
    author = shapes.user_2026("1", "a")
    entries = [shapes.tweet_entry(shapes.tweet(1, author)) for _ in range(3)]
    body = shapes.search_response([{"type": "TimelineAddEntries", "entries": entries}])
    page = parse_timeline(body, "SearchTimeline")
    assert len(page.tweets) == 1 and page.bottom_cursor is None


def test_tombstone_and_empty_results_are_skipped_not_errors() -> None:
    assert parse_tweet(shapes.tombstone()) is None
    assert parse_tweet({}) is None
    assert parse_tweet({"__typename": "TweetUnavailable", "reason": "Protected"}) is None


def test_unknown_structure_is_schema_changed_with_the_raw_body_saved(tmp_path: Path) -> None:
    body = {"data": {"search_by_raw_query": {"search_timeline_v3": {"items": []}}}}
    with pytest.raises(SchemaChanged) as info:
        parse_timeline(body, "SearchTimeline", tmp_path)
    assert "schema changed" in str(info.value)
    assert info.value.dump is not None and str(info.value.dump) in str(info.value)
    saved = json.loads(info.value.dump.read_text())
    assert saved["response"] == body and saved["op"] == "SearchTimeline"


def test_every_tweet_unreadable_is_schema_changed(tmp_path: Path) -> None:
    broken = {"__typename": "Tweet", "legacy": {"full_text": "no id anywhere"}}
    body = shapes.search_response(
        [{"type": "TimelineAddEntries", "entries": [shapes.tweet_entry(broken, "tweet-1")]}]
    )
    with pytest.raises(SchemaChanged, match="no tweet could be parsed"):
        parse_timeline(body, "SearchTimeline", tmp_path)
    assert len(list(tmp_path.iterdir())) == 1


def test_some_tweets_unreadable_keeps_the_rest_and_saves_the_page(tmp_path: Path) -> None:
    good = shapes.tweet(1, shapes.user_2026("1", "a"))
    broken = {"__typename": "Tweet", "rest_id": "2", "legacy": {"full_text": {"odd": 1}}}
    body = shapes.search_response(
        [
            {
                "type": "TimelineAddEntries",
                "entries": [shapes.tweet_entry(good), shapes.tweet_entry(broken, "tweet-2")],
            }
        ]
    )
    page = parse_timeline(body, "SearchTimeline", tmp_path)
    assert [t.id for t in page.tweets] == [good["rest_id"]]
    assert len(page.problems) == 1 and "tweet-2" in page.problems[0]
    assert page.dump is not None and page.dump.exists()


def test_instructions_moved_deeper_are_still_found_and_reported(tmp_path: Path) -> None:
    good = shapes.tweet(1, shapes.user_2026("1", "a"))
    body = {
        "data": {
            "search_by_raw_query": {
                "search_timeline": {
                    "timeline_v2": {
                        "timeline": {
                            "instructions": [
                                {
                                    "type": "TimelineAddEntries",
                                    "entries": [shapes.tweet_entry(good)],
                                }
                            ]
                        }
                    }
                }
            }
        }
    }
    page = parse_timeline(body, "SearchTimeline", tmp_path)
    assert [t.id for t in page.tweets] == [good["rest_id"]]
    assert page.problems and page.dump is not None


# -- cursors: every shape X has used, and a problem (not silence) for one it cannot read ----


def cursor_item_content(kind: str | None, value: Any) -> dict[str, Any]:
    """A cursor as an ``itemContent`` (``None`` leaves the field out)."""
    inner: dict[str, Any] = {
        "itemType": "TimelineTimelineCursor",
        "__typename": "TimelineTimelineCursor",
    }
    if kind is not None:
        inner["cursorType"] = kind
    if value is not None:
        inner["value"] = value
    return inner


def item_cursor(entry_id: str, kind: str | None, value: Any) -> dict[str, Any]:
    """The TweetDetail shape of 2023-2024: the cursor nested in the entry's ``itemContent``."""
    content = {"entryType": "TimelineTimelineItem", "itemContent": cursor_item_content(kind, value)}
    return {"entryId": entry_id, "sortIndex": "0", "content": content}


def test_cursors_nested_in_item_content_are_read_and_the_run_goes_on() -> None:
    page = parse_timeline(load("search_item_cursors.json"), "SearchTimeline")

    assert [t.id for t in page.tweets] == ["1760000000000000002", "1760000000000000001"]
    assert page.bottom_cursor == "WwAAAPAoHBlWgIC-bottom"
    assert page.top_cursor == "WwAAAPAoHBlWgIC-top"
    assert (page.skipped, page.problems) == (0, [])
    run = Run(limit=10)
    run.add(page)
    assert run.stop_reason is None and run.next_cursor == "WwAAAPAoHBlWgIC-bottom"


def test_cursor_items_inside_a_module_are_cursors_not_tweets() -> None:
    page = parse_timeline(load("user_tweets_module_cursors.json"), "UserTweets")

    assert [t.id for t in page.tweets] == ["1830000000000000000", "1830000000000000002"]
    assert page.bottom_cursor == "HBbAmodule-bottom"
    assert page.top_cursor is None  # the "ShowMore" cursor opens replies: not a page cursor
    assert (page.skipped, page.problems) == (0, [])


def test_cursor_item_added_to_a_module_is_read() -> None:
    good = shapes.tweet(1, shapes.user_2026("1", "a"))
    cursor = {
        "entryId": "search-grid-0-cursor-bottom-0",
        "item": {"itemContent": cursor_item_content("Bottom", "grid-bottom-2")},
    }
    body = shapes.search_response(
        [
            {
                "type": "TimelineAddToModule",
                "moduleEntryId": "search-grid-0",
                "moduleItems": [shapes.module_item(good, "search-grid-0-tweet-1"), cursor],
            }
        ]
    )
    page = parse_timeline(body, "SearchTimeline")
    assert [t.id for t in page.tweets] == [good["rest_id"]]
    assert (page.bottom_cursor, page.skipped, page.problems) == ("grid-bottom-2", 0, [])


def test_replace_entry_with_a_nested_cursor_sets_the_bottom_cursor() -> None:
    good = shapes.tweet(1, shapes.user_2026("1", "a"))
    body = shapes.search_response(
        [
            {"type": "TimelineAddEntries", "entries": [shapes.tweet_entry(good)]},
            {
                "type": "TimelineReplaceEntry",
                "entry_id_to_replace": "cursor-bottom-0",
                "entry": item_cursor("cursor-bottom-0", "Bottom", "replaced-bottom-2"),
            },
        ]
    )
    page = parse_timeline(body, "SearchTimeline")
    assert (page.bottom_cursor, page.problems) == ("replaced-bottom-2", [])


def _in_entries(*entries: dict[str, Any]) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    def build(good: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"type": "TimelineAddEntries", "entries": [shapes.tweet_entry(good), *entries]}]

    return build


def _replacing(entry: Any) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    def build(good: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"type": "TimelineAddEntries", "entries": [shapes.tweet_entry(good)]},
            {
                "type": "TimelineReplaceEntry",
                "entry_id_to_replace": "cursor-bottom-0",
                "entry": entry,
            },
        ]

    return build


def _in_module(good: dict[str, Any]) -> list[dict[str, Any]]:
    module = shapes.module_entry("profile-conversation-1", [good])
    broken = {"itemContent": cursor_item_content("Bottom", None)}
    module["content"]["items"].append(
        {"entryId": "profile-conversation-1-cursor-bottom-0", "item": broken}
    )
    return [{"type": "TimelineAddEntries", "entries": [module]}]


def _plain(entry_id: str, **content: Any) -> dict[str, Any]:
    return {"entryId": entry_id, "content": {"entryType": "TimelineTimelineCursor", **content}}


UNREADABLE_CURSORS = {
    "top-level, no value": (
        _in_entries(_plain("cursor-bottom-0", cursorType="Bottom")),
        "cursor-bottom-0",
    ),
    "top-level, value not a string": (
        _in_entries(_plain("cursor-bottom-0", cursorType="Bottom", value={"token": "abc"})),
        "cursor-bottom-0",
    ),
    "top-level, no cursorType and an id that does not say which": (
        _in_entries(_plain("cursor-7", value="abc")),
        "cursor-7",
    ),
    "itemContent, no value": (
        _in_entries(item_cursor("cursor-bottom-0", "Bottom", None)),
        "cursor-bottom-0",
    ),
    "cursor id, unknown content": (
        _in_entries(
            {
                "entryId": "cursor-bottom-0",
                "content": {"entryType": "TimelineCursorV2", "token": "a"},
            }
        ),
        "cursor-bottom-0",
    ),
    "module item, no value": (_in_module, "profile-conversation-1-cursor-bottom-0"),
    "replace entry, no value": (
        _replacing(_plain("cursor-bottom-0", cursorType="Bottom")),
        "cursor-bottom-0",
    ),
    "replace entry, no entry": (_replacing(None), "cursor-bottom-0"),
}


@pytest.mark.parametrize("case", list(UNREADABLE_CURSORS))
def test_a_cursor_it_cannot_read_is_a_problem_with_the_raw_page_saved(
    case: str, tmp_path: Path
) -> None:
    build, entry_id = UNREADABLE_CURSORS[case]
    good = shapes.tweet(1, shapes.user_2026("1", "a"))
    body = shapes.search_response(build(good))

    page = parse_timeline(body, "SearchTimeline", tmp_path)

    assert [t.id for t in page.tweets] == [good["rest_id"]]  # the page's tweets are kept
    assert (page.bottom_cursor, page.top_cursor) == (None, None)
    assert len(page.problems) == 1
    assert page.problems[0].startswith(f"{entry_id}: ") and "cursor" in page.problems[0]
    assert page.dump is not None
    saved = json.loads(page.dump.read_text())
    assert entry_id in saved["reason"] and saved["response"] == body


def _mutations(node: Any, rng: random.Random) -> None:
    """Randomly drop keys and swap values for wrong types, in place."""
    if isinstance(node, dict):
        for key in list(node):
            roll = rng.random()
            if roll < 0.08:
                del node[key]
            elif roll < 0.14:
                node[key] = rng.choice([None, 0, "x", [], {}, True, 1.5, [None]])
            else:
                _mutations(node[key], rng)
    elif isinstance(node, list):
        for item in node:
            _mutations(item, rng)


@pytest.mark.parametrize(
    "fixture",
    [
        "search_2024.json",
        "user_tweets_2026.json",
        "search_media_page2.json",
        "search_item_cursors.json",
        "user_tweets_module_cursors.json",
    ],
)
def test_never_crashes_on_mangled_responses(fixture: str, tmp_path: Path) -> None:
    """Whatever X sends, the outcome is a page or SchemaChanged; never another exception."""
    original = load(fixture)
    op = "UserTweets" if "user" in fixture else "SearchTimeline"
    rng = random.Random(fixture)
    outcomes = {"page": 0, "schema": 0}
    for _ in range(300):
        body = copy.deepcopy(original)
        _mutations(body, rng)
        try:
            page = parse_timeline(body, op, tmp_path)
        except SchemaChanged:
            outcomes["schema"] += 1
        else:
            outcomes["page"] += 1
            assert all(t.id.isdigit() for t in page.tweets)
    assert outcomes["page"] > 0 and outcomes["schema"] > 0
    for junk in (None, [], "html", 42, {"data": None}, {"errors": [{"code": 1}]}):
        with pytest.raises(SchemaChanged):
            parse_timeline(junk, op, tmp_path)
