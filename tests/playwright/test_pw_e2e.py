"""The whole pipeline with runtime.name = "playwright": HTTP, worker, Chromium, fake X, store.

Each scenario ends in the task state the docs promise: DONE with the count, FAILED
for what retrying cannot fix, PENDING (uncharged, at X's reset time) for rate limits,
PENDING (charged) for retryable blocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from chromium import browser_path
from fakex.env import FAST
from fakex.server import FakeX
from roost.core.app import Roost
from roost.core.models import Task, TaskStatus
from roost.core.worker import Worker
from roost.plugins.api.app import make_app

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]


class Pipeline:
    """A Roost with the Playwright runtime pointed at the fake X, its REST API and a worker."""

    def __init__(self, roost: Roost, client: TestClient) -> None:
        self.roost = roost
        self.client = client

    async def post(self, route: str, body: dict[str, Any]) -> str:
        resp = await self.client.post(f"{P}/tasks/{route}", json=body)
        data = await resp.json()
        assert resp.status == 201 or resp.status == 200, data
        assert data["ok"] is True and data["data"]["status"] == "PENDING"
        return str(data["data"]["taskId"])

    async def work(self) -> None:
        await Worker(self.roost).run(burst=True)

    def task(self, task_id: str) -> Task:
        task = self.roost.store.sync.get(task_id)
        assert task is not None
        return task

    def tweets(self, task_id: str) -> list[dict[str, Any]]:
        return self.roost.store.sync.records.find("tweets", task_id=task_id, limit=1000)


async def until(when: datetime) -> None:
    """Wait for a task's ``next_run_at``: the worker only claims due tasks."""
    await asyncio.sleep(max(0.0, (when - datetime.now(UTC)).total_seconds()) + 0.01)


@pytest.fixture
def pipeline(
    fake: FakeX, aiohttp_client: Client, make_settings: Callable[..., Any], tmp_path: Path
) -> Callable[..., Awaitable[Pipeline]]:
    async def make(retry: dict[str, Any] | None = None, **playwright: Any) -> Pipeline:
        table = {
            "base_url": fake.origin,
            "schema_dump_dir": str(tmp_path / "dumps"),
            "sessions": [{"name": "main", "auth_token": "tok-main", "ct0": "csrf-main"}],
            **FAST,
            **playwright,
        }
        if browser_path():
            table["executable_path"] = browser_path()
        settings = make_settings(
            runtime={"name": "playwright", "playwright": table},
            retry={"base_delay": 0.01, "jitter": 0, **(retry or {})},
            worker={"poll_interval": 0.01},
        )
        roost = Roost.create(settings)
        client = await aiohttp_client(make_app(roost))  # the app's cleanup closes the roost
        return Pipeline(roost, client)

    return make


async def test_search_task_over_http_ends_done_with_its_tweets(
    fake: FakeX, pipeline: Callable[..., Awaitable[Pipeline]]
) -> None:
    p = await pipeline()
    task_id = await p.post("search", {"query": "bitcoin", "filters": {"lang": "en"}, "limit": 50})

    await p.work()

    task = p.task(task_id)
    assert task.status == TaskStatus.DONE, task.last_error
    expected = fake.expected_ids("SearchTimeline")
    assert task.result == {"count": 12, "firstId": expected[0], "lastId": expected[-1]}
    stored = {t["id"]: t for t in p.tweets(task_id)}
    assert sorted(stored) == sorted(expected)
    assert stored[expected[0]]["author"]["screen_name"] == "searcher"
    assert fake.calls("SearchTimeline")[0]["variables"]["rawQuery"] == "bitcoin lang:en"


