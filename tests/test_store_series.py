"""The dashboard's store calls on every engine: finished tasks per minute and the queue
samples (``TaskStore.finished_minutes``, ``add_queue_sample``, ``queue_samples``), and the
series a worker leaves behind as it works (``AsyncStore.queue_series``).

Each store test runs on every lane of the ``engine`` fixture (SQLite, mongomock, the wire
server); tasks reach their states through the contract, as a worker and an operator would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from roost.core import series
from roost.core.app import Roost
from roost.core.models import TaskStatus, utcnow
from roost.core.series import FinishedMinute, QueueSample, minute_of
from roost.core.store import TaskStore
from roost.core.worker import Worker, sampler
from scripted import Scripted
from storekit import W, add, complete, fail

DONE, FAILED, CANCELLED = TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED


def totals(minutes: list[FinishedMinute]) -> dict[TaskStatus, int]:
    out: dict[TaskStatus, int] = {}
    for m in minutes:
        for status, n in m.counts.items():
            out[status] = out.get(status, 0) + n
    return out


def the_hour(now: datetime | None = None) -> tuple[datetime, datetime]:
    return series.window(now or utcnow())


def test_finished_tasks_are_counted_by_minute_and_outcome(store: TaskStore) -> None:
    ids = add(store, 5)
    claimed = {t.id: t for t in store.claim(W, None, 4, 60)}
    first, second, third, fourth = (claimed[i] for i in ids[:4])
    assert complete(store, first.id, first.lease_id)
    assert complete(store, second.id, second.lease_id)
    assert fail(store, third.id, third.lease_id, "boom")
    assert store.cancel(ids[4]) is not None  # PENDING -> CANCELLED: it never ran
    # the fourth is still RUNNING: not finished, not counted
    found = store.finished_minutes(*the_hour(), series.SAMPLED)
    assert totals(found) == {DONE: 2, FAILED: 1, CANCELLED: 1}
    for m in found:
        assert m.minute == minute_of(m.minute) and m.minute.tzinfo is not None
    # the times of the three that ran (claimed, then finished), none of the cancelled one
    waits = [w for m in found for w in m.waits]
    runs = [r for m in found for r in m.runs]
    assert len(waits) == len(runs) == 3
    assert all(0 <= w < 60 for w in waits) and all(0 <= r < 60 for r in runs)
    assert fourth.status is TaskStatus.RUNNING


def test_only_the_window_is_read(store: TaskStore) -> None:
    ids = add(store, 2)
    for t in store.claim(W, None, 2, 60):
        assert complete(store, t.id, t.lease_id)
    later = utcnow() + timedelta(hours=2)
    assert store.finished_minutes(*the_hour(later), series.SAMPLED) == []
    assert totals(store.finished_minutes(*the_hour(), series.SAMPLED)) == {DONE: len(ids)}


def test_the_times_read_are_capped_per_minute(store: TaskStore) -> None:
    add(store, 6)
    for t in store.claim(W, None, 6, 60):
        assert complete(store, t.id, t.lease_id)
    found = store.finished_minutes(*the_hour(), 2)
    assert totals(found) == {DONE: 6}  # the counts stay exact
    for m in found:
        assert len(m.waits) == len(m.runs) == min(2, m.counts[DONE])


def test_a_sample_counts_the_depth_now_and_adds_up_a_minutes_retries(store: TaskStore) -> None:
    add(store, 5)
    store.claim(W, None, 2, 60)
    now = utcnow()
    minute = minute_of(now)
    first = store.add_queue_sample("w1", now, 3)
    assert (first.minute, first.pending, first.running, first.retried) == (minute, 3, 2, 3)
    store.claim(W, None, 1, 60)
    again = store.add_queue_sample("w1", now + timedelta(milliseconds=5), 2)
    assert (again.pending, again.running, again.retried) == (2, 3, 5)  # depth replaced
    store.add_queue_sample("w2", now, 1)
    before = minute - timedelta(minutes=5)
    store.add_queue_sample("w1", before, 0)
    got = {(s.minute, s.worker_id): s for s in store.queue_samples(before)}
    assert set(got) == {(minute, "w1"), (minute, "w2"), (before, "w1")}
    w1 = got[(minute, "w1")]
    assert (w1.pending, w1.running, w1.retried) == (2, 3, 5)
    assert w1.at == now + timedelta(milliseconds=5)
    assert [s.minute for s in store.queue_samples(minute)] == [minute, minute]


def test_samples_older_than_the_keep_are_deleted_as_new_ones_are_written(
    store: TaskStore,
) -> None:
    old = utcnow() - series.KEEP_SAMPLES - timedelta(minutes=5)
    store.add_queue_sample("w1", old, 1)
    now = utcnow()
    store.add_queue_sample("w1", now, 0)
    assert [s.minute for s in store.queue_samples(minute_of(old))] == [minute_of(now)]


def test_a_database_no_worker_sampled_has_no_samples(store: TaskStore) -> None:
    assert store.queue_samples(utcnow() - timedelta(hours=1)) == []


async def test_a_worker_leaves_the_series_of_what_it_did(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tasks done, one retried twice then failed (three attempts at once), one cancelled
    while PENDING: the series read back from the store has them all, with the depth the
    worker sampled and the retries it applied."""
    monkeypatch.setattr(sampler, "EVERY", 0.05)  # a sample every 50 ms, not every 10 s
    settings = make_settings(worker={"poll_interval": 0.01, "max_poll_interval": 0.05})
    roost = Roost.create(settings, plugins=[Scripted()])
    await roost.start()
    try:
        for script in (["ok"], ["ok"], ["boom"]):
            await roost.enqueue("JOB", {"script": script})
        later = await roost.enqueue("JOB", {"script": ["ok"]}, run_at=utcnow() + timedelta(days=1))
        await roost.cancel(later.id)
        worker = Worker(roost)
        running = asyncio.create_task(worker.run())

        async def retries_sampled() -> dict[str, Any]:
            while True:
                data = await roost.store.queue_series(utcnow())
                if sum(m["retried"] for m in data["minutes"]) >= 2 and sum(
                    m["failed"] for m in data["minutes"]
                ):
                    return data
                await asyncio.sleep(0.05)

        data = await asyncio.wait_for(retries_sampled(), 20)
        worker.stop()
        await asyncio.wait_for(running, 20)
    finally:
        await roost.close()
        roost.store.close()
    minutes = data["minutes"]
    assert len(minutes) == series.MINUTES
    assert sum(m["done"] for m in minutes) == 2
    assert sum(m["failed"] for m in minutes) == 1
    assert sum(m["cancelled"] for m in minutes) == 1
    assert sum(m["retried"] for m in minutes) == 2
    assert any(m["pending"] is not None for m in minutes)
    assert any(m["runP95"] is not None and m["waitP50"] is not None for m in minutes)
    rates = [m["retryRate"] for m in minutes if m["retryRate"] is not None]
    assert rates and all(0 < r <= 1 for r in rates)


