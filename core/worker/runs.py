"""A worker's runs (:class:`Run`): the state of one, the timer a claimed batch shares, the result check."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from ..models import Task


class Deadline:
    """One timer for the runs of a claimed batch that share a timeout: it cancels those still
    running when it fires, and is cancelled itself once every run of the batch is over."""

    __slots__ = ("runs", "left", "timer")

    def __init__(self, runs: list[Run], timeout: float) -> None:
        self.runs = runs
        self.left = len(runs)
        self.timer = asyncio.get_running_loop().call_later(timeout, self._expire)

    def _expire(self) -> None:
        for running in self.runs:
            if not running.job.done():
                running.timed_out = True
                running.job.cancel()

    def one_over(self) -> None:
        self.left -= 1
        if not self.left:
            self.timer.cancel()  # drops its references to the runs at once


@dataclass
class Run:
    """One claimed task in a worker's hands: its job, its shared timer, how it ended."""

    task: Task
    job: asyncio.Task[None] = field(repr=False)
    deadline: Deadline | None = field(default=None, repr=False)
    lost: bool = False  # the lease went to someone else: discard whatever this run produces
    released: bool = False  # cancelled by shutdown: given back uncharged, with the others
    timed_out: bool = False  # cancelled by its timeout: a failure, retried per the policy
    completing: bool = False  # the handler succeeded; the slot is freed once DONE is written
    handled: bool = False  # the handler is over (its verdict, if any, is being written)
    cancelling: bool = False  # its cancel was requested: CANCELLED, unless it finished first


def check_result(result: Any) -> None:
    """A handler returns a JSON-able dict or None; anything else is a failure of the run."""
    if result is None:
        return
    if not isinstance(result, dict):
        raise TypeError(f"handler returned {type(result).__name__}, expected a dict or None")
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"handler result is not JSON-serialisable: {exc}") from None
