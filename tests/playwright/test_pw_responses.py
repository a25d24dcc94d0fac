"""HTTP status, headers and X error codes -> the typed error the runtime acts on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from roost.core.errors import PermanentError, RetryAfter
from roost.plugins.runtime_playwright.errors import (
    AccountUnusable,
    CloudflareBlocked,
    RateLimited,
    SchemaChanged,
    SessionExpired,
    XUnavailable,
)
from roost.plugins.runtime_playwright.responses import Captured, RateInfo, decode, graphql_op

NOW = 1_800_000_000.0
RESET = int(NOW) + 600


def captured(status: int, body: object = None, **headers: str) -> Captured:
    raw = b"" if body is None else json.dumps(body).encode()
    base = {
        "content-type": "application/json",
        "x-rate-limit-limit": "50",
        "x-rate-limit-remaining": "0",
        "x-rate-limit-reset": str(RESET),
    }
    return Captured(
        "SearchTimeline",
        status,
        {**base, **headers},
        raw,
        "https://x.com/i/api/graphql/q/SearchTimeline",
    )


def errors(code: int) -> dict[str, object]:
    return {"errors": [{"code": code, "message": "m"}]}


@pytest.mark.parametrize(
    ("url", "op"),
    [
        (
            "https://x.com/i/api/graphql/nK1dw4oV3k4w5TdtcAdSww/SearchTimeline?variables=%7B%7D",
            "SearchTimeline",
        ),
        ("https://api.x.com/graphql/abc-DEF_1/UserTweets?variables=%7B%7D", "UserTweets"),
        ("http://127.0.0.1:5000/graphql/x/UserByScreenName", "UserByScreenName"),
        ("https://x.com/search?q=graphql/a/SearchTimeline", None),
        ("https://x.com/i/api/2/badge_count/badge_count.json", None),
    ],
)
def test_graphql_op_matches_any_host_and_query_id(url: str, op: str | None) -> None:
    assert graphql_op(url) == op


def test_ok_returns_the_json() -> None:
    assert decode(captured(200, {"data": {"x": 1}}), "main", now=NOW) == {"data": {"x": 1}}


def test_429_code_88_is_a_rate_limit_until_the_reset() -> None:
    with pytest.raises(RateLimited) as info:
        decode(captured(429, errors(88)), "main", now=NOW)
    assert info.value.reset == RESET
    assert isinstance(info.value, RetryAfter) and info.value.charge is False


def test_429_without_a_reset_header_waits_a_full_window() -> None:
    item = captured(429, errors(88))
    del item.headers["x-rate-limit-reset"]
    with pytest.raises(RateLimited) as info:
        decode(item, "main", now=NOW)
    assert info.value.reset == NOW + 15 * 60


@pytest.mark.parametrize(
    ("item", "error", "text"),
    [
        (
            captured(429, errors(88), **{"x-rate-limit-remaining": "37"}),
            AccountUnusable,
            "37 requests remain",
        ),
        (captured(403, errors(326)), AccountUnusable, "locked"),
        (captured(403, errors(64)), AccountUnusable, "suspended"),
        (captured(403, errors(37)), AccountUnusable, "suspended"),
        (captured(401, errors(32)), SessionExpired, "expired"),
        (captured(403), AccountUnusable, "bare 403"),
        (captured(400, errors(336)), SchemaChanged, "code 336"),
        (captured(404), SchemaChanged, "stale query id"),
        (captured(503, errors(131)), XUnavailable, "503"),
        (captured(200, None), SchemaChanged, "not a JSON object"),
    ],
)
def test_error_mapping(item: Captured, error: type[Exception], text: str, tmp_path: Path) -> None:
    with pytest.raises(error, match=text):
        decode(item, "main", tmp_path, now=NOW)


def test_cloudflare_html_403_is_retryable_not_a_ban() -> None:
    item = captured(403, None, **{"content-type": "text/html; charset=UTF-8", "cf-ray": "8f-FRA"})
    item = Captured(item.op, 403, item.headers, b"<html>Just a moment...</html>", item.url)
    with pytest.raises(CloudflareBlocked, match="cf-ray 8f-FRA") as info:
        decode(item, "main", now=NOW)
    assert not isinstance(info.value, PermanentError | RetryAfter)


def test_schema_errors_save_the_raw_response(tmp_path: Path) -> None:
    with pytest.raises(SchemaChanged) as info:
        decode(captured(400, errors(336)), "main", tmp_path, now=NOW)
    assert isinstance(info.value, PermanentError)
    assert info.value.dump is not None
    assert '"code": 336' in json.loads(info.value.dump.read_text())["response"]


def test_rate_info_headers() -> None:
    info = RateInfo.from_headers({"x-rate-limit-limit": "50", "x-rate-limit-remaining": "7"})
    assert (info.limit, info.remaining, info.reset) == (50, 7, None)
    assert info.reset_or_window(time.time()) > time.time() + 800
