"""A stored task that does not decode never stops a worker nor breaks a lookup.

The poison is written straight into the database (sqlite3, pymongo), as another tool, an
older roost or a hand edit would; a real worker then claims it in one batch with healthy
tasks: the poison ends FAILED saying why, the rest of the batch is DONE, the worker returns
normally. A poison task no worker claims is still shown by ``get``, ``roost task`` and
``GET /tasks/{id}``, its unreadable times clamped.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bson
import pytest
from aiohttp.test_utils import TestClient
from bson import ObjectId
from bson.datetime_ms import DatetimeMS
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.models import TaskStatus
from roost.core.stores.mongo import doc_to_task
from roost.core.worker import Worker
from roost.plugins.api.app import make_app
from store_urls import store_url
from storekit import recover

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]
YEAR_0_MS = -62198755200000  # 0000-01-01: what "0001-01-01T00:00:00+14:00" was stored as
YEAR_10000_MS = 253402350799000  # 10000-01-01T13:59:59Z: "9999-12-31T23:59:59-14:00"

# (case, SET clause for SQLite, what the failure names)
SQLITE_POISON = [
    ("next_run_at before year 1", f"next_run_at = {YEAR_0_MS}", "next_run_at"),
    ("created_at text", "created_at = 'yesterday'", "created_at is not a time"),
    ("payload not JSON", "payload = '{\"query\": '", "payload is not valid JSON"),
    ("payload an array", "payload = '[1, 2]'", "payload is a JSON array, not an object"),
    ("payload null", "payload = 'null'", "payload is a JSON null, not an object"),
    ("priority text", "priority = 'high'", "priority is not an integer"),
]
# (case, $set for MongoDB, what the failure names); dates outside Python's range: below
MONGO_POISON = [
    ("createdAt text", {"createdAt": "2026-01-01T00:00:00Z"}, "createdAt is not a time"),
    ("payload a string", {"payload": "query=x"}, "payload is a JSON string, not an object"),
    ("priority text", {"priority": "high"}, "priority is not an integer"),
    ("type an array", {"type": ["SEARCH"]}, "type is not text"),
]
# mongomock keeps what pymongo would decode (with DATETIME_AUTO) from such a BSON date; the
# wire lane's emulator refuses to store one, so there the codec is tested on raw BSON below
MOCK_ONLY_POISON = [
    ("createdAt before year 1", {"createdAt": DatetimeMS(YEAR_0_MS)}, "createdAt"),
]
POISON = [
    *(("sqlite", *case) for case in SQLITE_POISON),
    *((engine, *case) for engine in ("mongomock", "wire") for case in MONGO_POISON),
    *(("mongomock", *case) for case in MOCK_ONLY_POISON),
]


@pytest.fixture
def url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with store_url(engine, tmp_path, request) as found:
        yield found


def write(roost: Roost, task_id: str, change: Any) -> None:
    """Change a stored task behind roost's back, as another program would."""
    store: Any = roost.store.sync
    if isinstance(change, str):
        with sqlite3.connect(store.path) as conn:
            assert conn.execute(f"UPDATE tasks SET {change} WHERE id = ?", (task_id,)).rowcount
        return
    assert store.tasks.update_one({"_id": ObjectId(task_id)}, {"$set": change}).matched_count


def make(make_settings: Callable[..., Any], url: str) -> Roost:
    worker = {"max_concurrent": 10, "poll_interval": 0.01, "max_poll_interval": 0.05}
    return Roost.create(make_settings(store={"url": url}, worker=worker))


@pytest.mark.parametrize(
    ("engine", "case", "change", "reason"), POISON, ids=[f"{p[0]}-{p[1]}" for p in POISON]
)
async def test_a_worker_fails_an_unreadable_task_and_runs_the_rest_of_its_batch(
    make_settings: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    url: str,
    case: str,
    change: Any,
    reason: str,
) -> None:
    roost = make(make_settings, url)
    await roost.start()
    ids = [(await roost.enqueue("SEARCH", {"query": f"q{i}", "limit": 2})).id for i in range(5)]
    write(roost, ids[2], change)
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(Worker(roost).run(burst=True), 30)  # returns: it lived
    tasks = {tid: await roost.store.get(tid) for tid in ids}
    poison = tasks.pop(ids[2])
    assert poison is not None and poison.status == TaskStatus.FAILED, poison
    assert poison.last_error is not None
    assert poison.last_error.startswith("PermanentError: stored task cannot be read: ")
    assert reason in poison.last_error
    assert all(t is not None and t.status == TaskStatus.DONE for t in tasks.values()), tasks
    # one claim took them all: the poison did not hold back the others of its batch
    assert len({t.locked_at for t in [poison, *tasks.values()] if t is not None}) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    await roost.close()


