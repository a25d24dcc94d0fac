"""The steering verbs through ``roost``'s main (as the shell runs it): ``tasks``, ``tweets``,
``cancel``, ``retry``, ``redrive``, ``purge``, ``workers``; what they print, ``--json``, the
progress on stderr and the exit codes (0 ok, 1 not found / not allowed, 2 bad input)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.models import TaskStatus, WorkerInfo, utcnow
from steerkit import enqueue, save_tweets, tasks_in

FAILED, DONE, CANCELLED = TaskStatus.FAILED, TaskStatus.DONE, TaskStatus.CANCELLED
Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def roost(make_roost: Callable[..., Roost]) -> Roost:
    """The database ``roost`` finds in the test's folder (``sqlite:///roost.db``)."""
    return make_roost()


def run(capsys: Capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_tasks_prints_a_table_and_the_next_page(roost: Roost, capsys: Capsys) -> None:
    failed = tasks_in(roost, 2, FAILED)
    pending = enqueue(roost, 1)
    code, out, _ = run(capsys, "tasks", "--limit", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "STATUS", "ATTEMPTS", "AGE", "LAST", "ERROR"]
    assert lines[1].split()[:4] == [pending[0], "SEARCH", "PENDING", "0/3"]
    assert lines[2].split()[:4] + lines[2].split()[-1:] == [
        failed[1],
        "SEARCH",
        "FAILED",
        "1/3",
        "boom",
    ]
    assert lines[3].startswith("next page: roost tasks --cursor ")
    cursor = lines[3].split()[-1]
    code, out, _ = run(capsys, "tasks", "--limit", "2", "--cursor", cursor)
    assert code == 0 and out.splitlines()[1].split()[0] == failed[0]
    assert "next page" not in out


def test_tasks_json_is_what_http_answers_and_filters_in_any_case(
    roost: Roost, capsys: Capsys
) -> None:
    failed = tasks_in(roost, 2, FAILED)
    enqueue(roost, 2)
    code, out, _ = run(capsys, "tasks", "--status", "failed", "--type", "search", "--json")
    page = json.loads(out)
    assert code == 0 and page["nextCursor"] is None
    assert [t["taskId"] for t in page["tasks"]] == list(reversed(failed))
    assert page["tasks"][0] == roost.store.sync.get(failed[1]).to_json()  # type: ignore[union-attr]
    code, out, _ = run(capsys, "tasks", "--status", "CANCELLED")
    assert (code, out) == (0, "no tasks\n")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["tasks", "--limit", "0"], "--limit: must be an integer from 1 to 500 (got 0)"),
        (["tasks", "--status", "DONEE"], "--status: 'DONEE' is not a task status"),
        (["tasks", "--cursor", "xyz"], "--cursor: 'xyz' is not a cursor roost made"),
        (["tweets", "nope"], "TASK_ID: a task id is 24 hexadecimal characters"),
        (["tweets", "a" * 24, "--limit", "5000"], "--limit: must be an integer from 1 to 1000"),
        (["cancel", "12"], "TASK_ID: a task id is 24 hexadecimal characters"),
        (["redrive", "--status", "DONE"], "--status: must be FAILED, CANCELLED here (got DONE)"),
        (
            ["purge", "--status", "PENDING", "--older-than", "1d"],
            "--status: must be DONE, FAILED, CANCELLED here (got PENDING)",
        ),
        (
            ["purge", "--status", "DONE", "--older-than", "soon"],
            "--older-than: 'soon' is not a duration",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_flag_and_changes_nothing(
    roost: Roost, capsys: Capsys, argv: list[str], named: str
) -> None:
    tasks_in(roost, 1, DONE)
    enqueue(roost, 1)
    code, out, err = run(capsys, *argv)
    assert (code, out) == (2, "")
    assert err.startswith(f"roost: error: {named}"), err
    assert len(err.splitlines()) == 1
    assert roost.store.sync.stats().to_json() == {
        "pending": 1,
        "running": 0,
        "done": 1,
        "failed": 0,
        "cancelled": 0,
        "total": 2,
    }


def test_cancel_and_retry_say_what_happened(roost: Roost, capsys: Capsys) -> None:
    (tid,) = enqueue(roost, 1)
    assert run(capsys, "cancel", tid) == (0, f"task {tid}: CANCELLED\n", "")
    code, out, err = run(capsys, "cancel", tid)
    assert (code, out) == (1, "")
    assert (
        err == f"roost: task {tid} is CANCELLED: only PENDING or RUNNING tasks can be cancelled\n"
    )
    code, out, _ = run(capsys, "retry", tid, "--json")
    assert (code, json.loads(out)) == (0, {"taskId": tid, "status": "PENDING"})
    code, _, err = run(capsys, "retry", tid)
    assert code == 1 and f"task {tid} is PENDING: only FAILED or CANCELLED" in err
    (running,) = tasks_in(roost, 1, TaskStatus.RUNNING)
    code, out, _ = run(capsys, "cancel", running)
    assert code == 0 and out.startswith(f"task {running}: RUNNING, cancel requested")
    for verb in ("cancel", "retry", "tweets"):
        assert run(capsys, verb, "f" * 24) == (1, "", f"roost: no task with id {'f' * 24}\n")


def test_redrive_shows_progress_on_stderr(
    roost: Roost, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("roost.core.steering.CHUNK", 2)
    tasks_in(roost, 5, FAILED)
    tasks_in(roost, 1, CANCELLED)
    code, out, err = run(capsys, "redrive")
    assert (code, out) == (0, "requeued 5 tasks\n")
    assert err.splitlines() == [
        "roost: requeued 2 so far...",
        "roost: requeued 4 so far...",
        "roost: requeued 5 so far...",
    ]
    code, out, _ = run(capsys, "redrive", "--status", "cancelled", "--json")
    assert (code, json.loads(out)) == (0, {"requeued": 1})
    assert roost.store.sync.stats().pending == 6


def test_purge_deletes_old_finished_tasks_and_keeps_tweets(roost: Roost, capsys: Capsys) -> None:
    done = tasks_in(roost, 2, DONE)
    save_tweets(roost, done[0], ["1", "2"])
    enqueue(roost, 1)
    assert run(capsys, "purge", "--status", "DONE", "--older-than", "7d") == (
        0,
        "deleted 0 tasks (their tweets stay)\n",
        "",
    )
    soon = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    code, out, _ = run(capsys, "purge", "--status", "done", "--older-than", soon, "--json")
    assert (code, json.loads(out)) == (0, {"deleted": 2})
    assert roost.store.sync.stats().total == 1
    code, out, _ = run(capsys, "tweets", done[0])  # the task is gone; its tweets are not
    assert code == 1
    assert len(roost.store.sync.records.find("tweets")) == 2


def test_tweets_prints_one_line_each_in_the_order_found(roost: Roost, capsys: Capsys) -> None:
    (tid,) = enqueue(roost, 1)
    save_tweets(roost, tid, ["7", "2", "5"])
    code, out, err = run(capsys, "tweets", tid, "--limit", "2")
    assert code == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"id": "7", "text": "tweet 7"},
        {"id": "2", "text": "tweet 2"},
    ]
    assert err.splitlines()[0] == "2 tweets"
    cursor = err.splitlines()[1].split()[-1]
    code, out, _ = run(capsys, "tweets", tid, "--cursor", cursor, "--json")
    page = json.loads(out)
    assert code == 0 and page["nextCursor"] is None
    assert page["tweets"] == [{"id": "5", "text": "tweet 5", "taskIds": [tid]}]


def test_workers_table_and_json(roost: Roost, capsys: Capsys) -> None:
    assert run(capsys, "workers") == (0, "no live workers\n", "")
    now = utcnow()
    info = WorkerInfo(
        "worker-7-1", "box", 7, now, now, now + timedelta(seconds=30), True, 1, 3, None
    )
    roost.store.sync.beat_worker(info)
    code, out, _ = run(capsys, "workers")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["WORKER", "HOST", "PID"]
    assert lines[1].split()[:3] == ["worker-7-1", "box", "7"] and lines[1].split()[-2:] == [
        "1/3",
        "all",
    ]
    code, out, _ = run(capsys, "workers", "--json")
    assert json.loads(out) == {"workers": [info.to_json()]}


@pytest.mark.parametrize(
    "argv",
    [
        ["tasks"],
        ["workers"],
        ["cancel", "a" * 24],
        ["purge", "--status", "DONE", "--older-than", "1d"],
    ],
)
def test_steering_verbs_do_not_create_a_database(
    make_settings: Callable[..., Any], tmp_path: Path, capsys: Capsys, argv: list[str]
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.startswith("roost: error: no task database at ")
    assert not (tmp_path / "roost.db").exists()
