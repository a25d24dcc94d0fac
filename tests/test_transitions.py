"""Each fenced change of ``TaskStore.apply``, on every engine, and the rescuer end to end.

Every change after a claim names its run by ``(task_id, lease_id)``: it is applied while
that run holds the task, and refused once the task was recovered and claimed again (the
stale run's write must not touch the newer run). The rescuer's changes apply only while
the lease is still expired. Recovery is an error charged as an attempt: it follows the
retry policy and fires the task events, like any other failure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from roost.core import hookimpl
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.models import NewTask, Task, TaskStatus, utcnow
from roost.core.settings import load_settings
from roost.core.store import Checkpoint, Done, Fail, Release, Retry, TaskStore, Transition
from roost.plugins.api.app import make_app
from store_urls import store_url
from storekit import W, add, get, release

Client = Callable[..., Awaitable[TestClient]]


def applied_only_under_its_lease(
    store: TaskStore, change: Callable[[str, str], Transition]
) -> Task:
    """Run ``change(task_id, lease_id)`` on a task whose first run lost it (recovered, claimed
    again): refused under the stale lease (the task untouched), applied under the current
    one. The task as it is then."""
    tid = add(store)[0]
    [first] = store.claim(W, None, 1, 60)
    assert release(store, tid, first.lease_id, utcnow())  # as recovery would give it back
    [current] = store.claim("worker-2", None, 1, 60)
    assert current.id == tid and current.lease_id not in (None, first.lease_id)
    assert store.apply([change(tid, first.lease_id or "")]) == [False]
    untouched = get(store, tid)
    assert (untouched.status, untouched.lease_id, untouched.attempts) == (
        TaskStatus.RUNNING,
        current.lease_id,
        1,
    )
    assert (untouched.result, untouched.last_error, untouched.checkpoint) == (None, None, None)
    assert store.apply([change(tid, current.lease_id or "")]) == [True]
    return get(store, tid)


def test_done_is_fenced(store: TaskStore) -> None:
    task = applied_only_under_its_lease(store, lambda t, lease: Done(t, lease, {"n": 1}))
    assert (task.status, task.result, task.lease_expires_at) == (TaskStatus.DONE, {"n": 1}, None)
    assert task.finished_at is not None


@pytest.mark.parametrize("charge", [True, False], ids=["charged", "uncharged"])
def test_retry_is_fenced_and_charges_the_attempt_or_not(store: TaskStore, charge: bool) -> None:
    later = utcnow().replace(microsecond=0) + timedelta(minutes=5)
    task = applied_only_under_its_lease(
        store, lambda t, lease: Retry(t, lease, later, "boom", charge)
    )
    assert (task.status, task.next_run_at, task.last_error) == (TaskStatus.PENDING, later, "boom")
    assert task.attempts == (1 if charge else 0) and task.lease_id is None
    assert store.claim(W, None, 1, 60) == []  # not due before run_at


def test_fail_is_fenced(store: TaskStore) -> None:
    task = applied_only_under_its_lease(store, lambda t, lease: Fail(t, lease, "PermanentError"))
    assert (task.status, task.last_error) == (TaskStatus.FAILED, "PermanentError")
    assert task.finished_at is not None and store.claim(W, None, 1, 60) == []


def test_release_is_fenced_and_gives_the_attempt_back(store: TaskStore) -> None:
    task = applied_only_under_its_lease(store, Release)
    assert (task.status, task.attempts, task.lease_id) == (TaskStatus.PENDING, 0, None)
    assert [t.id for t in store.claim(W, None, 1, 60)] == [task.id]  # due at once


def test_checkpoint_is_fenced_and_keeps_the_task_running(store: TaskStore) -> None:
    saved = {"cursor": "c2"}
    task = applied_only_under_its_lease(store, lambda t, lease: Checkpoint(t, lease, saved))
    assert (task.status, task.checkpoint) == (TaskStatus.RUNNING, saved)
    assert task.lease_id is not None and store.apply([Done(task.id, task.lease_id)]) == [True]


@pytest.mark.parametrize("kind", ["retry", "fail"])
def test_a_rescuers_change_applies_only_while_the_lease_is_still_expired(
    store: TaskStore, kind: str
) -> None:
    add(store, 2)
    expired, alive = store.claim(W, None, 1, -1)[0], store.claim(W, None, 1, 60)[0]
    now = utcnow()

    def change(task: Task) -> Retry | Fail:
        if kind == "retry":
            return Retry(task.id, task.lease_id or "", now, "lease expired", expired_before=now)
        return Fail(task.id, task.lease_id or "", "lease expired", expired_before=now)

    # the live one heartbeated meanwhile: it keeps its task
    assert store.apply([change(expired), change(alive)]) == [True, False]
    assert get(store, alive.id).status == TaskStatus.RUNNING
    wanted = TaskStatus.PENDING if kind == "retry" else TaskStatus.FAILED
    assert get(store, expired.id).status == wanted


# -- the rescuer, end to end: POST /queue/recover on every engine --------------------------
class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, float | None]] = []

    @hookimpl
    def task_retried(self, task: Task, error: str, delay: float) -> None:
        self.events.append(("retried", task.id, error, delay))

    @hookimpl
    def task_failed(self, task: Task, error: str) -> None:
        self.events.append(("failed", task.id, error, None))


@pytest.fixture
def url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with store_url(engine, tmp_path, request) as url:
        yield url


async def test_recovery_follows_the_retry_policy_and_fires_the_task_events(
    aiohttp_client: Client, make_settings: Callable[..., Any], url: str
) -> None:
    listener = Listener()
    retry = {"max_attempts": 2, "strategy": "fixed", "base_delay": 30, "jitter": 0}
    roost = Roost.create(make_settings(store={"url": url}, retry=retry), plugins=[listener])
    api = await aiohttp_client(make_app(roost))
    store = roost.store.sync
    # one with an attempt left; one enqueued with max_attempts=1 (kept though settings say 2)
    left = store.enqueue(NewTask(type="SEARCH", payload={"query": "a"}, max_attempts=2))
    last = store.enqueue(NewTask(type="SEARCH", payload={"query": "b"}, max_attempts=1))
    assert len(store.claim("worker-dead", None, 2, lease=-1)) == 2  # its leases: expired
    before = utcnow()
    body = await (await api.post("/api/v4/twitter/queue/recover")).json()
    assert body == {"ok": True, "data": {"recovered": 2}}
    retried, failed = get(store, left.id), get(store, last.id)
    assert (retried.status, retried.attempts) == (TaskStatus.PENDING, 1)
    assert retried.last_error is not None and retried.last_error.startswith("lease expired")
    wait = (retried.next_run_at - before).total_seconds()
    assert 29 <= wait <= 31, wait  # the policy's delay, not at once
    assert (failed.status, failed.attempts) == (TaskStatus.FAILED, 1)
    assert failed.last_error == retried.last_error
    assert sorted(listener.events) == [
        ("failed", last.id, failed.last_error, None),
        ("retried", left.id, retried.last_error, 30.0),
    ]
    again = await (await api.post("/api/v4/twitter/queue/recover")).json()
    assert again["data"] == {"recovered": 0} and len(listener.events) == 2


def test_roost_recover_rescues_expired_leases_per_the_policy(
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_settings()  # in a fresh folder, no ROOST_* of the caller's
    for key, value in {"STRATEGY": "fixed", "BASE_DELAY": "30", "JITTER": "0"}.items():
        monkeypatch.setenv(f"ROOST_RETRY__{key}", value)
    assert main(["worker", "--burst"]) == 0  # creates the database
    roost = Roost.create(load_settings(None))
    store = roost.store.sync
    try:
        task = store.enqueue(NewTask(type="SEARCH", payload={"query": "x"}))
        assert len(store.claim("worker-dead", None, 1, lease=-1)) == 1
        capsys.readouterr()
        before = utcnow()
        assert main(["recover"]) == 0
        assert json.loads(capsys.readouterr().out) == {"recovered": 1}
        got = get(store, task.id)
        assert (got.status, got.attempts) == (TaskStatus.PENDING, 1)
        assert got.last_error is not None and got.last_error.startswith("lease expired")
        assert 29 <= (got.next_run_at - before).total_seconds() <= 31
    finally:
        roost.store.close()
