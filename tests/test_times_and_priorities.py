"""One rule for a task's priority and run-at time, the same words on every entry point.

The Python API, the CLI and HTTP refuse the same values with the same message (each names
its own field); the edges of the time range are stored and read back exactly on every
engine; times render with four-digit years; a handler's far-off RetryAfter cannot push a
task past what the engines store.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.errors import RetryAfter, ValidationFailed
from roost.core.hookspecs import hookimpl
from roost.core.limits import RUN_AT_PATTERN, parse_run_at
from roost.core.models import TaskStatus, iso
from roost.core.stores.sqlite.rows import from_ms, ms
from roost.core.tasktypes import TaskContext, TaskType
from roost.core.worker import Worker
from roost.plugins.api.app import make_app
from store_urls import store_url

P = "/api/v4/twitter"
Client = Callable[..., Awaitable[TestClient]]
RANGE = "must be dated from 1970-01-01 to 9999-12-30 in its own timezone"
WITH_ZONE = "must be an ISO-8601 time with a timezone, e.g. 2026-01-31T12:00:00Z"
PRIORITY = "must be an integer from -1000 to 1000"


@pytest.fixture
def url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with store_url(engine, tmp_path, request) as found:
        yield found


async def refusals(
    aiohttp_client: Client,
    roost: Roost,
    capsys: pytest.CaptureFixture[str],
    python: Callable[[], Awaitable[Any]],
    cli_args: list[str],
    body: dict[str, Any],
) -> tuple[str, str, str]:
    """What the Python API, the CLI and HTTP each say of one bad value (the whole message)."""
    with pytest.raises(ValidationFailed) as refused:
        await python()
    assert main(["enqueue", "search", "x", *cli_args]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    client = await aiohttp_client(make_app(roost))
    resp = await client.post(f"{P}/tasks/search", json={"query": "x", **body})
    assert resp.status == 400, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_payload"
    assert (await roost.store.stats()).total == 0  # nothing stored by any of the three
    return str(refused.value), err.strip(), error["message"]


BAD_TIMES = [
    # (case, text, what every entry point says after the field name)
    (
        "before year 1 in UTC",
        "0001-01-01T00:00:00+14:00",
        f"{RANGE} (got 0001-01-01T00:00:00+14:00)",
    ),
    (
        "after year 9999 in UTC",
        "9999-12-31T23:59:59-14:00",
        f"{RANGE} (got 9999-12-31T23:59:59-14:00)",
    ),
    ("before 1970", "1969-12-31T23:59:59+00:00", f"{RANGE} (got 1969-12-31T23:59:59+00:00)"),
    ("dated 9999-12-31", "9999-12-31T00:00:00+00:00", f"{RANGE} (got 9999-12-31T00:00:00+00:00)"),
    ("no timezone", "2030-01-01T00:00:00", WITH_ZONE),
]


@pytest.mark.parametrize(("case", "text", "problem"), BAD_TIMES, ids=[c[0] for c in BAD_TIMES])
async def test_a_bad_run_at_is_refused_alike_by_python_cli_and_http(
    aiohttp_client: Client,
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    case: str,
    text: str,
    problem: str,
) -> None:
    monkeypatch.setenv("ROOST_STORE__URL", url)
    roost = Roost.create(make_settings(store={"url": url}))
    await roost.start()
    when = datetime.fromisoformat(text)
    with pytest.raises(ValidationFailed, match="^run_at: "):
        roost.new_tasks("SEARCH", [{"query": "a"}, {"query": "b"}], run_at=when)
    python, cli, http = await refusals(
        aiohttp_client,
        roost,
        capsys,
        lambda: roost.enqueue("SEARCH", {"query": "x"}, run_at=when),
        ["--run-at", text],
        {"runAt": text},
    )
    assert python == f"run_at: {problem}"
    assert cli == f"roost: error: --run-at: {problem}"
    assert http == f"SEARCH: runAt: {problem}"


@pytest.mark.parametrize("value", [99999999999999999999, 5000, -1001])
async def test_a_priority_out_of_range_is_refused_alike_by_python_cli_and_http(
    aiohttp_client: Client,
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    value: int,
) -> None:
    monkeypatch.setenv("ROOST_STORE__URL", url)
    roost = Roost.create(make_settings(store={"url": url}))
    await roost.start()
    with pytest.raises(ValidationFailed, match="^priority: "):
        roost.new_tasks("SEARCH", [{"query": "a"}], priority=value)
    python, cli, http = await refusals(
        aiohttp_client,
        roost,
        capsys,
        lambda: roost.enqueue("SEARCH", {"query": "x"}, priority=value),
        ["--priority", str(value)],
        {"priority": value},
    )
    problem = f"{PRIORITY} (got {value})"
    assert python == f"priority: {problem}"
    assert cli == f"roost: error: --priority: {problem}"
    assert http == f"SEARCH: priority: {problem}"


def test_the_cli_says_what_a_priority_must_be_in_one_line(
    make_settings: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enqueue", "search", "x", "--priority", "high"]) == 2
    assert capsys.readouterr().err == f"roost: error: --priority: {PRIORITY} (got 'high')\n"


async def test_the_edges_of_the_range_are_stored_and_read_back_to_the_millisecond(
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
) -> None:
    monkeypatch.setenv("ROOST_STORE__URL", url)
    roost = Roost.create(make_settings(store={"url": url}))
    await roost.start()
    east, west = (
        timezone(timedelta(hours=23, minutes=59)),
        timezone(-timedelta(hours=23, minutes=59)),
    )
    times = {  # the nextRunAt shown: each one's UTC value
        "1969-12-31T00:01:00.000Z": datetime(1970, 1, 1, tzinfo=east),
        # a time whose float timestamp * 1000 is a hair under its milliseconds
        "2004-06-19T02:52:05.034Z": datetime(2004, 6, 19, 2, 52, 5, 34000, tzinfo=UTC),
        "9999-12-31T23:58:59.999Z": datetime(9999, 12, 30, 23, 59, 59, 999000, tzinfo=west),
    }
    ids = {}
    for shown, when in times.items():
        ids[shown] = (await roost.enqueue("SEARCH", {"query": "x"}, run_at=when)).id
    for shown, when in times.items():
        task = await roost.store.get(ids[shown])
        assert task is not None and task.next_run_at == when and task.unreadable is None
        assert main(["task", ids[shown]]) == 0
        assert json.loads(capsys.readouterr().out)["nextRunAt"] == shown
    assert main(["enqueue", "search", "y", "--run-at", "9999-12-30T23:59:59.999-23:59"]) == 0
    capsys.readouterr()
    claimed = await roost.store.claim("w", None, 10, 60) or []
    assert sorted(iso(t.next_run_at) or "" for t in claimed) == [
        "1969-12-31T00:01:00.000Z",
        "2004-06-19T02:52:05.034Z",
    ]
    await roost.close()


async def test_the_openapi_pattern_for_run_at_is_exactly_the_rule(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    """The document must not promise what the server refuses nor forbid what it takes
    (schemathesis checks both): its pattern and the rule agree on every edge."""
    client = await aiohttp_client(make_app(Roost.create(make_settings())))
    doc = await (await client.get("/api/v4/openapi.json")).json()
    found = json.dumps(doc)
    pattern = re.compile(RUN_AT_PATTERN)
    assert json.dumps(RUN_AT_PATTERN) in found
    years = ["0001", "1969", "1970", "1971", "2026", "9998", "9999"]
    days = ["01-01", "06-15", "12-30", "12-31"]
    times = ["00:00:00", "12:30:00.5", "23:59:59.999"]
    offsets = ["Z", "+00:00", "-00:00", "+23:59", "-23:59", "+01:00", "-01:00"]
    for year, day, time, offset in itertools.product(years, days, times, offsets):
        text = f"{year}-{day}T{time}{offset}"
        try:
            when = parse_run_at(text, "runAt")
        except ValidationFailed:
            when = None
        assert (pattern.search(text) is not None) == (when is not None), text
        if when is not None:  # and what is taken, the engines can hold
            assert from_ms(ms(when)) == when.replace(microsecond=when.microsecond // 1000 * 1000)


def test_iso_renders_every_year_with_four_digits() -> None:
    assert iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    assert iso(datetime(999, 5, 6, 7, 8, 9, 123999, tzinfo=UTC)) == "0999-05-06T07:08:09.123Z"
    assert iso(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == (
        "9999-12-31T23:59:59.999Z"
    )
    plus_two = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 1, 1, 1, 0, 0, 5000, tzinfo=plus_two)) == ("2025-12-31T23:00:00.005Z")
    assert iso(None) is None


class Snooze(BaseModel):
    seconds: str  # text: float("nan") and 1e12 survive the JSON round trip


class Snoozer:
    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        register(TaskType(name="SNOOZE", payload=Snooze, handler=self.handle))

    async def handle(self, ctx: TaskContext, job: Snooze) -> None:
        raise RetryAfter(float(job.seconds), "come back later")


@pytest.mark.parametrize(
    ("seconds", "next_run", "error"),
    [
        ("1e12", "9999-12-31T23:59:59.999Z", "RetryAfter: come back later"),
        ("nan", None, "ValueError: RetryAfter seconds must be a number >= 0 (got nan)"),
    ],
)
async def test_a_retry_after_past_the_range_cannot_stick_a_task(
    make_settings: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    seconds: str,
    next_run: str | None,
    error: str,
) -> None:
    roost = Roost.create(make_settings(worker={"poll_interval": 0.01}), plugins=[Snoozer()])
    await roost.start()
    tid = (await roost.enqueue("SNOOZE", {"seconds": seconds})).id
    with caplog.at_level(logging.WARNING):
        await asyncio.wait_for(Worker(roost).run(burst=True), 20)
    task = await roost.store.get(tid)
    assert task is not None and task.status == TaskStatus.PENDING
    assert task.last_error == error
    if next_run is not None:
        assert iso(task.next_run_at) == next_run
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    await roost.close()
