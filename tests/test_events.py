"""Firing the task event hooks (core/worker/events.py): each listener gets the arguments it
declares, in pluggy's order; one that raises is logged and the others still run; a wrapper
still goes through pluggy."""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import pytest
from roost.core import hookimpl
from roost.core.models import Task
from roost.core.plugins import make_plugin_manager
from roost.core.worker.events import Events

TASK = Task(id="0" * 24, type="T", payload={})


class Broken:
    @hookimpl
    def task_succeeded(self, task: Task, result: Any, seconds: float) -> None:
        raise RuntimeError("a plugin bug")


class Counting:
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    @hookimpl
    def task_succeeded(self, task: Task) -> None:  # declares fewer arguments than the spec
        self.seen.append(("succeeded", task.id))

    @hookimpl
    def task_claimed(self, worker_id: str, task: Task) -> None:
        self.seen.append(("claimed", worker_id))


def test_a_raising_listener_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    counting = Counting()
    # registered after Broken: pluggy calls it first; Broken is called (and fails) after
    events = Events(make_plugin_manager(entry_points=False, plugins=[Broken(), counting]))
    events2 = Events(make_plugin_manager(entry_points=False, plugins=[counting, Broken()]))
    with caplog.at_level(logging.ERROR, logger="roost.worker"):
        events.fire("task_succeeded", task=TASK, result=None, seconds=0.1)
        events2.fire("task_succeeded", task=TASK, result=None, seconds=0.1)
        events.fire("task_claimed", task=TASK, worker_id="w1")
        events.fire("task_failed", task=TASK, error="nobody listens")
    assert counting.seen == [("succeeded", TASK.id), ("succeeded", TASK.id), ("claimed", "w1")]
    raised = [r for r in caplog.records if "task_succeeded raised (ignored)" in r.getMessage()]
    assert len(raised) == 2


def test_a_wrapper_is_run_by_pluggy() -> None:
    calls: list[str] = []

    class Wrapping:
        @hookimpl(wrapper=True)
        def task_claimed(self, task: Task, worker_id: str) -> Generator[None, None, None]:
            calls.append("before")
            yield
            calls.append("after")

    class Plain:
        @hookimpl
        def task_claimed(self, task: Task, worker_id: str) -> None:
            calls.append("plain")

    events = Events(make_plugin_manager(entry_points=False, plugins=[Plain(), Wrapping()]))
    events.fire("task_claimed", task=TASK, worker_id="w")
    assert calls == ["before", "plain", "after"]
