"""``roost serve``/``roost worker`` as one runner that owns what it opens, and a command line
that knows its verbs only from plugins."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from roost.core import RuntimeSpec, hookimpl
from roost.core.cli import main
from roost.core.commands import Command, Invocation
from roost.core.runner import Runner, StopRequest
from roost.plugins.api.app import ApiServer


class CountingRuntime:
    """A runtime that remembers whether it was closed (a browser left open is a leak)."""

    made: list[CountingRuntime] = []

    def __init__(self, settings: Any) -> None:
        self.started = self.closed = False
        CountingRuntime.made.append(self)

    async def start(self) -> None:
        self.started = True

    async def close(self) -> None:
        self.closed = True


@hookimpl
def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
    register(RuntimeSpec("counting", CountingRuntime))


def _hello(inv: Invocation) -> int:
    print(f"hello {inv.args.who} from {inv.settings.store.url}")
    return 0


@hookimpl
def register_commands(register: Callable[[Command], None]) -> None:
    register(Command("hello", "say hello", _hello, lambda p: p.add_argument("who") and None))


async def until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def counting(make_settings: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    CountingRuntime.made.clear()
    monkeypatch.setenv("ROOST_PLUGINS__MODULES", json.dumps([__name__]))
    return make_settings(runtime={"name": "counting"}, api={"port": 0})


async def test_serve_closes_every_runtime_it_started(counting: Any) -> None:
    """The in-process worker has a Roost of its own (its own store connection, its own
    runtime): the runner closes it as well as the API's."""
    stop = StopRequest()
    run = asyncio.create_task(Runner(counting, servers=[ApiServer]).run(stop))
    await until(lambda: any(r.started for r in CountingRuntime.made), "the worker's runtime")
    stop.stop.set()
    await asyncio.wait_for(run, 30)
    assert CountingRuntime.made and all(r.closed for r in CountingRuntime.made if r.started)


async def test_a_burst_worker_returns_and_closes_its_runtime(counting: Any) -> None:
    await asyncio.wait_for(Runner(counting, burst=True).run(StopRequest()), 30)
    assert [r.closed for r in CountingRuntime.made if r.started] == [True]


def test_a_plugin_adds_a_verb(counting: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hello", "world"]) == 0
    assert capsys.readouterr().out.startswith("hello world from sqlite:///")


def test_the_command_line_imports_no_plugin() -> None:
    code = (
        "import sys, roost.core.cli; "
        "print([m for m in sys.modules if m.startswith('roost.plugins')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