def test_the_series_has_every_minute_of_the_hour_with_percentiles_and_the_latest_depth() -> None:
    now = datetime(2026, 3, 1, 12, 30, 20, tzinfo=UTC)
    minute = minute_of(now)
    finished = [
        FinishedMinute(minute, {DONE: 9, FAILED: 1}, [float(i) for i in range(1, 11)], [0.5] * 10)
    ]
    samples = [
        QueueSample(minute, "w1", now - timedelta(seconds=15), 40, 4, 2),
        QueueSample(minute, "w2", now - timedelta(seconds=5), 30, 8, 3),  # the latest look
    ]
    data = series.build(now, finished, samples)
    minutes = data["minutes"]
    assert len(minutes) == series.MINUTES
    assert (
        data["to"] == "2026-03-01T12:31:00.000Z" and minutes[-1]["at"] == "2026-03-01T12:30:00.000Z"
    )
    assert data["from"] == minutes[0]["at"] == "2026-03-01T11:31:00.000Z"
    last = minutes[-1]
    assert (last["done"], last["failed"], last["cancelled"], last["retried"]) == (9, 1, 0, 5)
    assert (last["pending"], last["running"]) == (30, 8)
    assert (last["waitP50"], last["waitP95"], last["runP95"]) == (5.0, 10.0, 0.5)
    assert last["retryRate"] == round(5 / 15, 4)  # retries per attempt that ended
    quiet = minutes[0]
    assert quiet["pending"] is None and quiet["waitP50"] is None and quiet["retryRate"] is None
    assert (quiet["done"], quiet["retried"]) == (0, 0)


def test_on_sqlite_every_series_read_goes_through_an_index(tmp_path: Path) -> None:
    """The plans of the three statements (the Mongo engine names its index in a ``hint``:
    a missing one fails the wire lane above instead of scanning)."""
    from roost.core.stores.sqlite import SQLiteStore
    from roost.core.stores.sqlite.series import _DEPTH, _counts, _times

    store = SQLiteStore(f"sqlite:///{tmp_path / 'plans.db'}")
    store.setup()
    store.close()
    conn = sqlite3.connect(tmp_path / "plans.db")
    plans = {
        "depth": (_DEPTH, ()),
        "counts": (_counts(DONE), (0, 1)),
        "times": (_times(FAILED), (0, 1, 5)),
    }
    for name, (sql, args) in plans.items():
        steps = [row[-1] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
        scans = [s for s in steps if s.startswith(("SCAN tasks", "SEARCH tasks"))]
        assert scans and all("USING" in s and "INDEX" in s for s in scans), (name, steps)
    conn.close()
