"""One captured GraphQL response -> its JSON, or the typed error it means. Pure.

The mapping follows what X is known to send (docs/x-graphql.md, "Limits and errors").
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import (
    AccountUnusable,
    CloudflareBlocked,
    RateLimited,
    SchemaChanged,
    SessionExpired,
    XUnavailable,
)
from .parser import save_raw

#: ``/graphql/<query id>/<Operation>`` on any host (x.com/i/api/..., api.x.com/...).
GRAPHQL_PATH = re.compile(r"/graphql/[^/]+/([A-Za-z]+)$")
DEFAULT_WINDOW = 15 * 60
SUSPENDED = {37, 64}


def graphql_op(url: str) -> str | None:
    """The operation name of a GraphQL URL, whatever its host and query id."""
    match = GRAPHQL_PATH.search(urlsplit(url).path)
    return match.group(1) if match else None


@dataclass(frozen=True)
class Captured:
    """A response as the page received it (headers lower-cased, as Playwright gives them)."""

    op: str
    status: int
    headers: dict[str, str]
    body: bytes
    url: str = ""


@dataclass(frozen=True)
class RateInfo:
    limit: int | None
    remaining: int | None
    reset: float | None

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> RateInfo:
        def num(name: str) -> int | None:
            value = headers.get(name, "").strip()
            return int(value) if value.isdigit() else None

        reset = num("x-rate-limit-reset")
        return cls(num("x-rate-limit-limit"), num("x-rate-limit-remaining"), reset)

    def reset_or_window(self, now: float) -> float:
        """The reset time, or a full window from now when X did not say."""
        return float(self.reset) if self.reset and self.reset > now else now + DEFAULT_WINDOW


def error_codes(payload: Any) -> set[int]:
    errors = payload.get("errors") if isinstance(payload, dict) else None
    codes = set()
    for err in errors if isinstance(errors, list) else []:
        code = err.get("code") if isinstance(err, dict) else None
        if isinstance(code, int):
            codes.add(code)
    return codes


def decode(
    item: Captured, slot: str, dump_dir: Path | None = None, now: float | None = None
) -> Any:
    """The JSON body of ``item``, or raise the error its status, headers and codes mean."""
    now = time.time() if now is None else now
    rate = RateInfo.from_headers(item.headers)
    ctype = item.headers.get("content-type", "")
    if item.status == 403 and "text/html" in ctype and "cf-ray" in item.headers:
        raise CloudflareBlocked(
            f"Cloudflare blocked {item.op} (403 HTML, cf-ray {item.headers['cf-ray']}); "
            "retrying later, from another IP if it persists"
        )
    try:
        payload = json.loads(item.body) if item.body.strip() else None
    except (ValueError, UnicodeDecodeError):
        payload = None
    codes = error_codes(payload)
    if 88 in codes and rate.remaining:
        raise AccountUnusable(slot, f"code 88 while {rate.remaining} requests remain")
    if item.status == 429 or 88 in codes:
        raise RateLimited(slot, rate.reset_or_window(now), item.op)
    if 326 in codes:
        raise AccountUnusable(slot, "account locked (code 326); unlock it on x.com")
    if codes & SUSPENDED:
        raise AccountUnusable(slot, f"account suspended (code {min(codes & SUSPENDED)})")
    if 32 in codes or item.status == 401:
        raise SessionExpired(slot, f"X could not authenticate it (HTTP {item.status})")
    if item.status == 400 and 336 in codes:
        dump = save_raw(dump_dir, item.op, item.body, "code 336")
        raise SchemaChanged(item.op, "X rejected the request's features (code 336)", dump)
    if item.status == 404 and not item.body.strip():
        dump = save_raw(dump_dir, item.op, item.body, "404 empty")
        raise SchemaChanged(item.op, f"stale query id: empty 404 for {item.url}", dump)
    if item.status == 403:
        raise AccountUnusable(slot, f"X refused {item.op} with a bare 403")
    if item.status >= 500 or item.status in (0, 408):
        raise XUnavailable(f"X answered {item.status} to {item.op}")
    if item.status != 200:
        dump = save_raw(dump_dir, item.op, item.body, f"HTTP {item.status}")
        raise SchemaChanged(item.op, f"unexpected HTTP {item.status}", dump)
    if not isinstance(payload, dict):
        dump = save_raw(dump_dir, item.op, item.body, "not JSON")
        raise SchemaChanged(item.op, "the response is not a JSON object", dump)
    return payload
