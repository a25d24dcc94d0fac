"""Search URL building: every filter becomes one operator, never twice."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from roost.plugins.runtime_playwright.query import build_query, profile_url, search_url
from roost.plugins.twitter.models import SearchFilters


def test_every_filter_becomes_its_operator() -> None:
    filters = SearchFilters.model_validate(
        {
            "from": "alice",
            "to": "bob",
            "lang": "en",
            "since": "2026-01-01",
            "until": "2026-02-01",
            "min_faves": 10,
            "min_retweets": 0,
            "min_replies": 3,
            "exclude_replies": True,
            "exclude_retweets": True,
            "media": "videos",
            "links": True,
        }
    )
    assert build_query("bitcoin", filters) == (
        "bitcoin from:alice to:bob lang:en since:2026-01-01 until:2026-02-01 min_faves:10 "
        "min_retweets:0 min_replies:3 -filter:replies -filter:retweets filter:links "
        "filter:videos"
    )


@pytest.mark.parametrize(
    ("raw", "filters", "expected"),
    [
        ("btc from:carol", {"from": "alice"}, "btc from:carol"),
        ("btc lang:de", {"lang": "en", "min_faves": 5}, "btc lang:de min_faves:5"),
        ("btc -filter:replies", {"exclude_replies": True}, "btc -filter:replies"),
        ("btc filter:replies", {"exclude_replies": True}, "btc filter:replies"),
        ("btc filter:images", {"media": "videos"}, "btc filter:images"),
        ("(from:a OR from:b) eth", {"from": "alice"}, "(from:a OR from:b) eth"),
        ("btc since:2025-01-01", {"since": "2026-01-01"}, "btc since:2025-01-01"),
    ],
)
def test_an_operator_already_in_the_query_is_not_added_again(
    raw: str, filters: dict[str, object], expected: str
) -> None:
    assert build_query(raw, SearchFilters.model_validate(filters)) == expected


def test_operators_inside_quotes_do_not_count() -> None:
    query = build_query('"from:alice is great"', SearchFilters.model_validate({"from": "alice"}))
    assert query == '"from:alice is great" from:alice'


@pytest.mark.parametrize(("product", "f"), [("Latest", "live"), ("Top", "top"), ("Media", "media")])
def test_search_url_product_and_encoding(product: str, f: str) -> None:
    filters = SearchFilters.model_validate({"product": product, "lang": "en"})
    url = search_url("https://x.com/", '#btc $ETH "to the moon" -scam', filters)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "x.com", "/search")
    params = parse_qs(parts.query)
    assert params == {
        "q": ['#btc $ETH "to the moon" -scam lang:en'],
        "src": ["typed_query"],
        "f": [f],
    }
    assert "+" not in parts.query and "%20" in parts.query


def test_profile_url() -> None:
    assert profile_url("http://127.0.0.1:8080", "elonmusk") == "http://127.0.0.1:8080/elonmusk"