async def test_account_task_over_http_ends_done_with_the_limit(
    fake: FakeX, pipeline: Callable[..., Awaitable[Pipeline]]
) -> None:
    p = await pipeline()
    task_id = await p.post("account", {"username": "elonmusk", "limit": 10})

    await p.work()

    task = p.task(task_id)
    assert task.status == TaskStatus.DONE, task.last_error
    assert task.result is not None and task.result["count"] == 10
    expected = fake.expected_ids("UserTweets")[:10]
    assert sorted(t["id"] for t in p.tweets(task_id)) == sorted(expected)


async def test_rate_limit_reschedules_uncharged_then_resumes_at_the_cursor(
    fake: FakeX, pipeline: Callable[..., Awaitable[Pipeline]]
) -> None:
    fake.reset(fail={2: "429"}, reset_in=2)
    p = await pipeline()
    task_id = await p.post("search", {"query": "bitcoin", "limit": 100})

    await p.work()

    task = p.task(task_id)
    assert task.status == TaskStatus.PENDING and task.attempts == 0  # waiting is not failing
    assert task.last_error and "rate limited" in task.last_error
    assert task.checkpoint is not None and task.checkpoint["cursor"] == "DAACCgACGRkZ:5"
    assert task.checkpoint["saved"] == 3 and len(p.tweets(task_id)) == 3
    assert task.next_run_at > datetime.now(UTC)

    fake.scenario.fail = {}
    await until(task.next_run_at)  # X's reset time
    await p.work()

    task = p.task(task_id)
    assert task.status == TaskStatus.DONE, task.last_error
    assert task.result is not None and task.result["count"] == 12
    resumed = [c for c in fake.calls("SearchTimeline") if c["page"] > 2]
    assert resumed[0]["variables"]["cursor"] == "DAACCgACGRkZ:5"  # not from the top again
    assert sorted(t["id"] for t in p.tweets(task_id)) == sorted(fake.expected_ids("SearchTimeline"))


@pytest.mark.parametrize(
    ("route", "body", "scenario", "error"),
    [
        ("search", {"query": "bitcoin"}, {"tokens": {}}, "session 'main' expired"),
        ("account", {"username": "nobody_here"}, {}, "@nobody_here does not exist"),
        ("account", {"username": "gone"}, {"users": {"gone": "suspended"}}, "suspended"),
        ("account", {"username": "secret"}, {"users": {"secret": "protected"}}, "protected"),
        ("search", {"query": "bitcoin"}, {"fail": {1: "336"}}, "schema changed"),
        ("search", {"query": "bitcoin"}, {"fail": {1: "404"}}, "stale query id"),
        ("search", {"query": "bitcoin"}, {"tokens": {"tok-main": "locked"}}, "locked"),
    ],
)
async def test_what_retrying_cannot_fix_fails_at_once(
    fake: FakeX,
    pipeline: Callable[..., Awaitable[Pipeline]],
    route: str,
    body: dict[str, Any],
    scenario: dict[str, Any],
    error: str,
) -> None:
    fake.reset(**scenario)
    p = await pipeline()
    task_id = await p.post(route, body)

    await p.work()

    task = p.task(task_id)
    assert task.status == TaskStatus.FAILED and task.attempts == 1
    assert task.last_error is not None and error in task.last_error


async def test_cloudflare_block_is_retried_by_the_policy(
    fake: FakeX, pipeline: Callable[..., Awaitable[Pipeline]]
) -> None:
    fake.reset(fail={1: "cloudflare", 2: "cloudflare"})
    p = await pipeline(retry={"max_attempts": 3, "base_delay": 0.2})
    task_id = await p.post("search", {"query": "bitcoin", "limit": 5})

    await p.work()
    task = p.task(task_id)
    assert task.status == TaskStatus.PENDING and task.attempts == 1
    assert task.last_error is not None and "Cloudflare" in task.last_error

    for _ in range(2):  # the block lifts on the third request
        await until(p.task(task_id).next_run_at)
        await p.work()
    task = p.task(task_id)
    assert task.status == TaskStatus.DONE and task.attempts == 3
    assert task.result is not None and task.result["count"] == 5
