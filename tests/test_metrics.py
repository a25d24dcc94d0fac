"""``GET /metrics`` through the real app factory and an in-process worker: the counters move
as tasks end each way, the histograms get samples, the queue gauges match ``queue/stats``,
and each Roost counts only its own tasks. Parsed with prometheus-client's own parser."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from prom import Samples, parse, value
from pydantic import BaseModel
from roost.core import TaskContext, TaskType, hookimpl
from roost.core.app import Roost
from roost.core.errors import PermanentError, RetryAfter
from roost.core.models import utcnow
from roost.core.store import Retry
from roost.core.worker import Worker
from roost.plugins.api.app import make_app

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]


class Empty(BaseModel):
    pass


async def ok(ctx: TaskContext, payload: Empty) -> None:
    return None


async def flaky(ctx: TaskContext, payload: Empty) -> None:
    if ctx.task.attempts == 1:
        raise RetryAfter(0, "first attempt fails", charge=True)


async def bad(ctx: TaskContext, payload: Empty) -> None:
    raise PermanentError("never works")


class Types:
    """The task types of these tests; ``LOSE``'s first run finds its task given back behind
    its back (as the rescuer would after a stall), so its checkpoint is refused."""

    def __init__(self) -> None:
        self.roost: Roost | None = None

    async def loses_its_lease(self, ctx: TaskContext, payload: Empty) -> None:
        if ctx.task.attempts == 1:
            task, store = ctx.task, self.roost.store  # type: ignore[union-attr]
            await store.apply([Retry(task.id, task.lease_id or "", utcnow(), "stolen", True)])
            await ctx.checkpoint({"step": 1})  # fenced: refused, LeaseLost

    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        handlers = {"OK": ok, "FLAKY": flaky, "BAD": bad, "LOSE": self.loses_its_lease}
        for name, handler in handlers.items():
            register(TaskType(name=name, payload=Empty, handler=handler))


async def scrape(client: TestClient, **headers: str) -> Samples:
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.content_type == "text/plain"
    return parse(await resp.text())


async def until(client: TestClient, done: Callable[[Samples], bool], what: str) -> Samples:
    deadline = time.monotonic() + 20
    while True:
        found = await scrape(client)
        if done(found):
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"/metrics never showed {what}: {found}")
        await asyncio.sleep(0.02)


@pytest.fixture
async def served(aiohttp_client: Client, make_settings: Callable[..., Any]) -> TestClient:
    settings = make_settings(worker={"poll_interval": 0.01}, metrics={"queue_cache_seconds": 0})
    types = Types()
    roost = types.roost = Roost.create(settings, plugins=[types])
    return await aiohttp_client(make_app(roost, Worker(roost)))


def roost_of(client: TestClient) -> Roost:
    from roost.plugins.api.keys import ROOST

    return client.app[ROOST]


async def test_counters_move_as_tasks_end_each_way(served: TestClient) -> None:
    roost = roost_of(served)
    for name in ("OK", "OK", "FLAKY", "BAD", "LOSE"):
        await roost.enqueue(name, {})
    later = datetime.now(UTC) + timedelta(hours=1)
    parked = await roost.enqueue("OK", {}, run_at=later)
    await roost.cancel(parked.id)

    def finished(outcome: str, type_: str) -> Callable[[Samples], float]:
        return lambda f: value(f, "roost_tasks_finished_total", type=type_, outcome=outcome)

    found = await until(
        served,
        lambda f: (
            finished("done", "OK")(f) == 2
            and finished("done", "FLAKY")(f) == 1
            and finished("done", "LOSE")(f) == 1
            # the first LOSE run's refused write may land after its second run's
            and finished("lost_lease", "LOSE")(f) == 1
        ),
        "every task done and the lost run counted",
    )
    assert value(found, "roost_tasks_enqueued_total", type="OK") == 3
    assert value(found, "roost_tasks_enqueued_total", type="BAD") == 1
    assert finished("retried", "FLAKY")(found) == 1
    assert finished("failed", "BAD")(found) == 1
    assert finished("cancelled", "OK")(found) == 1
    assert finished("failed", "OK")(found) == 0  # every series exists from the start
    # one run-time sample per run this process made (LOSE and FLAKY ran twice), and one
    # wait sample per claim
    assert value(found, "roost_task_run_seconds_count", type="FLAKY") == 2
    assert value(found, "roost_task_run_seconds_count", type="LOSE") == 2
    assert value(found, "roost_task_wait_seconds_count", type="OK") == 2
    assert value(found, "roost_task_run_seconds_bucket", type="OK", le="+Inf") == 2
    assert value(found, "roost_worker_slots") == roost.settings.worker.max_concurrent
    assert value(found, "roost_worker_running") == 1


async def test_queue_gauges_match_queue_stats(served: TestClient) -> None:
    roost = roost_of(served)
    later = datetime.now(UTC) + timedelta(hours=1)
    for _ in range(3):
        await roost.enqueue("OK", {}, run_at=later)
    await roost.enqueue("BAD", {})
    await roost.enqueue("OK", {})
    await until(
        served,
        lambda f: (
            value(f, "roost_tasks_finished_total", type="BAD", outcome="failed") == 1
            and value(f, "roost_tasks_finished_total", type="OK", outcome="done") == 1
        ),
        "both due tasks ended",
    )
    stats = (await (await served.get(f"{P}/queue/stats")).json())["data"]
    found = await scrape(served)
    for status in ("PENDING", "RUNNING", "DONE", "FAILED", "CANCELLED"):
        gauge = sum(
            value(found, "roost_queue_tasks", type=t, status=status)
            for t in ("OK", "FLAKY", "BAD", "LOSE", "SEARCH", "ACCOUNT")
        )
        assert gauge == stats[status.lower()], status
    assert value(found, "roost_queue_tasks", type="OK", status="PENDING") == 3
    assert value(found, "roost_queue_tasks", type="BAD", status="FAILED") == 1
    assert value(found, "roost_queue_tasks", type="SEARCH", status="PENDING") == 0
    assert value(found, "roost_store_up") == 1
    # the parked tasks are not due: nothing has waited
    assert value(found, "roost_queue_oldest_pending_seconds", type="OK") == 0


async def test_the_queue_read_is_cached(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings(metrics={"queue_cache_seconds": 3600}))
    client = await aiohttp_client(make_app(roost))
    first = await scrape(client)
    await roost.enqueue("SEARCH", {"query": "q"})
    again = await scrape(client)
    assert value(again, "roost_tasks_enqueued_total", type="SEARCH") == 1  # counters: live
    assert value(first, "roost_queue_tasks", type="SEARCH", status="PENDING") == 0
    assert value(again, "roost_queue_tasks", type="SEARCH", status="PENDING") == 0  # cached


async def test_each_roost_counts_its_own_tasks(
    aiohttp_client: Client, make_settings: Callable[..., Any], tmp_path: Any
) -> None:
    one = await aiohttp_client(make_app(Roost.create(make_settings())))
    two = await aiohttp_client(make_app(Roost.create(make_settings())))
    await roost_of(one).enqueue("SEARCH", {"query": "q"})
    assert value(await scrape(one), "roost_tasks_enqueued_total", type="SEARCH") == 1
    assert value(await scrape(two), "roost_tasks_enqueued_total", type="SEARCH") == 0


async def test_a_task_type_this_process_does_not_know_is_other(served: TestClient) -> None:
    """Label values stay the registered names: a stored type no plugin here registers (one
    another process has, or an uninstalled one) is counted as ``other``, not as a series of
    its own."""
    from roost.core.models import NewTask

    roost = roost_of(served)
    await roost.enqueue_many([NewTask(type="GONE", payload={}, max_attempts=1)])
    found = await scrape(served)
    assert value(found, "roost_tasks_enqueued_total", type="other") == 1
    assert value(found, "roost_queue_tasks", type="other", status="PENDING") == 1
    assert value(found, "roost_queue_oldest_pending_seconds", type="other") >= 0
    assert not any(("type", "GONE") in labels for _, labels in found)


async def test_metrics_want_the_token_when_one_is_set(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings(api={"token": "s3cret"}))
    client = await aiohttp_client(make_app(roost))
    resp = await client.get("/metrics")
    assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in await resp.text()
    assert (await client.get("/metrics", headers={"Authorization": "Bearer nope"})).status == 401
    found = await scrape(client, Authorization="Bearer s3cret")
    assert ("roost_store_up", ()) in found


async def test_the_runtime_slots_are_counted_by_state(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    """The Playwright runtime's session slots (its real :class:`SlotPool`), once a task
    started the runtime: a status read never starts a browser."""
    from roost.plugins.runtime_playwright.settings import SessionSettings
    from roost.plugins.runtime_playwright.slots import SlotPool

    class Started:  # what the Roost holds once the Playwright runtime started: its slots
        slots = SlotPool(
            [SessionSettings(name=n, auth_token="t", ct0="c") for n in ("a", "b", "c")]
        )

    pool = Started.slots
    busy = await pool.lease()
    pool.retire(pool.slots[2], "logged out")
    roost = Roost.create(make_settings())
    client = await aiohttp_client(make_app(roost, Worker(roost)))
    assert ("roost_runtime_slots", (("state", "free"),)) not in await scrape(client)
    roost._runtime = Started()  # as Roost.runtime() leaves it
    found = await scrape(client)
    assert busy.name == "a"
    assert value(found, "roost_runtime_slots", state="busy") == 1
    assert value(found, "roost_runtime_slots", state="free") == 1
    assert value(found, "roost_runtime_slots", state="retired") == 1
