"""Retry policies through a real worker and store: which policy applies, and the backoff.

The pure policy is unit-tested in ``test_retry.py``; here a failing handler runs in a real
worker on a SQLite file, and each test reads what a user would: the stored task (status,
attempts, ``next_run_at``, ``last_error``) and the task event hooks. A task's ``next_run_at``
is the failure time plus the delay; the failure happened between ``before`` and ``after``
(taken around the worker's run), so the delay the store shows is bounded on both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.models import NewTask, Task, TaskStatus, utcnow
from roost.core.retry import RetryPolicy
from roost.core.worker import Worker
from scripted import Scripted

SLACK = timedelta(milliseconds=10)  # stored times are whole milliseconds
WORKER = {"poll_interval": 0.01, "max_poll_interval": 0.05}


class Run:
    """One burst of a worker, with the instants before and after it."""

    def __init__(self, roost: Roost) -> None:
        self.roost = roost
        self.before = self.after = utcnow()

    async def burst(self) -> Run:
        self.before = utcnow()
        await asyncio.wait_for(Worker(self.roost).run(burst=True), 20)
        self.after = utcnow()
        return self

    def task(self, task_id: str) -> Task:
        task = self.roost.store.sync.get(task_id)
        assert task is not None
        return task

    def assert_due_in(self, task_id: str, low: float, high: float) -> None:
        """The task runs again ``low``..``high`` seconds after the failure."""
        due = self.task(task_id).next_run_at
        earliest = self.before + timedelta(seconds=low) - SLACK
        latest = self.after + timedelta(seconds=high) + SLACK
        assert earliest <= due <= latest, (
            f"next run {due:%H:%M:%S.%f} is not {low:g}..{high:g}s after a failure "
            f"between {self.before:%H:%M:%S.%f} and {self.after:%H:%M:%S.%f}"
        )


def make(make_settings: Callable[..., Any], plugin: Scripted, **retry: Any) -> Roost:
    return Roost.create(make_settings(worker=WORKER, retry=retry), plugins=[plugin])


async def enqueue(roost: Roost, *script: str, type_name: str = "JOB") -> str:
    return (await roost.enqueue(type_name, {"script": list(script)})).id


def delays(plugin: Scripted, task_id: str) -> list[float]:
    return [e.delay for e in plugin.of(task_id, "retried") if e.delay is not None]


# charged:0 retries at once and counts the attempt: it brings a task to a later attempt
@pytest.mark.parametrize(
    ("script", "attempt", "low", "high"),
    [
        (["boom"], 1, 9, 11),  # 10 s ±10 %
        (["charged:0", "charged:0", "boom"], 3, 81, 99),  # 10 × 3² = 90 s ±10 %
        (["charged:0"] * 4 + ["boom"], 5, 180, 220),  # 810 s, capped at 200, ±10 %
    ],
)
async def test_exponential_backoff_with_jitter_through_the_worker(
    make_settings: Callable[..., Any], script: list[str], attempt: int, low: float, high: float
) -> None:
    plugin = Scripted(JOB={})  # no policy of its own: the settings' [retry] applies
    roost = make(
        make_settings,
        plugin,
        strategy="exponential",
        base_delay=10,
        factor=3,
        max_delay=200,
        jitter=0.1,
        max_attempts=6,
    )
    await roost.start()
    tid = await enqueue(roost, *script)
    run = await Run(roost).burst()
    task = run.task(tid)
    assert (task.status, task.attempts, task.last_error) == (
        TaskStatus.PENDING,
        attempt,
        "RuntimeError: boom",
    )
    run.assert_due_in(tid, low, high)
    last = plugin.of(tid, "retried")[-1]
    assert last.attempts == attempt and last.error == "RuntimeError: boom"
    assert last.delay is not None and low <= last.delay <= high
    run.assert_due_in(tid, last.delay, last.delay)  # the delay the hook heard is the one stored
    await roost.close()


async def test_jitter_spreads_the_retries_of_tasks_that_failed_together(
    make_settings: Callable[..., Any],
) -> None:
    plugin = Scripted(JOB={})
    roost = make(make_settings, plugin, strategy="exponential", base_delay=100, jitter=0.5)
    await roost.start()
    ids = [await enqueue(roost, "boom") for _ in range(8)]
    run = await Run(roost).burst()
    for tid in ids:
        run.assert_due_in(tid, 50, 150)
    heard = [delays(plugin, tid)[0] for tid in ids]
    assert all(50 <= d <= 150 for d in heard) and len(set(heard)) == len(heard)
    # not back in lockstep: they come back further apart than they failed
    due = [run.task(tid).next_run_at for tid in ids]
    assert max(due) - min(due) > run.after - run.before
    await roost.close()


@pytest.mark.parametrize(
    ("script", "attempt", "delay"), [(["boom"], 1, 60), (["charged:0", "boom"], 2, 120)]
)
async def test_linear_backoff_is_the_seeds_60_seconds_times_attempts(
    make_settings: Callable[..., Any], script: list[str], attempt: int, delay: float
) -> None:
    plugin = Scripted(JOB={})
    roost = make(make_settings, plugin, strategy="linear")  # base_delay 60 by default
    await roost.start()
    tid = await enqueue(roost, *script)
    run = await Run(roost).burst()
    assert (run.task(tid).status, run.task(tid).attempts) == (TaskStatus.PENDING, attempt)
    run.assert_due_in(tid, delay, delay)  # no jitter
    assert delays(plugin, tid)[-1] == delay
    await roost.close()


async def test_retry_after_waits_as_told_without_charging_the_attempt(
    make_settings: Callable[..., Any],
) -> None:
    plugin = Scripted(JOB={"retry": RetryPolicy(max_attempts=1)})
    roost = make(make_settings, plugin)
    await roost.start()
    tid = await enqueue(roost, "after:900")
    run = await Run(roost).burst()
    task = run.task(tid)
    # one attempt allowed, and yet it runs again: waiting out a rate limit is not a failure
    assert (task.status, task.attempts) == (TaskStatus.PENDING, 0)
    assert task.last_error == "RetryAfter: rate limited"
    run.assert_due_in(tid, 900, 900)
    assert plugin.names(tid) == ["claimed", "retried"] and delays(plugin, tid) == [900]
    await roost.close()


async def test_uncharged_runs_never_use_up_the_attempts(make_settings: Callable[..., Any]) -> None:
    plugin = Scripted(JOB={"retry": RetryPolicy(max_attempts=1)})
    roost = make(make_settings, plugin)
    await roost.start()
    tid = await enqueue(roost, "after:0", "after:0", "after:0", "boom")
    run = await Run(roost).burst()
    task = run.task(tid)
    assert plugin.seen_attempts[tid] == [1, 1, 1, 1]  # every run is the first attempt
    assert (task.status, task.attempts, task.last_error) == (
        TaskStatus.FAILED,
        1,
        "RuntimeError: boom",
    )
    assert plugin.names(tid) == ["claimed", "retried"] * 3 + ["claimed", "failed"]
    await roost.close()


async def test_charged_retry_after_counts_and_fails_when_attempts_run_out(
    make_settings: Callable[..., Any],
) -> None:
    plugin = Scripted(JOB={"retry": RetryPolicy(max_attempts=2)})
    roost = make(make_settings, plugin)
    await roost.start()
    tid = await enqueue(roost, "charged:0")
    run = await Run(roost).burst()
    task = run.task(tid)
    assert plugin.seen_attempts[tid] == [1, 2]
    assert (task.status, task.attempts) == (TaskStatus.FAILED, 2)
    assert plugin.names(tid) == ["claimed", "retried", "claimed", "failed"]
    await roost.close()


async def test_permanent_error_fails_at_once_with_attempts_left(
    make_settings: Callable[..., Any],
) -> None:
    plugin = Scripted(JOB={"retry": RetryPolicy(max_attempts=5, base_delay=0)})
    roost = make(make_settings, plugin)
    await roost.start()
    tid = await enqueue(roost, "permanent")
    run = await Run(roost).burst()
    task = run.task(tid)
    assert (task.status, task.attempts, task.max_attempts) == (TaskStatus.FAILED, 1, 5)
    assert task.last_error == "PermanentError: no such user"
    assert task.finished_at is not None and run.before - SLACK <= task.finished_at
    assert plugin.names(tid) == ["claimed", "failed"]
    assert [e.error for e in plugin.of(tid, "failed")] == ["PermanentError: no such user"]
    await roost.close()


async def test_a_task_types_own_policy_wins_over_the_settings(
    make_settings: Callable[..., Any],
) -> None:
    own = RetryPolicy(max_attempts=2, strategy="linear", base_delay=7)
    plugin = Scripted(OWN={"retry": own}, PLAIN={})
    roost = make(make_settings, plugin, strategy="fixed", base_delay=1000, max_attempts=4)
    await roost.start()
    own_once = await enqueue(roost, "boom", type_name="OWN")
    plain_once = await enqueue(roost, "boom", type_name="PLAIN")
    own_twice = await enqueue(roost, "charged:0", "boom", type_name="OWN")
    plain_twice = await enqueue(roost, "charged:0", "boom", type_name="PLAIN")
    run = await Run(roost).burst()
    assert run.task(own_once).max_attempts == 2 and run.task(plain_once).max_attempts == 4
    run.assert_due_in(own_once, 7, 7)  # linear, 7 s × 1
    run.assert_due_in(plain_once, 1000, 1000)  # the settings' fixed 1000 s
    # the second attempt: the end of OWN's two, but PLAIN has four
    assert run.task(own_twice).status == TaskStatus.FAILED
    assert (run.task(plain_twice).status, run.task(plain_twice).attempts) == (
        TaskStatus.PENDING,
        2,
    )
    run.assert_due_in(plain_twice, 1000, 1000)
    assert plugin.names(own_twice)[-1] == "failed" and plugin.names(plain_twice)[-1] == "retried"
    await roost.close()


async def test_a_task_keeps_the_attempts_it_was_enqueued_with(
    make_settings: Callable[..., Any],
) -> None:
    """Settings changed between enqueue and run: the task's own ``max_attempts`` decides how
    often it runs; the worker's policy decides how long it waits."""
    producer = make(make_settings, Scripted(JOB={}), max_attempts=1)
    await producer.start()
    one = await enqueue(producer, "boom")  # stored with max_attempts = 1
    await producer.close()
    five = make(make_settings, Scripted(JOB={}), max_attempts=5)
    await five.start()
    many = await enqueue(five, "boom")  # stored with max_attempts = 5
    await five.close()

    plugin = Scripted(JOB={})
    worker_side = make(make_settings, plugin, max_attempts=3, strategy="fixed", base_delay=300)
    await worker_side.start()
    run = await Run(worker_side).burst()
    assert (run.task(one).status, run.task(one).attempts) == (TaskStatus.FAILED, 1)
    assert (run.task(many).status, run.task(many).max_attempts) == (TaskStatus.PENDING, 5)
    run.assert_due_in(many, 300, 300)  # the worker's policy: fixed 300 s
    assert plugin.names(one) == ["claimed", "failed"]
    assert plugin.names(many) == ["claimed", "retried"]
    await worker_side.close()


async def test_a_task_types_policy_keeps_the_attempts_the_task_was_stored_with(
    make_settings: Callable[..., Any],
) -> None:
    """A task stored under an older version of its type's policy (4 attempts, now 2)."""
    plugin = Scripted(JOB={"retry": RetryPolicy(max_attempts=2, strategy="fixed", base_delay=5)})
    roost = make(make_settings, plugin)
    await roost.start()
    payload = {"script": ["charged:0", "boom"]}
    old = roost.store.sync.enqueue(NewTask(type="JOB", payload=payload, max_attempts=4))
    new = await roost.enqueue("JOB", payload)
    run = await Run(roost).burst()
    assert (run.task(old.id).status, run.task(old.id).attempts) == (TaskStatus.PENDING, 2)
    run.assert_due_in(old.id, 5, 5)
    assert (run.task(new.id).status, run.task(new.id).max_attempts) == (TaskStatus.FAILED, 2)
    await roost.close()
