"""``GET /queue/types``, ``GET /queue/series`` and ``GET /runtime/slots`` through the real
app factory.

The series is read from the store (the store's calls are tested on every engine in
``test_store_series.py``); here: the route's shape, that two API processes on one database
answer the same, the token rule, and the slots of a runtime with session slots (the
Playwright runtime's own :class:`SlotPool`, without a browser: ``slotted_runtime.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import slotted_runtime
from aiohttp.test_utils import TestClient
from roost.core.app import Roost
from roost.core.models import NewTask, utcnow
from roost.core.series import MINUTES
from roost.core.store import Done
from roost.core.worker import Worker
from roost.plugins.api.app import make_app

P = "/api/v4/twitter"
Client = Callable[..., Any]


async def test_queue_types_counts_every_type_and_status(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    settings = make_settings()
    client = await aiohttp_client(make_app(Roost.create(settings)))
    store = Roost.create(settings).store.sync
    due = utcnow() - timedelta(minutes=5)
    store.enqueue_many(
        [
            NewTask("SEARCH", {"query": "a"}, run_at=due),
            NewTask("SEARCH", {"query": "b"}),
            NewTask("GONE", {}),  # a type no plugin registers any more
        ]
    )
    (claimed,) = store.claim("w", ["SEARCH"], 1, 60)
    assert store.apply([Done(claimed.id, claimed.lease_id or "", {})]) == [True]
    store.close()
    resp = await client.get(f"{P}/queue/types")
    assert resp.status == 200
    rows = {t["type"]: t for t in (await resp.json())["data"]["types"]}
    zero = {"pending": 0, "running": 0, "done": 0, "failed": 0, "cancelled": 0, "total": 0}
    assert rows["ACCOUNT"] == {"type": "ACCOUNT", **zero, "oldestDueAt": None}
    search = rows["SEARCH"]
    assert (search["pending"], search["done"], search["total"]) == (1, 1, 2)
    assert rows["GONE"]["pending"] == 1 and rows["GONE"]["oldestDueAt"] is not None
    assert list(rows) == sorted(rows)


async def test_two_api_processes_on_one_store_draw_the_same_series(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    settings = make_settings()
    one = await aiohttp_client(make_app(Roost.create(settings)))
    other = await aiohttp_client(make_app(Roost.create(settings)))
    for _ in range(3):
        assert (await one.post(f"{P}/tasks/search", json={"query": "x"})).status == 201
    store = Roost.create(settings).store.sync
    for task in store.claim("w", None, 2, 60):
        assert store.apply([Done(task.id, task.lease_id or "", {})]) == [True]
    store.add_queue_sample("w", utcnow(), 0)  # one left PENDING
    store.close()
    answers = []
    for client in (one, other):
        resp = await client.get(f"{P}/queue/series")
        assert resp.status == 200
        answers.append((await resp.json())["data"])
    first, second = answers
    assert [m for m in first["minutes"] if m["done"]] == [m for m in second["minutes"] if m["done"]]
    assert len(first["minutes"]) == MINUTES
    assert sum(m["done"] for m in first["minutes"]) == 2
    assert first["minutes"][-1]["pending"] == 1


async def test_the_series_needs_the_token_when_one_is_set(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    client: TestClient = await aiohttp_client(
        make_app(Roost.create(make_settings(api={"token": "s3cret"})))
    )
    assert (await client.get(f"{P}/queue/series")).status == 401
    assert (await client.get(f"{P}/queue/types")).status == 401
    assert (await client.get(f"{P}/runtime/slots")).status == 401
    good = {"Authorization": "Bearer s3cret"}
    assert (await client.get(f"{P}/queue/series", headers=good)).status == 200


async def test_the_slots_of_the_runtime_in_this_process(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings(runtime={"name": "slotted"}), plugins=[slotted_runtime])
    worker = Worker(roost)
    client = await aiohttp_client(make_app(roost, worker))
    await worker.roost.runtime()  # started by the worker's start-up or its first task
    data = (await (await client.get(f"{P}/runtime/slots")).json())["data"]
    assert data["started"] is True
    slots = {s["name"]: s for s in data["slots"]}
    assert slots["main"]["state"] == "free" and slots["main"]["coolUntil"] is None
    assert slots["spare"]["state"] == "cooling" and slots["spare"]["reason"] == "rate limited"
    assert slots["spare"]["coolUntil"] > utcnow().isoformat()[:19]  # ISO, in ten minutes
    assert slots["old"] == {
        "name": "old",
        "state": "retired",
        "reason": "account locked",
        "coolUntil": None,
        "leases": 0,
    }


async def test_a_runtime_without_slots_has_none(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings())
    client = await aiohttp_client(make_app(roost))  # no worker here: nothing starts it
    before = (await (await client.get(f"{P}/runtime/slots")).json())["data"]
    assert before == {"runtime": "mock", "started": False, "slots": None}
    await roost.runtime()
    data = (await (await client.get(f"{P}/runtime/slots")).json())["data"]
    assert data == {"runtime": "mock", "started": True, "slots": None}
