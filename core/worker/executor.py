"""Running one claimed task: parse its payload, call its handler under its context, check
the result, and turn how it ended into a :class:`~roost.core.lifecycle.Verdict` (or None:
the lease was lost, or the shutdown gives it back with the others)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from pydantic import ValidationError

from .. import lifecycle
from ..errors import LeaseLost, PermanentError
from ..models import Task, utcnow
from ..tasktypes import TaskContext
from .maintenance import policy_for
from .runs import Run, check_result

if TYPE_CHECKING:
    from ..app import Roost

log = logging.getLogger("roost.worker")


async def execute(
    roost: Roost, run: Run, seconds: float, fire: lifecycle.Fire
) -> lifecycle.Verdict | None:
    """Run ``run``'s task to its verdict; ``seconds`` is when it started (monotonic). A run
    that lost its lease has none (the newer run owns the task): ``task_lease_lost`` fires."""
    task = run.task
    task_type = roost.registry.task_types.get(task.type)
    try:  # the handler is awaited here, not in a helper: a coroutine frame less per run
        if task.unreadable:  # see stores/salvage.py: running it would only guess
            raise PermanentError(f"stored task cannot be read: {task.unreadable}")
        if task_type is None:
            raise PermanentError(f"no handler for task type {task.type!r} in this worker")
        try:
            payload = task_type.parse(task.payload)
        except ValidationError as exc:
            raise PermanentError(f"stored payload does not fit {task.type}: {exc}") from exc
        result = await task_type.handler(
            TaskContext(task, roost.store, roost.runtime, log), payload
        )
        check_result(result)
    except asyncio.CancelledError:
        run.handled = True
        if not (run.lost or run.released or run.timed_out or run.cancelling):
            raise
        if run.lost:
            log.warning("task lost lease id=%s type=%s: run abandoned", task.id, task.type)
            fire("task_lease_lost", task=task)
        if run.released or run.lost:
            return None  # released: the shutdown gives it back, with the others, in one write
        if run.cancelling:  # stopped on request (also if its timeout fired meanwhile)
            return lifecycle.cancelled(task)
        return _errored(roost, task, TimeoutError())
    except LeaseLost as exc:
        run.handled = True
        log.warning("task lost lease id=%s: %s", task.id, exc)
        fire("task_lease_lost", task=task)
        return None
    except Exception as exc:
        run.handled = True
        if run.cancelling and run.job.cancelling():  # what it raised as it was being stopped
            return lifecycle.cancelled(task)
        return _errored(roost, task, exc)
    run.handled = True
    return lifecycle.succeeded(task, result, time.monotonic() - seconds)


def _errored(roost: Roost, task: Task, exc: BaseException) -> lifecycle.Verdict:
    return lifecycle.errored(task, exc, policy_for(roost)(task), utcnow())
