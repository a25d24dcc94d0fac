"""The HTTP edge against hostile clients: bodies that do not decode, numbers JSON cannot hold,
odd token headers, the OpenAPI document behind the token, and error responses kept small."""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict
from roost.core import Exposure, TaskContext, TaskType, hookimpl
from roost.core.app import Roost
from roost.plugins.api.app import make_app
from roost.plugins.api.keys import ROOST

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]
TOKEN = "s3cret-token-value"


class Reading(BaseModel):
    """A payload with a float: what NaN and 1e999 would reach without the body check."""

    model_config = ConfigDict(extra="forbid")
    threshold: float


async def _noop(ctx: TaskContext, job: Reading) -> None:
    return None


async def bulk_with_bad_payloads(request: web.Request) -> web.Response:
    """A plugin route whose 500 payloads all fail: ValidationFailed with 500 problems."""
    request.app[ROOST].new_tasks("SEARCH", [{"query": ""} for _ in range(500)])
    return web.json_response({})


class TestPlugin:
    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        register(TaskType(name="READING", payload=Reading, handler=_noop))

    @hookimpl
    def register_task_exposures(self, register: Callable[[Exposure], None]) -> None:
        register(Exposure("READING"))

    @hookimpl
    def register_web_routes(self, register: Callable[[Any], None], roost: Roost) -> None:
        register([web.post("/api/v4/test/bulk", bulk_with_bad_payloads)])


@pytest.fixture
async def api(aiohttp_client: Client, make_settings: Callable[..., Any]) -> TestClient:
    roost = Roost.create(make_settings(), plugins=[TestPlugin()])
    return await aiohttp_client(make_app(roost))


async def total(client: TestClient) -> int:
    return (await client.app[ROOST].store.stats()).total


async def post(client: TestClient, path: str, body: bytes, **headers: str) -> Any:
    resp = await client.post(
        path, data=body, headers={"Content-Type": "application/json", **headers}
    )
    return resp.status, await resp.json()


# -- bodies the server cannot read (item 4) ----------------------------------------------------

ENCODED = [
    ("corrupt deflate", b"this is not deflate data", "deflate", 400, "invalid_body"),
    ("corrupt gzip", b"\x1f\x8b\x08\x00 this is not gzip", "gzip", 400, "invalid_body"),
    ("unknown encoding", b'{"query": "x"}', "compress", 415, "unsupported_media_type"),
    ("two encodings", gzip.compress(b'{"query": "x"}'), "gzip, br", 415, "unsupported_media_type"),
    (
        "gzip bomb",
        gzip.compress(b'{"query": "' + b"a" * 5_000_000 + b'"}'),
        "gzip",
        413,
        "body_too_large",
    ),
]


@pytest.mark.parametrize(
    ("case", "body", "encoding", "status", "code"), ENCODED, ids=[c[0] for c in ENCODED]
)
async def test_a_body_that_does_not_decode_is_a_4xx_and_stores_nothing(
    api: TestClient, case: str, body: bytes, encoding: str, status: int, code: str
) -> None:
    got, err = await post(api, f"{P}/tasks/search", body, **{"Content-Encoding": encoding})
    assert (got, err["error"]["code"]) == (status, code), err
    assert len(err["error"]["message"]) > 10
    assert await total(api) == 0
    assert (await api.get("/health")).status == 200


async def test_a_gzip_body_still_works(api: TestClient) -> None:
    body = gzip.compress(b'{"query": "bitcoin"}')
    status, created = await post(api, f"{P}/tasks/search", body, **{"Content-Encoding": "gzip"})
    assert status == 201 and created["data"]["type"] == "SEARCH"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
async def test_numbers_json_cannot_hold_never_reach_a_float_field(
    api: TestClient, literal: str
) -> None:
    body = b'{"threshold": ' + literal.encode() + b"}"
    status, err = await post(api, f"{P}/tasks/reading", body)
    assert (status, err["error"]["code"]) == (400, "invalid_json"), err
    assert literal.lstrip("-") in err["error"]["message"]
    assert await total(api) == 0


async def test_a_float_field_still_takes_numbers(api: TestClient) -> None:
    status, _ = await post(api, f"{P}/tasks/reading", b'{"threshold": 1.5e300}')
    assert status == 201


