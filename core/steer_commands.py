"""``roost`` verbs that see and steer tasks: tasks, tweets, cancel, retry, redrive, purge,
workers. Each is the Python API (:mod:`.steering`) with a table a person can read, or with
``--json`` the data the HTTP route answers. Bulk verbs report progress on stderr."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar

from . import steering
from .commands import Command, Invocation, existing_store, print_json
from .errors import ValidationFailed
from .models import Task, WorkerInfo, utcnow

T = TypeVar("T")
#: Core's argument names, as these verbs spell them.
FLAGS = {
    "status": "--status",
    "type": "--type",
    "limit": "--limit",
    "cursor": "--cursor",
    "older_than": "--older-than",
    "task_id": "TASK_ID",
}


def call(inv: Invocation, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one steering call on the store that must exist; a refused argument is named as
    the flag the user typed."""
    existing_store(inv)
    try:
        return asyncio.run(make())
    except ValidationFailed as exc:
        message = str(exc)
        name, colon, rest = message.partition(":")
        if colon and name in FLAGS:
            message = FLAGS[name] + colon + rest
        raise ValidationFailed(message, exc.errors) from None


def _upper(text: str | None) -> str | None:
    """Statuses and types are upper-case in the data; typed in any case here."""
    return None if text is None else text.upper()


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the data as JSON (for scripts)")


def _shorten(text: str | None, width: int) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def age(since: datetime | None, now: datetime) -> str:
    """``42s``, ``5m``, ``3h``, ``2d``: how long ago, to the largest whole unit."""
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


