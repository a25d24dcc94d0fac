"""The async facade on a real SQLite file: small calls made on the event loop never wait."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.errors import ValidationFailed
from roost.core.models import NewTask, TaskStatus


async def test_a_locked_database_never_stalls_the_event_loop(
    make_roost: Callable[..., Roost], tmp_path: Path
) -> None:
    roost = make_roost()
    other = sqlite3.connect(tmp_path / "roost.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    enqueue = asyncio.create_task(roost.enqueue("SEARCH", {"query": "btc"}))
    await asyncio.sleep(0)  # the enqueue makes its first move
    # While the lock is held, the loop keeps serving other coroutines (this one) many times
    # over. A loop that waited on the lock could not come back here before the enqueue was
    # over (written after the wait, or failed at store.timeout).
    for _ in range(200):
        assert not enqueue.done(), f"the enqueue ended with the lock held: {enqueue}"
        await asyncio.sleep(0)
    other.execute("COMMIT")
    task = await asyncio.wait_for(enqueue, 30)  # it waited for the lock, in the store's thread
    other.close()
    assert roost.store.sync.get(task.id).status == TaskStatus.PENDING  # type: ignore[union-attr]


async def test_writes_made_on_the_loop_are_checkpointed_into_the_database_file(
    make_roost: Callable[..., Roost], tmp_path: Path
) -> None:
    roost = make_roost()
    roost.store.UPKEEP_EVERY = 50  # type: ignore[misc]
    db = tmp_path / "roost.db"
    before = db.stat().st_size
    for i in range(50):
        await roost.enqueue("SEARCH", {"query": f"q{i}"})
    await roost.store.stats()  # the store's one thread is past the upkeep it was given
    assert db.stat().st_size > before  # the tasks left the WAL for the database file
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone()[0] == 50


async def test_concurrent_callers_share_one_write_and_each_gets_its_own_tasks(
    make_roost: Callable[..., Roost],
) -> None:
    roost = make_roost()

    async def one(i: int) -> Any:
        return await roost.enqueue_many(
            [roost.new_task("SEARCH", {"query": f"q{i}-{j}"}) for j in range(3)]
        )

    results = await asyncio.gather(*(one(i) for i in range(40)))
    for i, tasks in enumerate(results):
        assert [t.payload["query"] for t in tasks] == [f"q{i}-{j}" for j in range(3)]
    assert roost.store.sync.stats().pending == 120


async def test_a_large_bulk_enqueue_goes_through_the_threads_all_or_nothing(
    make_roost: Callable[..., Roost],
) -> None:
    roost = make_roost()
    good = [roost.new_task("SEARCH", {"query": f"q{i}"}) for i in range(100)]
    bad = NewTask(type="SEARCH", payload={"query": object()})  # not JSON: the write fails
    try:
        await roost.enqueue_many([*good, bad])
    except (TypeError, ValueError):
        pass
    else:
        raise AssertionError("a payload that is not JSON was stored")
    assert roost.store.sync.stats().total == 0
    assert len(await roost.enqueue_many(good)) == 100


async def test_bulk_validation_stores_what_one_at_a_time_would_or_names_the_bad_payload(
    make_roost: Callable[..., Roost],
) -> None:
    roost = make_roost()
    payloads: list[dict[str, Any]] = [
        {"query": "btc", "limit": 5},
        {"query": "eth", "filters": {"lang": "en", "product": "Top"}},
    ]
    many = roost.new_tasks("SEARCH", payloads, priority=3)
    assert many == [roost.new_task("SEARCH", p, priority=3) for p in payloads]
    with pytest.raises(ValidationFailed) as bad:
        roost.new_tasks("SEARCH", [*payloads, {"query": "x", "limit": "5"}, {}])
    assert "2.limit" in str(bad.value) and "3.query: Field required" in str(bad.value)
    assert [e["loc"][0] for e in bad.value.errors] == [2, 3]
    stored = await roost.enqueue_many(many)
    assert [t.payload["query"] for t in stored] == ["btc", "eth"]
    assert roost.store.sync.get(stored[1].id).payload["filters"]["lang"] == "en"  # type: ignore[union-attr]


async def test_a_loop_of_awaited_enqueues_lets_other_coroutines_run(
    make_roost: Callable[..., Roost],
) -> None:
    roost = make_roost()
    done = asyncio.Event()
    turns = 0

    async def other() -> None:  # e.g. aiohttp serving a request, or a worker's task
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    neighbour = asyncio.create_task(other())
    await asyncio.sleep(0)
    before = turns
    for i in range(200):
        await roost.enqueue("SEARCH", {"query": f"q{i}"})
    done.set()
    await neighbour
    assert turns - before >= 190  # it ran between the enqueues
    assert roost.store.sync.stats().pending == 200