# -- the token (item 3) ------------------------------------------------------------------------


@pytest.fixture
async def guarded(aiohttp_client: Client, make_settings: Callable[..., Any]) -> TestClient:
    roost = Roost.create(make_settings(api={"token": TOKEN}))
    return await aiohttp_client(make_app(roost))


async def raw_request(client: TestClient, head: bytes) -> bytes:
    """Send bytes no HTTP client library would (a header that is not UTF-8)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


async def test_a_token_header_that_is_not_utf8_is_a_401(guarded: TestClient) -> None:
    for value in (b"Bearer \xff\xfe", b"Bearer " + TOKEN.encode() + b"\xe9", b"bearer"):
        answer = await raw_request(
            guarded,
            b"GET " + P.encode() + b"/queue/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"Authorization: " + value + b"\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
        assert b'"unauthorized"' in answer


# -- the OpenAPI document (item 10) ------------------------------------------------------------


async def test_with_a_token_the_openapi_document_needs_it_too(guarded: TestClient) -> None:
    assert (await guarded.get("/api/v4/openapi.json")).status == 401
    resp = await guarded.get("/api/v4/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 200
    doc = await resp.json()
    assert doc["security"] == [{"bearer": []}]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "this document included" in doc["info"]["description"]


async def test_without_a_token_the_openapi_document_is_open(api: TestClient) -> None:
    resp = await api.get("/api/v4/openapi.json")
    assert resp.status == 200 and "security" not in await resp.json()


# -- error responses stay small (item 11) ------------------------------------------------------


async def test_thousands_of_unknown_keys_get_a_short_answer(api: TestClient) -> None:
    keys = ",".join(f'"k{i}":1' for i in range(6000))
    body = ('{"query": "x", ' + keys + "}").encode()
    assert len(body) < api.app[ROOST].settings.api.max_body_bytes
    resp = await api.post(
        f"{P}/tasks/search", data=body, headers={"Content-Type": "application/json"}
    )
    raw = await resp.read()
    assert resp.status == 400 and len(raw) < 8_000, len(raw)
    err = json.loads(raw)["error"]
    assert err["code"] == "invalid_payload"
    assert err["message"].endswith("; and 5980 more problems")
    assert "k0: unknown field; accepted: query, filters, limit, priority, runAt" in err["message"]
    assert [d["loc"] for d in err["details"][:2]] == [["k0"], ["k1"]]
    assert len(err["details"]) == 21
    assert err["details"][-1] == {
        "type": "more_problems",
        "loc": [],
        "msg": "5980 more problems not shown",
    }
    assert await total(api) == 0


async def test_every_problem_list_is_capped_in_one_place(api: TestClient) -> None:
    """A plugin route that lets ValidationFailed escape gets the same cap."""
    resp = await api.post("/api/v4/test/bulk")
    raw = await resp.read()
    err = json.loads(raw)["error"]
    assert resp.status == 400 and err["code"] == "invalid_payload"
    assert len(err["details"]) == 21 and err["details"][-1]["type"] == "more_problems"
    assert err["message"].endswith("; and 480 more problems")
    assert len(raw) < 8_000


async def test_an_http_client_is_told_the_payload_fields(api: TestClient) -> None:
    body = b'{"query": "x", "owner": "me", "filters": {"langg": "en"}}'
    status, err = await post(api, f"{P}/tasks/search", body)
    assert status == 400
    message = err["error"]["message"]
    assert "owner: unknown field; accepted: query, filters, limit, priority, runAt" in message
    assert "filters.langg: unknown field; accepted: from, to, lang, since, until" in message
    assert "roost config" not in message


def test_the_log_filter_leaves_the_servers_own_errors_alone(
    make_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    make_app(Roost.create(make_settings()))  # installs the filter on aiohttp's logger
    server_log = logging.getLogger("aiohttp.server")
    try:
        raise RuntimeError("a bug in the server")
    except RuntimeError:
        server_log.exception("Error handling request from %s", "127.0.0.1")
    record = caplog.records[-1]
    assert (record.name, record.levelname, record.exc_info is not None) == (
        "aiohttp.server",
        "ERROR",
        True,
    )