# (engine, change to a task due in an hour, the field it spoils, that field as shown)
UNCLAIMED = {
    "sqlite": (f"next_run_at = {YEAR_10000_MS}", "nextRunAt", "9999-12-31T23:59:59.999Z"),
    "mongomock": ({"createdAt": DatetimeMS(YEAR_0_MS)}, "createdAt", "0001-01-01T00:00:00.000Z"),
    "wire": ({"createdAt": 20}, "createdAt", "0001-01-01T00:00:00.000Z"),
}


async def test_an_unreadable_task_is_shown_by_get_cli_and_http(
    aiohttp_client: Client,
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: str,
    url: str,
) -> None:
    change, field, value = UNCLAIMED[engine]
    roost = make(make_settings, url)
    await roost.start()
    later = datetime.now(UTC) + timedelta(hours=1)
    tid = (await roost.enqueue("SEARCH", {"query": "far"}, run_at=later)).id
    write(roost, tid, change)
    task = await roost.store.get(tid)
    assert task is not None and task.status == TaskStatus.PENDING and task.unreadable
    assert task.payload["query"] == "far"

    monkeypatch.setenv("ROOST_STORE__URL", url)
    assert main(["task", tid]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown[field]) == ("PENDING", value)

    client = await aiohttp_client(make_app(roost))
    resp = await client.get(f"{P}/tasks/{tid}")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["data"] == shown


async def test_a_task_with_an_unknown_status_is_shown_not_run(
    make_settings: Callable[..., Any], engine: str, url: str
) -> None:
    roost = make(make_settings, url)
    await roost.start()
    tid = (await roost.enqueue("SEARCH", {"query": "x"})).id
    write(roost, tid, "status = 'PAUSED'" if engine == "sqlite" else {"status": "PAUSED"})
    task = await roost.store.get(tid)
    assert task is not None and task.status == TaskStatus.FAILED
    assert task.unreadable == "status 'PAUSED' is not a task status"
    await asyncio.wait_for(Worker(roost).run(burst=True), 30)
    assert (await roost.store.get(tid)) == task  # no worker touched it
    await roost.close()


@pytest.mark.parametrize("engine", ["wire"])
def test_mongo_reads_a_bson_date_outside_pythons_years(open_store: Callable[[], Any]) -> None:
    """pymongo cannot make a datetime of a BSON date in year 0 or 10000, and by default
    fails the whole reply (the batch) on one; the engine's collection reads it as a
    DatetimeMS, which the task shows clamped and names as unreadable."""
    store = open_store()
    now = datetime.now(UTC)
    raw = bson.encode(
        {
            "_id": ObjectId(),
            "type": "SEARCH",
            "status": "PENDING",
            "payload": {"query": "x"},
            "createdAt": DatetimeMS(YEAR_0_MS),
            "nextRunAt": DatetimeMS(YEAR_10000_MS),
            "updatedAt": now,
        }
    )
    with pytest.raises(bson.errors.InvalidBSON):
        bson.decode(raw, codec_options=bson.CodecOptions(tz_aware=True))
    task = doc_to_task(bson.decode(raw, codec_options=store.tasks.codec_options))
    assert task.created_at == datetime.min.replace(tzinfo=UTC)
    assert task.next_run_at == datetime.max.replace(tzinfo=UTC)
    assert abs(task.updated_at - now) < timedelta(milliseconds=1)
    assert task.unreadable is not None
    assert "createdAt" in task.unreadable and "nextRunAt" in task.unreadable


@pytest.mark.parametrize("engine", ["mongomock", "wire"])
def test_recovery_reads_attempt_counts_of_another_type(open_store: Callable[[], Any]) -> None:
    """One document whose maxAttempts is text must not stop recovery for every task."""
    store = open_store()
    past = datetime.now(UTC) - timedelta(minutes=5)
    base = {"type": "SEARCH", "status": "RUNNING", "payload": {}, "createdAt": past}
    store.tasks.insert_many(
        [
            {**base, "leaseId": "a", "leaseExpiresAt": past, "attempts": 1, "maxAttempts": "3"},
            {**base, "leaseId": "b", "leaseExpiresAt": past, "attempts": 1, "maxAttempts": 3},
        ]
    )
    assert recover(store) == 2
    assert store.stats().pending == 2
