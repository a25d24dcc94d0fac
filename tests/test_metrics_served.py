"""Metrics and logs of real processes, scraped over HTTP and parsed with prometheus-client's
parser: a ``roost serve`` with its worker, and a ``roost worker --metrics-port``; the access
log on, off and in JSON; the worker's summary line; bad settings and a busy port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prom import Samples, parse, value
from roost.core.models import NewTask
from roost.core.stores.sqlite import SQLiteStore
from served import answering, free_port, serve

pytestmark = pytest.mark.slow
P = "/api/v4/twitter"
TOKEN = "tok-s3cret-123456"


def http(url: str, body: Any = None, token: str | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as resp:
        text = resp.read().decode()
    return text if url.endswith("/metrics") else json.loads(text)["data"]


def until(scrape: Callable[[], Samples], done: Callable[[Samples], bool], what: str) -> Samples:
    deadline = time.monotonic() + 30
    while True:
        found = scrape()
        if done(found):
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"/metrics never showed {what}: {found}")
        time.sleep(0.05)


def wait_for_log(log: Path, text: str) -> str:
    deadline = time.monotonic() + 20
    while text not in (content := log.read_text(errors="replace")):
        if time.monotonic() > deadline:
            pytest.fail(f"the log never said {text!r}: {content[-3000:]}")
        time.sleep(0.05)
    return content


def env_for(folder: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env.update(
        ROOST_STORE__URL=f"sqlite:///{folder / 'roost.db'}",
        ROOST_NO_ENTRY_POINTS="1",
        ROOST_RUNTIME__MOCK__LATENCY_MS="0",
        **extra,
    )
    return env


def roost_cmd(folder: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "roost.core.cli", *args],
        cwd=folder,
        env=env_for(folder, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def worker(folder: Path, port: int, **env: str) -> Iterator[Path]:
    """``roost worker --metrics-port port``, until its /metrics answers; stopped after."""
    log = folder / "worker.log"
    with log.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "roost.core.cli", "worker", "--metrics-port", str(port)],
            cwd=folder,
            env=env_for(folder, **env),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    with answering(proc, f"http://127.0.0.1:{port}/metrics", log, "roost worker"):
        yield log


def test_serve_counts_and_logs_what_its_worker_and_api_do(tmp_path: Path) -> None:
    settings = {
        "ROOST_API__TOKEN": TOKEN,
        "ROOST_RUNTIME__MOCK__LATENCY_MS": "0",
        "ROOST_METRICS__QUEUE_CACHE_SECONDS": "0",
        "ROOST_METRICS__SUMMARY_INTERVAL": "0.2",
    }
    with serve(tmp_path, env=settings, worker=True) as served:
        url = served.url + P
        for i in range(3):
            http(f"{url}/tasks/search", {"query": f"needle-{i}"}, TOKEN)
        http(f"{url}/tasks/account", {"username": "unknown_user"}, TOKEN)
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        parked = http(f"{url}/tasks/search", {"query": "parked", "runAt": later}, TOKEN)
        http(f"{url}/tasks/{parked['taskId']}/cancel", {}, TOKEN)

        def scrape() -> Samples:
            return parse(http(served.url + "/metrics", token=TOKEN))

        found = until(
            scrape,
            lambda f: (
                value(f, "roost_tasks_finished_total", type="SEARCH", outcome="done") == 3
                and value(f, "roost_tasks_finished_total", type="ACCOUNT", outcome="failed") == 1
            ),
            "the tasks ended",
        )
        assert value(found, "roost_tasks_enqueued_total", type="SEARCH") == 4
        assert value(found, "roost_tasks_enqueued_total", type="ACCOUNT") == 1
        assert value(found, "roost_tasks_finished_total", type="SEARCH", outcome="cancelled") == 1
        assert value(found, "roost_task_run_seconds_count", type="SEARCH") == 3
        assert value(found, "roost_task_wait_seconds_count", type="ACCOUNT") == 1
        assert value(found, "roost_worker_slots") == 3
        stats = http(f"{url}/queue/stats", token=TOKEN)
        for status in ("pending", "running", "done", "failed", "cancelled"):
            assert (
                sum(
                    value(found, "roost_queue_tasks", type=t, status=status.upper())
                    for t in ("SEARCH", "ACCOUNT")
                )
                == stats[status]
            ), status
        assert stats["done"] == 3 and stats["cancelled"] == 1
        with pytest.raises(urllib.error.HTTPError) as refused:  # the token guards it too
            http(served.url + "/metrics")
        assert refused.value.code == 401
        wait_for_log(served.log, "worker summary")
    log = served.log.read_text()  # the process has stopped: every line is written
    assert "access method=POST path=/api/v4/twitter/tasks/search status=201 ms=" in log
    assert "access method=GET path=/metrics status=401" in log
    assert TOKEN not in log and "needle-0" not in log  # no header, no body
    summary = next(line for line in log.splitlines() if "worker summary" in line)
    assert " INFO " in summary and "done=" in summary and "inflight=" in summary
    failed = next(line for line in log.splitlines() if "task failed" in line)
    assert " INFO " in failed and "type=ACCOUNT" in failed
    assert "task done" not in log  # per-task success lines are DEBUG


@pytest.mark.parametrize("setting", ["false", "json"])
def test_the_access_log_can_be_off_or_json(tmp_path: Path, setting: str) -> None:
    env = (
        {"ROOST_API__ACCESS_LOG": "false"}
        if setting == "false"
        else {"ROOST_API__ACCESS_LOG_FORMAT": "json"}
    )
    with serve(tmp_path, env=env) as served:
        http(f"{served.url}{P}/tasks/search", {"query": "q"})
        http(f"{served.url}{P}/queue/stats")
    log = served.log.read_text()  # the process has stopped: every line is written
    access = [line for line in log.splitlines() if " roost.access " in line]
    if setting == "false":
        assert access == [], log
        return
    fields = [json.loads(line.split(" roost.access ", 1)[1]) for line in access]
    enqueue = next(f for f in fields if f["path"] == "/api/v4/twitter/tasks/search")
    assert enqueue["method"] == "POST" and enqueue["status"] == 201 and enqueue["ms"] >= 0


def test_a_worker_serves_its_own_metrics(tmp_path: Path) -> None:
    store = SQLiteStore(f"sqlite:///{tmp_path / 'roost.db'}")
    store.setup()
    store.enqueue_many(
        [NewTask("SEARCH", {"query": f"q{i}", "limit": 5}, max_attempts=2) for i in range(4)]
    )
    store.close()
    port = free_port()
    failing = {
        "ROOST_RUNTIME__MOCK__FAILURE_RATE": "1",
        "ROOST_RETRY__BASE_DELAY": "0",
        "ROOST_WORKER__MAX_CONCURRENT": "2",
        "ROOST_METRICS__QUEUE_CACHE_SECONDS": "0",
    }
    with worker(tmp_path, port, **failing):

        def scrape() -> Samples:
            return parse(http(f"http://127.0.0.1:{port}/metrics"))

        found = until(
            scrape,
            lambda f: value(f, "roost_tasks_finished_total", type="SEARCH", outcome="failed") == 4,
            "four failed tasks",
        )
        assert value(found, "roost_tasks_finished_total", type="SEARCH", outcome="retried") == 4
        assert value(found, "roost_task_run_seconds_count", type="SEARCH") == 8
        assert value(found, "roost_queue_tasks", type="SEARCH", status="FAILED") == 4
        assert value(found, "roost_worker_slots") == 2
        assert value(found, "roost_worker_inflight") == 0
        busy = roost_cmd(tmp_path, "worker", "--metrics-port", str(port))
    assert busy.returncode == 2, busy.stderr
    assert f"cannot listen on 127.0.0.1:{port} for metrics" in busy.stderr
    assert "--metrics-port" in busy.stderr and "Traceback" not in busy.stderr


def test_a_workers_metrics_need_the_token_when_one_is_set(tmp_path: Path) -> None:
    port = free_port()
    with worker(tmp_path, port, ROOST_API__TOKEN=TOKEN):
        url = f"http://127.0.0.1:{port}/metrics"
        for wrong in (None, "not-the-token"):
            with pytest.raises(urllib.error.HTTPError) as refused:
                http(url, token=wrong)
            assert refused.value.code == 401
            assert refused.value.headers["WWW-Authenticate"] == "Bearer"
        assert value(parse(http(url, token=TOKEN)), "roost_worker_running") == 1


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--metrics-port", "70000"], {}, "--metrics-port: metrics.port"),
        ([], {"ROOST_METRICS__PORT": "nine"}, "ROOST_METRICS__PORT: metrics.port"),
        ([], {"ROOST_METRICS__QUEUE_CACHE_SECONDS": "-1"}, "metrics.queue_cache_seconds"),
        ([], {"ROOST_METRICS__SUMMARY_INTERVAL": "soon"}, "metrics.summary_interval"),
        ([], {"ROOST_API__ACCESS_LOG_FORMAT": "xml"}, "ROOST_API__ACCESS_LOG_FORMAT"),
        ([], {"ROOST_METRICS__COLOUR": "1"}, "ROOST_METRICS__COLOUR"),
    ],
)
def test_bad_settings_are_one_clear_line(
    tmp_path: Path, args: list[str], env: dict[str, str], named: str
) -> None:
    done = roost_cmd(tmp_path, "worker", "--burst", *args, **env)
    assert done.returncode == 2, done.stderr
    assert named in done.stderr and "Traceback" not in done.stderr
