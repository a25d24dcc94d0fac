"""Retention: ``[retention]`` settings, and the workers' purge of old finished tasks.

On every engine: a pass deletes only finished tasks older than their state's age (never
PENDING or RUNNING, never a task kept forever with ``0``), in batches, a bounded number
per pass; a running worker purges on its own. Settings: seconds or ``7d``/``12h``/``30m``,
and a bad value is one line naming its key and source.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.errors import ConfigError
from roost.core.models import NewTask, TaskStatus, utcnow
from roost.core.sections import RetentionSettings
from roost.core.settings import load_settings
from roost.core.store import Done, Fail, TaskStore
from roost.core.worker import Worker
from roost.core.worker.retention import purge_expired
from scripted import Scripted, until
from store_urls import store_url

DAY = timedelta(days=1)


@pytest.fixture
def url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with store_url(engine, tmp_path, request) as url:
        yield url


@pytest.fixture
async def roost(make_settings: Callable[..., Any], url: str) -> AsyncIterator[Roost]:
    roost = Roost.create(make_settings(store={"url": url}))
    await roost.start()
    yield roost
    await roost.close()


def finish(store: TaskStore, status: TaskStatus, n: int) -> list[str]:
    """``n`` tasks ended in ``status`` now (DONE, FAILED or CANCELLED)."""
    new = store.enqueue_many([NewTask(type="T", payload={"n": i}) for i in range(n)])
    ids = [t.id for t in new]
    if status == TaskStatus.CANCELLED:
        assert all(store.cancel(tid) is not None for tid in ids)
        return ids
    claimed = store.claim("worker-1", ["T"], n, 60)
    assert {t.id for t in claimed} == set(ids)
    change = Done if status == TaskStatus.DONE else (lambda t, lease: Fail(t, lease, "boom"))
    assert store.apply([change(t.id, t.lease_id or "") for t in claimed]) == [True] * n
    return ids


def finished_at(store: TaskStore, ids: list[str]) -> list[datetime]:
    times = []
    for tid in ids:
        task = store.get(tid)
        assert task is not None and task.finished_at is not None
        times.append(task.finished_at)
    return times


def present(store: TaskStore, ids: list[str]) -> list[str]:
    return [tid for tid in ids if store.get(tid) is not None]


async def test_a_pass_deletes_only_finished_tasks_older_than_their_states_age(
    roost: Roost,
) -> None:
    store = roost.store.sync
    old = {
        s: finish(store, s, 2) for s in (TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED)
    }
    last_old = max(t for ids in old.values() for t in finished_at(store, ids))
    await until(lambda: utcnow() > last_old + timedelta(milliseconds=5), "the clock to move on")
    new = {s: finish(store, s, 2) for s in old}
    first_new = min(t for ids in new.values() for t in finished_at(store, ids))
    pending = [t.id for t in store.enqueue_many([NewTask(type="T", payload={})] * 2)]
    running = [t.id for t in store.claim("worker-1", ["T"], 1, 60)]
    cut = last_old + (first_new - last_old) / 2  # after every old task, before every new one
    retention = RetentionSettings(done="7d", failed="30d", cancelled="7d")

    # seven days after the cut: the old DONE and CANCELLED go, FAILED (30 days) stay
    deleted = await purge_expired(roost.store, retention, now=cut + 7 * DAY)
    assert deleted == {TaskStatus.DONE: 2, TaskStatus.CANCELLED: 2}
    assert present(store, old[TaskStatus.DONE] + old[TaskStatus.CANCELLED]) == []
    kept = old[TaskStatus.FAILED] + [t for ids in new.values() for t in ids] + pending + running
    assert present(store, kept) == kept

    # thirty days on: the old FAILED go, and the new DONE and CANCELLED (7 days) too
    assert await purge_expired(roost.store, retention, now=cut + 30 * DAY) == {
        TaskStatus.DONE: 2,
        TaskStatus.FAILED: 2,
        TaskStatus.CANCELLED: 2,
    }
    assert present(store, kept) == new[TaskStatus.FAILED] + pending + running
    # a year on: every finished task, and nothing else
    assert await purge_expired(roost.store, retention, now=utcnow() + 365 * DAY) == {
        TaskStatus.FAILED: 2
    }
    assert present(store, kept) == pending + running
    stats = store.stats()
    assert (stats.pending, stats.running, stats.total) == (1, 1, 2)


async def test_zero_keeps_a_state_forever(roost: Roost) -> None:
    store = roost.store.sync
    done, failed = finish(store, TaskStatus.DONE, 1), finish(store, TaskStatus.FAILED, 1)
    retention = RetentionSettings(done=0, failed="1s", cancelled=0)
    assert await purge_expired(roost.store, retention, now=utcnow() + 3650 * DAY) == {
        TaskStatus.FAILED: 1
    }
    assert present(store, done + failed) == done


async def test_a_pass_deletes_in_batches_and_stops_at_its_time_budget(roost: Roost) -> None:
    store = roost.store.sync
    ids = finish(store, TaskStatus.DONE, 5)
    later = utcnow() + 8 * DAY
    retention = RetentionSettings()
    # no time budget: one batch per state per pass, the rest for the next passes
    passes = [
        await purge_expired(roost.store, retention, now=later, batch=2, budget=0) for _ in range(4)
    ]
    assert passes == [{TaskStatus.DONE: 2}, {TaskStatus.DONE: 2}, {TaskStatus.DONE: 1}, {}]
    # with time, one pass goes on batch after batch
    more = finish(store, TaskStatus.DONE, 5)
    assert await purge_expired(roost.store, retention, now=later, batch=2) == {TaskStatus.DONE: 5}
    assert present(store, ids + more) == []


async def test_a_running_worker_purges_on_its_own(
    make_settings: Callable[..., Any], url: str
) -> None:
    plugin = Scripted()
    settings = make_settings(
        store={"url": url},
        worker={"recovery_interval": 0.2, "poll_interval": 0.01, "max_poll_interval": 0.05},
        retention={"done": 0.5},
    )
    roost = Roost.create(settings, plugins=[plugin])
    await roost.start()
    try:
        ids = [(await roost.enqueue("JOB", {"script": ["ok"]})).id for _ in range(3)]
        worker = Worker(roost)
        job = asyncio.create_task(worker.run())
        await until(lambda: len(plugin.of(ids[-1], "succeeded")) == 1, "the tasks to run")
        later = await roost.enqueue("JOB", {"script": ["ok"]}, run_at=utcnow() + DAY)
        await until(lambda: present(roost.store.sync, ids) == [], "the DONE tasks to go", 15)
        assert present(roost.store.sync, [later.id]) == [later.id]  # PENDING: never purged
        worker.stop()
        await asyncio.wait_for(job, 20)
    finally:
        await roost.close()


# -- settings --------------------------------------------------------------------------------
def test_defaults_and_duration_strings(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert make_settings().retention == RetentionSettings(
        done=7 * 86_400, failed=30 * 86_400, cancelled=7 * 86_400
    )
    (tmp_path / "settings.toml").write_text('[retention]\ndone = "12h"\nfailed = 0\n')
    monkeypatch.setenv("ROOST_RETENTION__CANCELLED", "30m")
    settings = load_settings(tmp_path / "settings.toml")
    assert settings.retention == RetentionSettings(done=43_200, failed=0, cancelled=1800)


@pytest.mark.parametrize("value", ['"7x"', '"-1d"', "-5", "true", '"forever"'])
def test_a_bad_value_names_its_key_and_file(
    make_settings: Callable[..., Any], tmp_path: Path, value: str
) -> None:
    make_settings()  # a clean folder and environment
    (tmp_path / "settings.toml").write_text(f"[retention]\ndone = {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "settings.toml")
    message = str(caught.value)
    assert "settings.toml" in message and "retention.done" in message
    assert "duration" in message and "\n" not in message


def test_a_bad_environment_value_names_the_variable(
    make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_settings()
    monkeypatch.setenv("ROOST_RETENTION__FAILED", "a month")
    with pytest.raises(ConfigError, match="ROOST_RETENTION__FAILED.*retention.failed.*duration"):
        load_settings(None)


def test_an_unknown_retention_key_is_named(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    make_settings()
    (tmp_path / "settings.toml").write_text('[retention]\npending = "1d"\n')
    with pytest.raises(ConfigError, match="retention.pending"):
        load_settings(tmp_path / "settings.toml")