# -- roost tasks -------------------------------------------------------------------------
def _configure_tasks(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", help="one status or a comma list, e.g. FAILED,CANCELLED")
    parser.add_argument("--type", help="a task type, e.g. SEARCH")
    parser.add_argument("--limit", type=int, default=50, help="tasks per page (1..500)")
    parser.add_argument("--cursor", help="the next-page cursor a previous run printed")
    _json_flag(parser)


def _task_row(task: Task, now: datetime) -> list[str]:
    return [
        task.id,
        task.type,
        task.status.value + (" (cancelling)" if task.cancel_requested else ""),
        f"{task.attempts}/{task.max_attempts}",
        age(task.created_at, now),
        _shorten(task.last_error, 60),
    ]


def _tasks(inv: Invocation) -> int:
    a = inv.args
    page = call(
        inv,
        lambda: inv.roost.list_tasks(_upper(a.status), _upper(a.type), a.limit, a.cursor),
    )
    if a.json:
        return print_json(page.to_json())
    if not page.tasks:
        print("no tasks" + (" on this page" if a.cursor else ""))
    else:
        now = utcnow()
        header = ["ID", "TYPE", "STATUS", "ATTEMPTS", "AGE", "LAST ERROR"]
        table(header, [_task_row(t, now) for t in page.tasks])
    if page.next_cursor is not None:
        again = [f"--{k} {v}" for k, v in (("status", a.status), ("type", a.type)) if v]
        print(f"next page: roost tasks {' '.join([*again, '--cursor', page.next_cursor])}")
    return 0


# -- roost tweets TASK_ID ----------------------------------------------------------------
def _configure_tweets(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_id", metavar="TASK_ID")
    parser.add_argument("--limit", type=int, default=100, help="tweets per page (1..1000)")
    parser.add_argument("--cursor", help="the next-page cursor a previous run printed")
    _json_flag(parser)


def _tweets(inv: Invocation) -> int:
    a = inv.args
    page = call(inv, lambda: inv.roost.tweets(a.task_id, a.limit, a.cursor))
    if a.json:
        return print_json(page.to_json("tweets"))
    for record in page.records:  # one line each: the stored fields, without the task ids
        shown = {k: v for k, v in record.items() if k != "taskIds"}
        print(json.dumps(shown, ensure_ascii=False, default=str))
    print(f"{len(page.records)} tweets", file=sys.stderr)
    if page.next_cursor is not None:
        print(f"next page: roost tweets {a.task_id} --cursor {page.next_cursor}", file=sys.stderr)
    return 0


# -- roost cancel ID / roost retry ID -----------------------------------------------------
def _configure_id(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_id", metavar="TASK_ID")
    _json_flag(parser)


def _cancel(inv: Invocation) -> int:
    task = call(inv, lambda: inv.roost.cancel(inv.args.task_id))
    if inv.args.json:
        return print_json({"taskId": task.id, "status": task.status.value})
    if task.cancel_requested:
        print(f"task {task.id}: RUNNING, cancel requested (its worker stops it within 10 s)")
    else:
        print(f"task {task.id}: {task.status.value}")
    return 0


def _retry(inv: Invocation) -> int:
    task = call(inv, lambda: inv.roost.retry(inv.args.task_id))
    if inv.args.json:
        return print_json({"taskId": task.id, "status": task.status.value})
    print(f"task {task.id}: {task.status.value} (attempts reset; it runs again now)")
    return 0


# -- roost redrive / roost purge ----------------------------------------------------------
def _progress(verb: str) -> Callable[[int], None]:
    def report(done: int) -> None:
        if done >= steering.CHUNK:  # only bulk runs: a single chunk is over before anyone waits
            print(f"roost: {verb} {done} so far...", file=sys.stderr, flush=True)

    return report


def _configure_redrive(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", help="only this task type, e.g. SEARCH")
    parser.add_argument(
        "--status", default="FAILED", help="FAILED (default), CANCELLED or FAILED,CANCELLED"
    )
    parser.add_argument("--limit", type=int, help="at most this many (default: all)")
    _json_flag(parser)


def _redrive(inv: Invocation) -> int:
    a = inv.args
    report = _progress("requeued")
    n = call(inv, lambda: inv.roost.redrive(_upper(a.type), _upper(a.status), a.limit, report))
    if a.json:
        return print_json({"requeued": n})
    print(f"requeued {n} task{'s' * (n != 1)}")
    return 0


def _configure_purge(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--status", required=True, help="DONE, FAILED or CANCELLED (or a comma list)"
    )
    parser.add_argument(
        "--older-than",
        required=True,
        help="finished longer ago than this: 3600, 30m, 12h, 7d, or an ISO-8601 time",
    )
    parser.add_argument("--type", help="only this task type, e.g. SEARCH")
    _json_flag(parser)


def _purge(inv: Invocation) -> int:
    a = inv.args
    report = _progress("deleted")
    n = call(inv, lambda: inv.roost.purge(_upper(a.status), a.older_than, _upper(a.type), report))
    if a.json:
        return print_json({"deleted": n})
    print(f"deleted {n} task{'s' * (n != 1)} (their tweets stay)")
    return 0


# -- roost workers -------------------------------------------------------------------------
def _worker_row(w: WorkerInfo, now: datetime) -> list[str]:
    return [
        w.worker_id,
        w.host,
        str(w.pid),
        age(w.started_at, now),
        age(w.last_seen_at, now) + " ago",
        "yes" if w.running else "stopping",
        f"{w.inflight}/{w.max_concurrent}",
        ",".join(w.types) if w.types is not None else "all",
    ]


def _workers(inv: Invocation) -> int:
    found = call(inv, inv.roost.workers)
    if inv.args.json:
        return print_json({"workers": [w.to_json() for w in found]})
    if not found:
        print("no live workers")
        return 0
    now = utcnow()
    header = ["WORKER", "HOST", "PID", "UP", "SEEN", "CLAIMING", "INFLIGHT", "TYPES"]
    table(header, [_worker_row(w, now) for w in found])
    return 0


STEER_COMMANDS = (
    Command(
        "tasks", "list tasks, newest first (filter by --status, --type)", _tasks, _configure_tasks
    ),
    Command("tweets", "the tweets a task found, in the order found", _tweets, _configure_tweets),
    Command("cancel", "cancel a PENDING or RUNNING task", _cancel, _configure_id),
    Command("retry", "run a FAILED or CANCELLED task again", _retry, _configure_id),
    Command("redrive", "retry FAILED (or CANCELLED) tasks in bulk", _redrive, _configure_redrive),
    Command(
        "purge",
        "delete finished tasks older than a time (their tweets stay)",
        _purge,
        _configure_purge,
    ),
    Command("workers", "every live worker process sharing the store", _workers, _json_flag),
)
