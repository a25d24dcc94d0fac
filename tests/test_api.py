"""The REST API through the real app factory: the documented contract and bad input."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from roost.core.app import Roost
from roost.core.worker import Worker
from roost.plugins.api.app import make_app

P = "/api/v4/twitter"
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
Client = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def api(aiohttp_client: Client, make_settings: Callable[..., Any]) -> TestClient:
    roost = Roost.create(make_settings())
    return await aiohttp_client(make_app(roost))


def roost_of(client: TestClient) -> Roost:
    from roost.plugins.api.keys import ROOST

    return client.app[ROOST]


async def total(client: TestClient) -> int:
    return (await roost_of(client).store.stats()).total


async def test_enqueue_search_matches_the_contract(api: TestClient) -> None:
    resp = await api.post(f"{P}/tasks/search", json={"query": "bitcoin", "filters": {}})
    assert resp.status == 201
    body = await resp.json()
    assert body["ok"] is True and set(body["data"]) == {"taskId", "type", "status", "createdAt"}
    data = body["data"]
    assert re.fullmatch(r"[0-9a-f]{24}", data["taskId"])
    assert (data["type"], data["status"]) == ("SEARCH", "PENDING")
    assert ISO_MS.match(data["createdAt"])
    task = await roost_of(api).store.get(data["taskId"])
    assert task is not None and task.payload["query"] == "bitcoin"


async def test_enqueue_account_matches_the_contract(api: TestClient) -> None:
    resp = await api.post(f"{P}/tasks/account", json={"username": "elonmusk", "limit": 20})
    data = (await resp.json())["data"]
    assert resp.status == 201 and (data["type"], data["status"]) == ("ACCOUNT", "PENDING")
    task = await roost_of(api).store.get(data["taskId"])
    assert task is not None and task.payload == {"username": "elonmusk", "limit": 20}


async def test_priority_and_run_at_are_honoured(api: TestClient) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    resp = await api.post(f"{P}/tasks/search", json={"query": "eth", "priority": 7, "runAt": later})
    task = await roost_of(api).store.get((await resp.json())["data"]["taskId"])
    assert task is not None and task.priority == 7
    assert task.next_run_at > datetime.now(UTC) + timedelta(minutes=59)
    assert "priority" not in task.payload and "runAt" not in task.payload
    assert roost_of(api).store.sync.claim("w", None, 5, 60) == []


async def test_stats_status_recover_and_task_lookup(api: TestClient) -> None:
    created = await (await api.post(f"{P}/tasks/search", json={"query": "x"})).json()
    stats = await (await api.get(f"{P}/queue/stats")).json()
    assert stats == {
        "ok": True,
        "data": {"pending": 1, "running": 0, "done": 0, "failed": 0, "cancelled": 0, "total": 1},
    }
    status = (await (await api.get(f"{P}/worker/status")).json())["data"]
    assert set(status) == {"workerId", "running", "inflight", "maxConcurrent"}
    assert status["running"] is False and status["maxConcurrent"] == 3
    recovered = await (await api.post(f"{P}/queue/recover")).json()
    assert recovered == {"ok": True, "data": {"recovered": 0}}
    task = (await (await api.get(f"{P}/tasks/{created['data']['taskId']}")).json())["data"]
    assert task["taskId"] == created["data"]["taskId"] and task["status"] == "PENDING"
    assert task["result"] is None and task["lastError"] is None
    health = await api.get("/health")
    assert health.status == 200 and (await health.json())["data"] == {"status": "ok"}


async def test_serve_with_worker_runs_tasks_to_done(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings(worker={"poll_interval": 0.01}))
    worker = Worker(roost)
    client = await aiohttp_client(make_app(roost, worker))
    ids = []
    for i in range(10):
        resp = await client.post(f"{P}/tasks/search", json={"query": f"q{i}", "limit": 5})
        ids.append((await resp.json())["data"]["taskId"])
    status = (await (await client.get(f"{P}/worker/status")).json())["data"]
    assert status["running"] is True and status["workerId"].startswith("worker-")
    for _ in range(300):
        stats = (await (await client.get(f"{P}/queue/stats")).json())["data"]
        if stats["done"] == 10:
            break
        await __import__("asyncio").sleep(0.01)
    assert stats["done"] == 10
    task = (await (await client.get(f"{P}/tasks/{ids[0]}")).json())["data"]
    assert task["result"]["count"] == 5
    tweets = roost.store.sync.records.find("tweets", task_id=ids[0])
    assert len(tweets) == 5 and all(ids[0] in t["taskIds"] for t in tweets)


BAD_INPUT = [
    ("malformed JSON", "search", b'{"query": "bitcoin"', "application/json", 400, "invalid_json"),
    (
        "wrong content type",
        "search",
        b'{"query": "bitcoin"}',
        "text/plain",
        415,
        "unsupported_media_type",
    ),
    ("empty body", "search", b"", "application/json", 400, "invalid_json"),
    ("not an object", "search", b'["bitcoin"]', "application/json", 400, "invalid_body"),
    ("missing field", "search", b'{"filters": {}}', "application/json", 400, "invalid_payload"),
    (
        "extra field",
        "search",
        b'{"query": "x", "owner": "me"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "wrong type",
        "account",
        b'{"username": "a", "limit": "many"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    ("empty query", "search", b'{"query": "   "}', "application/json", 400, "invalid_payload"),
    (
        "limit too large",
        "account",
        b'{"username": "a", "limit": 100000}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "limit zero",
        "account",
        b'{"username": "a", "limit": 0}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "not a handle",
        "account",
        b'{"username": "no spaces allowed!"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "operator object",
        "search",
        b'{"query": {"$ne": null}}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "operator in filters",
        "search",
        b'{"query": "x", "filters": {"$where": "1"}}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "dotted key",
        "search",
        b'{"query": "x", "filters": {"from.x": "a"}}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "NUL byte",
        "search",
        b'{"query": "bit\\u0000coin"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    ("bad UTF-8", "search", b'{"query": "\xff\xfe"}', "application/json", 400, "invalid_json"),
    (
        "10k query",
        "search",
        b'{"query": "' + b"a" * 10_000 + b'"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "deep nesting",
        "search",
        b'{"query": "x", "filters": ' + b'{"a": ' * 5000 + b"1" + b"}" * 5001,
        "application/json",
        400,
        "invalid_json",
    ),
    (
        "bad runAt",
        "search",
        b'{"query": "x", "runAt": "tomorrow"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "naive runAt",
        "search",
        b'{"query": "x", "runAt": "2030-01-01T00:00:00"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "priority not int",
        "search",
        b'{"query": "x", "priority": "high"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "bad filter value",
        "search",
        b'{"query": "x", "filters": {"lang": "english"}}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "runAt before year 1 in UTC",
        "search",
        b'{"query": "x", "runAt": "0001-01-01T00:00:00+14:00"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "runAt after year 9999 in UTC",
        "search",
        b'{"query": "x", "runAt": "9999-12-31T23:59:59-14:00"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "runAt before 1970",
        "account",
        b'{"username": "a", "runAt": "1969-07-20T20:17:40Z"}',
        "application/json",
        400,
        "invalid_payload",
    ),
    (
        "priority of 20 digits",
        "search",
        b'{"query": "x", "priority": 99999999999999999999}',
        "application/json",
        400,
        "invalid_payload",
    ),
    # Bodies the parser cannot turn into values: each a 400 naming why, never a 500.
    (
        "5000-digit integer",
        "account",
        b'{"username": "a", "limit": ' + b"1" * 5000 + b"}",
        "application/json",
        400,
        "invalid_json",
    ),
    (
        "4301-digit integer in filters",
        "search",
        b'{"query": "x", "filters": {"min_faves": ' + b"9" * 4301 + b"}}",
        "application/json",
        400,
        "invalid_json",
    ),
    ("NaN", "account", b'{"username": "a", "limit": NaN}', "application/json", 400, "invalid_json"),
    (
        "-Infinity",
        "account",
        b'{"username": "a", "limit": -Infinity}',
        "application/json",
        400,
        "invalid_json",
    ),
    (
        "float overflow",
        "account",
        b'{"username": "a", "limit": 1e999}',
        "application/json",
        400,
        "invalid_json",
    ),
    (
        "lone surrogate",
        "search",
        b'{"query": "bit\\ud800coin"}',
        "application/json",
        400,
        "invalid_json",
    ),
    (
        "lone surrogate key",
        "search",
        b'{"query": "x", "filters": {"\\udfff": 1}}',
        "application/json",
        400,
        "invalid_json",
    ),
]


@pytest.mark.parametrize(
    ("case", "route", "body", "ctype", "status", "code"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT]
)
async def test_bad_input_gets_a_clear_4xx_and_stores_nothing(
    api: TestClient, case: str, route: str, body: bytes, ctype: str, status: int, code: str
) -> None:
    resp = await api.post(f"{P}/tasks/{route}", data=body, headers={"Content-Type": ctype})
    assert resp.status == status, await resp.text()
    err = await resp.json()
    assert err["ok"] is False and err["error"]["code"] == code
    assert len(err["error"]["message"]) > 10
    assert await total(api) == 0
    assert (await api.get("/health")).status == 200


async def test_error_messages_name_the_field(api: TestClient) -> None:
    resp = await api.post(f"{P}/tasks/account", json={"username": "a", "limit": 5000})
    message = (await resp.json())["error"]["message"]
    assert "limit" in message and "1000" in message


async def test_oversized_body_is_413(api: TestClient) -> None:
    big = b'{"query": "' + b"a" * 200_000 + b'"}'
    resp = await api.post(
        f"{P}/tasks/search", data=big, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "body_too_large"
    assert await total(api) == 0


async def test_unknown_routes_methods_and_ids(api: TestClient) -> None:
    resp = await api.get("/api/v4/nothing-here")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await api.delete(f"{P}/queue/stats")
    assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"
    resp = await api.get(f"{P}/tasks/not-an-id")
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_task_id"
    resp = await api.get(f"{P}/tasks/{'a' * 24}")
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "task_not_found"


async def test_token_guards_every_api_route(
    aiohttp_client: Client, make_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-token-value"
    client = await aiohttp_client(make_app(Roost.create(make_settings(api={"token": secret}))))
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": secret}):
        resp = await client.post(f"{P}/tasks/search", json={"query": "x"}, headers=headers)
        assert resp.status == 401
        body = await resp.text()
        assert '"unauthorized"' in body and secret not in body
        assert (await client.get(f"{P}/queue/stats", headers=headers)).status == 401
    ok = await client.post(
        f"{P}/tasks/search", json={"query": "x"}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert ok.status == 201
    assert (await client.get("/health")).status == 200  # probes need no token
    assert secret not in caplog.text


async def test_openapi_document_lists_every_route(api: TestClient) -> None:
    doc = await (await api.get("/api/v4/openapi.json")).json()
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {
        f"{P}/tasks/search",
        f"{P}/tasks/account",
        P + "/tasks/{taskId}",
        f"{P}/queue/stats",
        f"{P}/worker/status",
        f"{P}/queue/recover",
        f"{P}/tasks",
        P + "/tasks/{taskId}/tweets",
        P + "/tasks/{taskId}/cancel",
        P + "/tasks/{taskId}/retry",
        f"{P}/queue/redrive",
        f"{P}/queue/purge",
        f"{P}/workers",
        f"{P}/queue/types",
        f"{P}/queue/series",
        f"{P}/runtime/slots",
    }
    search = doc["components"]["schemas"]["SearchRequest"]
    assert {"query", "filters", "limit", "priority", "runAt"} <= set(search["properties"])
    assert search["additionalProperties"] is False


async def test_binding_beyond_loopback_without_a_token_warns(
    make_settings: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    from roost.core.runner import Runner, StopRequest
    from roost.plugins.api.app import ApiServer

    stop = StopRequest()
    stop.stop.set()  # the runner binds, starts, and returns at once
    open_api = make_settings(api={"host": "0.0.0.0", "port": 0})
    await Runner(open_api, worker=False, servers=[ApiServer]).run(stop)
    assert "api.token is not set" in caplog.text
    caplog.clear()
    guarded = make_settings(api={"host": "0.0.0.0", "port": 0, "token": "t"})
    await Runner(guarded, worker=False, servers=[ApiServer]).run(stop)
    assert "api.token is not set" not in caplog.text
