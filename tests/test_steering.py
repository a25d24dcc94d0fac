"""The Python API for seeing and steering tasks (``Roost.list_tasks``, ``cancel``, ``retry``,
``redrive``, ``purge``, ``workers``, ``tweets``) on a real SQLite file: what a caller gets
back, what the store holds afterwards, and the error that names a bad argument."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from roost.core import (
    NotCancellable,
    NotFound,
    NotRetryable,
    Roost,
    Task,
    ValidationFailed,
    hookimpl,
)
from roost.core.models import TaskStatus, WorkerInfo, utcnow
from roost.core.pages import encode
from steerkit import enqueue, save_tweets, tasks_in

FAILED, DONE, CANCELLED = TaskStatus.FAILED, TaskStatus.DONE, TaskStatus.CANCELLED
MakeRoost = Callable[..., Roost]


@pytest.fixture
def roost(make_roost: MakeRoost) -> Roost:
    return make_roost()


def stored(roost: Roost, task_id: str) -> Task:
    task = roost.store.sync.get(task_id)
    assert task is not None, f"task {task_id} is gone"
    return task


async def all_pages(roost: Roost, **kw: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = await roost.list_tasks(cursor=cursor, **kw)
        pages.append([t.id for t in page.tasks])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_list_tasks_pages_newest_first_and_filters(roost: Roost) -> None:
    pending = enqueue(roost, 4)
    failed = tasks_in(roost, 3, FAILED)
    newest_first = list(reversed(pending + failed))
    assert await all_pages(roost, limit=3) == [
        newest_first[:3],
        newest_first[3:6],
        newest_first[6:],
    ]
    assert await all_pages(roost, limit=7) == [newest_first]  # exactly full: no empty next page
    assert await all_pages(roost, status="FAILED") == [list(reversed(failed))]
    assert await all_pages(roost, status=[FAILED, TaskStatus.PENDING]) == [newest_first]
    assert await all_pages(roost, status="PENDING,FAILED", type="ACCOUNT") == [[]]
    page = await roost.list_tasks(status=FAILED, limit=1)
    assert page.tasks[0].last_error == "boom" and page.tasks[0].status == FAILED


async def test_paging_is_stable_while_tasks_are_enqueued(roost: Roost) -> None:
    first = enqueue(roost, 5)
    page = await roost.list_tasks(limit=2)
    enqueue(roost, 3)  # newer than everything listed: they belong before page 1, not on page 2
    rest = await roost.list_tasks(limit=10, cursor=page.next_cursor)
    assert [t.id for t in page.tasks + rest.tasks] == list(reversed(first))
    assert rest.next_cursor is None


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"status": "DONEE"}, "status: 'DONEE' is not a task status"),
        ({"status": "FAILED,"}, "status: '' is not a task status"),
        ({"status": 7}, "status: 7 is not a task status"),
        ({"type": "search"}, "type: 'search' is not a task type name"),
        ({"limit": 0}, "limit: must be an integer from 1 to 500 (got 0)"),
        ({"limit": 501}, "limit: must be an integer from 1 to 500 (got 501)"),
        ({"limit": True}, "limit: must be an integer from 1 to 500 (got True)"),
        ({"limit": "5"}, "limit: must be an integer from 1 to 500 (got '5')"),
        ({"cursor": "not-ours"}, "cursor: 'not-ours' is not a cursor roost made"),
        ({"cursor": "e30"}, "cursor: this cursor is not one of the task list"),  # base64 of {}
    ],
)
async def test_a_bad_list_argument_is_refused_by_its_name(
    roost: Roost, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await roost.list_tasks(**kwargs)
    assert str(caught.value).startswith(named)


async def test_a_tweets_cursor_is_not_a_task_list_cursor_nor_another_tasks(roost: Roost) -> None:
    a, b = enqueue(roost, 2)
    save_tweets(roost, a, ["1", "2", "3"])
    page = await roost.tweets(a, limit=1)
    assert page.next_cursor is not None
    with pytest.raises(ValidationFailed, match="^cursor: this cursor is not one of the task list"):
        await roost.list_tasks(cursor=page.next_cursor)
    with pytest.raises(
        ValidationFailed, match=f"^cursor: this cursor is not one of the tweets of task {b}"
    ):
        await roost.tweets(b, cursor=page.next_cursor)
    tasks_page = await roost.list_tasks(limit=1)
    with pytest.raises(ValidationFailed, match="^cursor: this cursor is not one of the tweets"):
        await roost.tweets(a, cursor=tasks_page.next_cursor)


async def test_an_edited_tweets_cursor_is_refused_not_a_crash(roost: Roost) -> None:
    (tid,) = enqueue(roost, 1)
    save_tweets(roost, tid, ["1", "2"])
    edited = encode("records", c="tweets", t=tid, after="not-a-position")
    with pytest.raises(ValidationFailed, match="^cursor: this cursor is damaged"):
        await roost.tweets(tid, cursor=edited)


async def test_tweets_come_in_the_order_found_a_page_at_a_time(roost: Roost) -> None:
    (task,) = enqueue(roost, 1)
    (other,) = enqueue(roost, 1)
    save_tweets(roost, task, ["30", "10"])
    save_tweets(roost, other, ["10", "99"])
    save_tweets(roost, task, ["20"])
    seen, cursor = [], None
    while True:
        page = await roost.tweets(task, limit=2, cursor=cursor)
        seen += page.records
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [r["id"] for r in seen] == ["30", "10", "20"]
    assert sorted(seen[1]["taskIds"]) == sorted([task, other])
    with pytest.raises(NotFound, match=f"no task with id {'a' * 24}"):
        await roost.tweets("a" * 24)
    with pytest.raises(ValidationFailed, match="^limit: must be an integer from 1 to 1000"):
        await roost.tweets(task, limit=1001)


class Cancelled:
    def __init__(self) -> None:
        self.seen: list[Task] = []

    @hookimpl
    def task_cancelled(self, task: Task) -> None:
        self.seen.append(task)


async def test_cancel_of_a_pending_task_is_at_once_and_fires_task_cancelled(
    make_settings: Callable[..., Any],
) -> None:
    listener = Cancelled()
    roost = Roost.create(make_settings(), plugins=[listener])
    await roost.start()
    (tid,) = enqueue(roost, 1)
    task = await roost.cancel(tid)
    assert task.status == CANCELLED and task.finished_at is not None
    assert [t.id for t in listener.seen] == [tid]
    stored = await roost.store.get(tid)
    assert stored is not None and stored.status == CANCELLED
    with pytest.raises(NotCancellable, match=f"task {tid} is CANCELLED: only PENDING or RUNNING"):
        await roost.cancel(tid)
    assert len(listener.seen) == 1
    await roost.close()


async def test_cancel_of_a_running_task_asks_its_worker(roost: Roost) -> None:
    (tid,) = tasks_in(roost, 1, TaskStatus.RUNNING)
    task = await roost.cancel(tid)
    assert task.status == TaskStatus.RUNNING and task.cancel_requested
    assert roost.store.sync.cancel_requested([tid]) == {tid}


async def test_cancel_and_retry_say_what_is_wrong(roost: Roost) -> None:
    (done,) = tasks_in(roost, 1, DONE)
    (pending,) = enqueue(roost, 1)
    with pytest.raises(NotCancellable, match=f"task {done} is DONE") as caught:
        await roost.cancel(done)
    assert caught.value.status == "DONE"
    with pytest.raises(NotRetryable, match=f"task {pending} is PENDING: only FAILED or CANCELLED"):
        await roost.retry(pending)
    for call in (roost.cancel, roost.retry):
        with pytest.raises(NotFound, match=f"no task with id {'b' * 24}"):
            await call("b" * 24)
        with pytest.raises(ValidationFailed, match="^task_id: a task id is 24 hexadecimal"):
            await call("nope")


async def test_retry_requeues_now_with_attempts_reset_and_the_error_kept(roost: Roost) -> None:
    (tid,) = tasks_in(roost, 1, FAILED)
    task = await roost.retry(tid)
    assert (task.status, task.attempts, task.finished_at) == (TaskStatus.PENDING, 0, None)
    assert [e.error for e in task.errors] == ["boom"]
    assert [t.id for t in roost.store.sync.claim("w", None, 5, 60)] == [tid]


async def test_redrive_requeues_in_chunks_and_reports_progress(
    roost: Roost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("roost.core.steering.CHUNK", 2)
    failed = tasks_in(roost, 5, FAILED)
    cancelled = tasks_in(roost, 2, CANCELLED)
    (done,) = tasks_in(roost, 1, DONE)
    heard: list[int] = []
    assert await roost.redrive(progress=heard.append) == 5
    assert heard == [2, 4, 5]
    stats = await roost.store.stats()
    assert (stats.pending, stats.failed, stats.cancelled, stats.done) == (5, 0, 2, 1)
    assert all(stored(roost, t).attempts == 0 for t in failed)
    assert await roost.redrive(status="CANCELLED", limit=1) == 1
    assert await roost.redrive(status=[CANCELLED], type="ACCOUNT") == 0
    assert await roost.redrive(status="CANCELLED") == 1
    assert {stored(roost, t).status for t in cancelled} == {TaskStatus.PENDING}
    with pytest.raises(
        ValidationFailed, match=r"^status: must be FAILED, CANCELLED here \(got DONE\)"
    ):
        await roost.redrive(status="DONE")
    with pytest.raises(ValidationFailed, match="^limit: must be an integer of 1 or more"):
        await roost.redrive(limit=0)
    assert stored(roost, done).status == DONE


async def test_purge_deletes_old_finished_tasks_only_and_keeps_their_tweets(roost: Roost) -> None:
    done = tasks_in(roost, 3, DONE)
    failed = tasks_in(roost, 2, FAILED)
    pending = enqueue(roost, 1)
    save_tweets(roost, done[0], ["1", "2"])
    assert await roost.purge("DONE", older_than="7d") == 0  # they finished just now
    assert await roost.purge(DONE, older_than=timedelta(hours=1)) == 0
    soon = datetime.now(UTC) + timedelta(seconds=5)  # "finished before": all of them, surely
    assert await roost.purge("DONE", older_than=soon) == 3
    assert await roost.purge("FAILED", older_than=soon, type="ACCOUNT") == 0
    assert await roost.purge("FAILED,CANCELLED", older_than=soon.isoformat()) == 2
    assert all([await roost.store.get(t) is None for t in done + failed])
    assert (await roost.store.get(pending[0])) is not None
    assert len(roost.store.sync.records.find("tweets")) == 2


@pytest.mark.parametrize(
    ("status", "older_than", "named"),
    [
        ("PENDING", 0, r"status: must be DONE, FAILED, CANCELLED here \(got PENDING\)"),
        ("DONE,RUNNING", 0, r"status: must be DONE, FAILED, CANCELLED here \(got RUNNING\)"),
        (None, 0, "status: give the finished statuses to purge"),
        ("DONE", "7 days", "older_than: '7 days' is not a duration"),
        ("DONE", -1, "older_than: -1 is not a duration: it must be 0 or more"),
        ("DONE", datetime(2026, 1, 1), "older_than: a time must have a timezone"),
        ("DONE", "2026-01-01T00:00:00", "older_than: '2026-01-01T00:00:00': must be an ISO-8601"),
        ("DONE", [1], "older_than: list is not a duration"),
    ],
)
async def test_purge_refuses_what_it_must_not_do_and_deletes_nothing(
    roost: Roost, status: Any, older_than: Any, named: str
) -> None:
    tasks_in(roost, 1, DONE)
    tasks_in(roost, 1, TaskStatus.RUNNING)
    enqueue(roost, 1)
    with pytest.raises(ValidationFailed, match="^" + named):
        await roost.purge(status, older_than)
    assert (await roost.store.stats()).total == 3


async def test_workers_lists_the_live_ones(roost: Roost) -> None:
    now = utcnow()

    def info(worker_id: str, seen: datetime) -> WorkerInfo:
        return WorkerInfo(
            worker_id, "host-a", 42, seen, seen, seen + timedelta(seconds=30), True, 1, 3, None
        )

    roost.store.sync.beat_worker(info("worker-live", now))
    roost.store.sync.beat_worker(info("worker-dead", now - timedelta(minutes=5)))
    found = await roost.workers()
    assert [w.worker_id for w in found] == ["worker-live"]
    assert found[0].to_json()["maxConcurrent"] == 3
