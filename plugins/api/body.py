"""Reading a JSON request body: every body the server cannot read is a 4xx, never a 500."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aiohttp import web
from roost.core.problems import shorten

from .envelope import ApiError

MAX_JSON_DEPTH = 32
MAX_INT_DIGITS = 4300  # Python's own limit for int(str): beyond it, json.loads raises ValueError
#: Content-Encodings aiohttp decodes before the handler sees the body (br/zstd need extras).
DECODED_ENCODINGS = frozenset({"gzip", "deflate", "br", "zstd"})
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
SURROGATE = re.compile(r"[\ud800-\udfff]")


class _BadNumber(ValueError):
    """A number literal the parser must not turn into a value."""


async def read_json(request: web.Request) -> tuple[Any, str]:
    """The body parsed, and as text; or a 4xx naming what is wrong with it.

    Any body this cannot read is the client's mistake, so every way of failing (an encoding
    that does not decode, bytes that are not UTF-8, text that is not JSON, a number no
    JSON value can hold) is a 4xx here, never a 500 further on.
    """
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send JSON with 'Content-Type: application/json' (got {request.content_type!r})",
        )
    encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in DECODED_ENCODINGS | {"identity", ""}:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Encoding {shorten(encoding, 40)!r} is not supported; "
            "send the body as is, or gzip or deflate it",
        )
    try:
        raw = await request.read()  # over api.max_body_bytes (decompressed): aiohttp raises 413
    except web.RequestPayloadError:  # a corrupt gzip/deflate stream
        what = f"is not valid {encoding} data" if encoding in DECODED_ENCODINGS else "is broken"
        raise ApiError(400, "invalid_body", f"the body {what}; send it again") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(
            400, "invalid_json", f"the body is not valid UTF-8 (byte {exc.start})"
        ) from None
    if not text.strip():
        raise ApiError(400, "invalid_json", "the body is empty; send a JSON object")
    if _depth(text) > MAX_JSON_DEPTH:
        raise ApiError(400, "invalid_json", f"the JSON nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        body = _loads(text)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "invalid_json",
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
        ) from None
    except ValueError as exc:  # _BadNumber, or any other literal the parser refuses
        raise ApiError(400, "invalid_json", f"the JSON cannot be read: {exc}") from None
    if SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(body):
        raise ApiError(
            400,
            "invalid_json",
            "the JSON has a lone UTF-16 surrogate escape (e.g. \\ud800 without its pair), "
            "which is not text; send valid Unicode",
        )
    return body, text


def _loads(text: str) -> Any:
    """``json.loads`` held to RFC 8259: no NaN/Infinity, no float that overflows to inf,
    no integer longer than Python converts."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_float, parse_int=_int)


def _no_constant(name: str) -> Any:
    raise _BadNumber(f"{name} is not a JSON number; send a finite number or null")


def _float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _BadNumber(f"the number {shorten(literal, 40)} is out of range")
    return value


def _int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _BadNumber(f"an integer has {digits} digits; at most {MAX_INT_DIGITS} are read")
    return int(literal)


def _has_lone_surrogate(value: Any) -> bool:
    """True if a string (or key) holds a surrogate: json.loads joins valid pairs, so any
    left is alone, and no store or encoder can write it."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _depth(text: str) -> int:
    """Nesting depth of brackets outside strings, counted without parsing (no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest
