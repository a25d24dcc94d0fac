"""The steering routes through the real app factory: ``GET /tasks``, ``/tasks/{id}/tweets``,
``cancel``, ``retry``, ``queue/redrive``, ``queue/purge``, ``/workers``; their answers, their
4xx for bad input (nothing changes), and ``queue/stats`` with ``cancelled``."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict
from roost.core import Exposure, TaskContext, TaskType, hookimpl
from roost.core.app import Roost
from roost.core.models import TaskStatus, WorkerInfo, utcnow
from roost.plugins.api.app import make_app
from steerkit import enqueue, save_tweets, tasks_in
from store_urls import store_url

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]
FAILED, DONE, CANCELLED = TaskStatus.FAILED, TaskStatus.DONE, TaskStatus.CANCELLED


@pytest.fixture(params=["sqlite", "wire"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with store_url(request.param, tmp_path, request) as found:
        yield found


@pytest.fixture
async def roost(make_settings: Callable[..., Any], url: str) -> Roost:
    roost = Roost.create(make_settings(store={"url": url}))
    await roost.start()
    return roost


@pytest.fixture
async def api(aiohttp_client: Client, roost: Roost) -> TestClient:
    return await aiohttp_client(make_app(roost))


async def data(resp: Any, status: int = 200) -> Any:
    body = await resp.json()
    assert resp.status == status, body
    assert body["ok"] is True
    return body["data"]


async def refused(resp: Any, status: int, code: str) -> str:
    body = await resp.json()
    assert resp.status == status, body
    assert body["ok"] is False and body["error"]["code"] == code, body
    return str(body["error"]["message"])


async def test_list_tasks_pages_newest_first_each_task_as_get_shows_it(
    api: TestClient, roost: Roost
) -> None:
    failed = tasks_in(roost, 2, FAILED)
    pending = enqueue(roost, 3)
    newest_first = list(reversed(failed + pending))
    seen, cursor = [], None
    while True:
        query = {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = await data(await api.get(f"{P}/tasks", params=query))
        assert set(page) == {"tasks", "nextCursor"}
        seen += page["tasks"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [t["taskId"] for t in seen] == newest_first
    for task in seen[:2]:
        assert task == await data(await api.get(f"{P}/tasks/{task['taskId']}"))
    only = await data(await api.get(f"{P}/tasks", params={"status": "FAILED,CANCELLED"}))
    assert [t["taskId"] for t in only["tasks"]] == list(reversed(failed))
    assert only["nextCursor"] is None
    assert only["tasks"][0]["errors"][0]["error"] == "boom"
    assert only["tasks"][0]["finishedAt"] is not None
    assert only["tasks"][0]["cancelRequested"] is False
    none = await data(await api.get(f"{P}/tasks", params={"type": "ACCOUNT"}))
    assert none == {"tasks": [], "nextCursor": None}


async def test_task_tweets_in_the_order_found(api: TestClient, roost: Roost) -> None:
    (tid,) = enqueue(roost, 1)
    save_tweets(roost, tid, ["5", "3", "9"])
    first = await data(await api.get(f"{P}/tasks/{tid}/tweets", params={"limit": "2"}))
    assert [t["id"] for t in first["tweets"]] == ["5", "3"]
    assert first["tweets"][0]["text"] == "tweet 5" and first["tweets"][0]["taskIds"] == [tid]
    rest = await data(
        await api.get(f"{P}/tasks/{tid}/tweets", params={"cursor": first["nextCursor"]})
    )
    assert [t["id"] for t in rest["tweets"]] == ["9"] and rest["nextCursor"] is None
    await refused(await api.get(f"{P}/tasks/{'c' * 24}/tweets"), 404, "task_not_found")


async def test_cancel_then_retry_over_http(api: TestClient, roost: Roost) -> None:
    (tid,) = enqueue(roost, 1)
    assert await data(await api.post(f"{P}/tasks/{tid}/cancel")) == {
        "taskId": tid,
        "status": "CANCELLED",
    }
    message = await refused(await api.post(f"{P}/tasks/{tid}/cancel"), 409, "not_cancellable")
    assert f"task {tid} is CANCELLED" in message
    assert await data(await api.post(f"{P}/tasks/{tid}/retry")) == {
        "taskId": tid,
        "status": "PENDING",
    }
    message = await refused(await api.post(f"{P}/tasks/{tid}/retry"), 409, "not_retryable")
    assert f"task {tid} is PENDING" in message
    (running,) = tasks_in(roost, 1, TaskStatus.RUNNING)
    assert (await data(await api.post(f"{P}/tasks/{running}/cancel")))["status"] == "RUNNING"
    shown = await data(await api.get(f"{P}/tasks/{running}"))
    assert shown["cancelRequested"] is True
    for action in ("cancel", "retry"):
        await refused(await api.post(f"{P}/tasks/{'d' * 24}/{action}"), 404, "task_not_found")
        await refused(await api.post(f"{P}/tasks/nope/{action}"), 400, "invalid_task_id")


async def test_redrive_and_purge(api: TestClient, roost: Roost) -> None:
    tasks_in(roost, 3, FAILED)
    tasks_in(roost, 1, FAILED, type="ACCOUNT")
    tasks_in(roost, 2, CANCELLED)
    done = tasks_in(roost, 2, DONE)
    save_tweets(roost, done[0], ["1"])
    only_account = {"type": "ACCOUNT"}
    assert await data(await api.post(f"{P}/queue/redrive", json=only_account)) == {"requeued": 1}
    assert await data(await api.post(f"{P}/queue/redrive")) == {"requeued": 3}  # no body: FAILED
    body = {"status": "CANCELLED", "limit": 1}
    assert await data(await api.post(f"{P}/queue/redrive", json=body)) == {"requeued": 1}
    stats = await data(await api.get(f"{P}/queue/stats"))
    assert stats == {
        "pending": 5,
        "running": 0,
        "done": 2,
        "failed": 0,
        "cancelled": 1,
        "total": 8,
    }
    keep = {"status": "DONE", "olderThan": 3600}
    assert await data(await api.post(f"{P}/queue/purge", json=keep)) == {"deleted": 0}
    soon = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    gone = {"status": "DONE", "olderThan": soon}
    assert await data(await api.post(f"{P}/queue/purge", json=gone)) == {"deleted": 2}
    assert (await data(await api.get(f"{P}/queue/stats")))["total"] == 6
    assert len(roost.store.sync.records.find("tweets")) == 1  # the tweets stay


@pytest.mark.parametrize("url", ["sqlite"], indirect=True)
async def test_a_bad_older_than_is_one_problem_naming_both_forms(api: TestClient) -> None:
    body = {"status": "DONE", "olderThan": "7d"}
    message = await refused(await api.post(f"{P}/queue/purge", json=body), 400, "invalid_body")
    assert message == (
        "olderThan: must be seconds from 0 to 31536000000 or an ISO-8601 time with a timezone "
        "(e.g. 2026-01-31T12:00:00Z) (got '7d')"
    )


async def test_workers_lists_every_live_worker(api: TestClient, roost: Roost) -> None:
    now = utcnow()
    info = WorkerInfo(
        "worker-9-1", "box", 9, now, now, now + timedelta(seconds=30), True, 2, 4, ["SEARCH"]
    )
    roost.store.sync.beat_worker(info)
    assert await data(await api.get(f"{P}/workers")) == {"workers": [info.to_json()]}


async def test_stats_count_cancelled_in_the_total(api: TestClient, roost: Roost) -> None:
    tasks_in(roost, 2, CANCELLED)
    enqueue(roost, 1)
    stats = await data(await api.get(f"{P}/queue/stats"))
    assert (stats["cancelled"], stats["pending"], stats["total"]) == (2, 1, 3)
    parts = ("pending", "running", "done", "failed", "cancelled")
    assert sum(stats[k] for k in parts) == stats["total"]


async def test_the_token_guards_the_steering_routes(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    client = await aiohttp_client(make_app(Roost.create(make_settings(api={"token": "t0k3n"}))))
    for method, path in (
        ("GET", "/tasks"),
        ("GET", f"/tasks/{'a' * 24}/tweets"),
        ("POST", f"/tasks/{'a' * 24}/cancel"),
        ("POST", f"/tasks/{'a' * 24}/retry"),
        ("POST", "/queue/redrive"),
        ("POST", "/queue/purge"),
        ("GET", "/workers"),
    ):
        await refused(await client.request(method, P + path), 401, "unauthorized")
    allowed = await client.get(f"{P}/tasks", headers={"Authorization": "Bearer t0k3n"})
    assert (await data(allowed))["tasks"] == []


# -- a task type whose route is called "cancel" does not meet /tasks/{id}/cancel ----------
class Note(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


async def note(ctx: TaskContext, payload: Note) -> None:
    return None


@hookimpl
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(TaskType(name="NOTE", payload=Note, handler=note))


@hookimpl
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    register(Exposure("NOTE", name="cancel", positional="text"))


async def test_a_task_type_routed_as_cancel_enqueues_and_ids_still_cancel(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings(), plugins=[sys.modules[__name__]])
    client = await aiohttp_client(make_app(roost))
    created = await data(await client.post(f"{P}/tasks/cancel", json={"text": "hi"}), 201)
    assert created["type"] == "NOTE"
    tid = created["taskId"]
    assert (await data(await client.post(f"{P}/tasks/{tid}/cancel")))["status"] == "CANCELLED"
    doc = await (await client.get("/api/v4/openapi.json")).json()
    assert {f"{P}/tasks/cancel", P + "/tasks/{taskId}/cancel"} <= set(doc["paths"])


# -- bad input: a clear 4xx, and nothing changes -------------------------------------------
ID = "e" * 24
BAD_INPUT_STEER = [
    ("unknown status", "GET", "/tasks?status=DONEE", None, 400, "invalid_query", "status"),
    ("lower-case status", "GET", "/tasks?status=failed", None, 400, "invalid_query", "status"),
    ("empty status", "GET", "/tasks?status=", None, 400, "invalid_query", "status"),
    (
        "status twice",
        "GET",
        "/tasks?status=DONE&status=FAILED",
        None,
        400,
        "invalid_query",
        "status",
    ),
    ("unknown parameter", "GET", "/tasks?statuss=DONE", None, 400, "invalid_query", "statuss"),
    ("bad type", "GET", "/tasks?type=a%20b", None, 400, "invalid_query", "type"),
    ("limit 0", "GET", "/tasks?limit=0", None, 400, "invalid_query", "limit"),
    ("limit 501", "GET", "/tasks?limit=501", None, 400, "invalid_query", "limit"),
    ("limit text", "GET", "/tasks?limit=ten", None, 400, "invalid_query", "limit"),
    ("limit huge", "GET", "/tasks?limit=" + "9" * 50, None, 400, "invalid_query", "limit"),
    ("cursor not ours", "GET", "/tasks?cursor=abc", None, 400, "invalid_query", "cursor"),
    ("cursor not base64", "GET", "/tasks?cursor=%2F%2F", None, 400, "invalid_query", "cursor"),
    (
        "tweets limit 1001",
        "GET",
        f"/tasks/{ID}/tweets?limit=1001",
        None,
        400,
        "invalid_query",
        "limit",
    ),
    ("tweets unknown task", "GET", f"/tasks/{ID}/tweets", None, 404, "task_not_found", ID),
    ("tweets bad id", "GET", "/tasks/xyz/tweets", None, 400, "invalid_task_id", "24"),
    ("cancel unknown id", "POST", f"/tasks/{ID}/cancel", None, 404, "task_not_found", ID),
    ("retry unknown id", "POST", f"/tasks/{ID}/retry", None, 404, "task_not_found", ID),
    ("cancel bad id", "POST", "/tasks/12345/cancel", None, 400, "invalid_task_id", "24"),
    (
        "redrive DONE",
        "POST",
        "/queue/redrive",
        b'{"status": "DONE"}',
        400,
        "invalid_body",
        "status",
    ),
    (
        "redrive unknown key",
        "POST",
        "/queue/redrive",
        b'{"stat": "FAILED"}',
        400,
        "invalid_body",
        "stat",
    ),
    (
        "redrive limit text",
        "POST",
        "/queue/redrive",
        b'{"limit": "5"}',
        400,
        "invalid_body",
        "limit",
    ),
    ("redrive limit 0", "POST", "/queue/redrive", b'{"limit": 0}', 400, "invalid_body", "limit"),
    ("redrive not object", "POST", "/queue/redrive", b"[1]", 400, "invalid_body", "object"),
    ("redrive bad JSON", "POST", "/queue/redrive", b"{", 400, "invalid_json", "JSON"),
    (
        "purge PENDING",
        "POST",
        "/queue/purge",
        b'{"status": "PENDING", "olderThan": 0}',
        400,
        "invalid_body",
        "status",
    ),
    (
        "purge RUNNING",
        "POST",
        "/queue/purge",
        b'{"status": "RUNNING", "olderThan": 0}',
        400,
        "invalid_body",
        "status",
    ),
    (
        "purge no olderThan",
        "POST",
        "/queue/purge",
        b'{"status": "DONE"}',
        400,
        "invalid_body",
        "olderThan",
    ),
    ("purge no status", "POST", "/queue/purge", b'{"olderThan": 0}', 400, "invalid_body", "status"),
    (
        "purge negative",
        "POST",
        "/queue/purge",
        b'{"status": "DONE", "olderThan": -1}',
        400,
        "invalid_body",
        "olderThan",
    ),
    (
        "purge duration text",
        "POST",
        "/queue/purge",
        b'{"status": "DONE", "olderThan": "7d"}',
        400,
        "invalid_body",
        "olderThan",
    ),
    (
        "purge naive time",
        "POST",
        "/queue/purge",
        b'{"status": "DONE", "olderThan": "2026-01-01T00:00:00"}',
        400,
        "invalid_body",
        "olderThan",
    ),
    (
        "purge bool",
        "POST",
        "/queue/purge",
        b'{"status": "DONE", "olderThan": true}',
        400,
        "invalid_body",
        "olderThan",
    ),
    (
        "purge extra key",
        "POST",
        "/queue/purge",
        b'{"status": "DONE", "olderThan": 0, "all": true}',
        400,
        "invalid_body",
        "all",
    ),
    ("purge empty body", "POST", "/queue/purge", b"", 400, "invalid_json", "empty"),
]


@pytest.mark.parametrize("url", ["sqlite"], indirect=True)  # what is refused: no engine's business
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "status", "code", "named"),
    BAD_INPUT_STEER,
    ids=[c[0] for c in BAD_INPUT_STEER],
)
async def test_bad_steering_input_gets_a_clear_4xx_and_changes_nothing(
    api: TestClient,
    roost: Roost,
    case: str,
    method: str,
    path: str,
    body: bytes | None,
    status: int,
    code: str,
    named: str,
) -> None:
    tasks_in(roost, 1, FAILED)
    tasks_in(roost, 1, DONE)
    before = await data(await api.get(f"{P}/tasks"))
    headers = {"Content-Type": "application/json"} if body is not None else {}
    message = await refused(
        await api.request(method, P + path, data=body, headers=headers), status, code
    )
    assert named in message and len(message) > 15
    assert await data(await api.get(f"{P}/tasks")) == before
