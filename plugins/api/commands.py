"""The API plugin's verbs: ``roost serve`` (the REST API and a worker in one process) and
``roost enqueue <name> [VALUE]`` (the task types of :mod:`.exposure`, as over HTTP)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from roost.core.commands import Command, Invocation, existing_store, print_json
from roost.core.errors import ValidationFailed
from roost.core.limits import parse_priority, parse_run_at
from roost.core.runner import Runner

from .app import ApiServer
from .exposure import exposed


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-worker", action="store_true", help="API only; run workers apart")
    parser.add_argument("--host", help="override api.host")
    parser.add_argument("--port", type=int, help="override api.port")


async def _serve(inv: Invocation) -> int:
    runner = Runner(inv.settings, worker=not inv.args.no_worker, servers=[ApiServer])
    await runner.run(inv.stop)
    return 0


def _configure_enqueue(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", help="the task type's route name (search, account, ...)")
    parser.add_argument(
        "value", nargs="?", help="the main field (query for search, username for account)"
    )
    parser.add_argument("--priority", default="0", help="-1000..1000, higher runs first")
    parser.add_argument(
        "--run-at",
        help="ISO-8601 time with a timezone (e.g. 2026-01-31T12:00:00Z); not run before it",
    )


def _enqueue(inv: Invocation) -> int:
    args, roost = inv.args, inv.roost
    table = exposed(roost)
    found = table.get(args.kind)
    if found is None:
        raise ValidationFailed(
            f"unknown task kind {args.kind!r}; known: {', '.join(sorted(table))}"
        )
    payload = _fields(inv.extra)
    if args.value is not None:
        if found.exposure.positional is None:
            raise ValidationFailed(f"{args.kind} takes no positional value; use --field VALUE")
        payload[found.exposure.positional] = args.value
    priority = parse_priority(args.priority, "--priority")
    run_at = None if args.run_at is None else parse_run_at(args.run_at, "--run-at")
    new = roost.new_task(found.task_type.name, payload, priority=priority, run_at=run_at)
    task = existing_store(inv).enqueue(new)
    return print_json({"taskId": task.id, "type": task.type, "status": task.status.value})


def _fields(extra: list[str]) -> dict[str, Any]:
    """``--name value`` pairs into a dict; values are JSON when they parse, else text."""
    fields: dict[str, Any] = {}
    it = iter(extra)
    for token in it:
        if not token.startswith("--") or len(token) < 3:
            raise ValidationFailed(
                f"unexpected argument {token!r}; payload fields go as --field VALUE"
            )
        name, eq, value = token[2:].partition("=")
        if not eq:
            following = next(it, None)
            if following is None:
                raise ValidationFailed(f"--{name} needs a value")
            value = following
        try:
            fields[name.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            fields[name.replace("-", "_")] = value
    return fields


SERVE = Command(
    "serve",
    "run the REST API and a worker in one process",
    _serve,
    _configure_serve,
    flags={"host": "api.host", "port": "api.port"},
)
ENQUEUE = Command(
    "enqueue",
    "add a task: enqueue search QUERY | enqueue account USERNAME --limit N",
    _enqueue,
    _configure_enqueue,
    description="Add a task. Payload fields are given as --field VALUE (JSON or text), e.g. "
    'roost enqueue search bitcoin --filters \'{"lang": "en"}\' --limit 50',
    extra_args=True,
)
