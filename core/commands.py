"""``roost`` verbs: what a plugin registers through ``register_commands``, and core's own.

A verb is a name, an argparse configurer and a run function. The CLI (``core/cli.py``)
knows none of them by name: it collects them from the plugins, parses, installs signal
handlers for verbs that run until stopped, and maps errors to exit codes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .app import Roost
from .errors import ConfigError, StoreMissing, ValidationFailed
from .hookspecs import hookimpl
from .models import is_task_id
from .plugins import plugin_rows
from .runner import Runner, StopRequest
from .settings import Settings
from .store import TaskStore

VERB = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


@dataclass
class Invocation:
    """One run of a verb: its settings (flags applied), parsed arguments, and the rest."""

    settings: Settings
    args: argparse.Namespace
    extra: list[str] = field(default_factory=list)
    #: set by the CLI's signal handlers (verbs that run until stopped)
    stop: StopRequest = field(default_factory=StopRequest)

    @cached_property
    def roost(self) -> Roost:
        """A Roost for a one-shot verb (plugins loaded, the store opened, not contacted)."""
        return Roost.create(self.settings)


@dataclass(frozen=True)
class Command:
    """A ``roost`` verb.

    ``run(invocation)`` returns the exit code; a coroutine function when the verb runs until
    stopped (the CLI then runs it on an event loop with SIGINT/SIGTERM setting
    ``invocation.stop``). ``configure(parser)`` adds its arguments; ``flags`` maps a flag's
    dest to the setting it overrides (``{"port": "api.port"}``), so a bad value is a settings
    error naming the flag; ``extra_args`` lets it take unparsed ``--name value`` pairs.
    """

    name: str
    help: str
    run: Callable[[Invocation], int] | Callable[[Invocation], Awaitable[int]]
    configure: Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None
    flags: Mapping[str, str] = field(default_factory=dict)
    extra_args: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not VERB.match(self.name):
            raise ConfigError(f"command {self.name!r}: the name must be lower-case, e.g. 'serve'")
        if not callable(self.run):
            raise ConfigError(f"command {self.name!r}: run must be callable")


def print_json(data: Any) -> int:
    print(json.dumps(data, indent=2, default=str))
    return 0


def existing_store(inv: Invocation) -> TaskStore:
    """The store, for a verb that only reads or enqueues: it must exist already (a verb run
    in the wrong folder must not create an empty database and report zeros)."""
    roost = inv.roost
    store = roost.store.sync
    if not store.exists():
        url = roost.settings.public()["store"]["url"]
        file = roost.settings.file.resolve() if roost.settings.file else "none"
        raise StoreMissing(
            f"no task database at {store.location() or url} (store.url {url}, settings file "
            f"{file}); this command does not create one. Run it where the database is, or "
            "point at it with --config FILE or ROOST_STORE__URL; to start a new one here, "
            "run `roost worker --burst` (it creates it and exits)"
        )
    store.setup()
    return store


# -- core's verbs ------------------------------------------------------------------------
def _configure_worker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--burst",
        action="store_true",
        help="recover expired leases, run every task due now, then exit (retries and tasks "
        "due later stay PENDING for the next run: e.g. run it from cron)",
    )
    parser.add_argument("--concurrency", type=int, help="override worker.max_concurrent")


async def _worker(inv: Invocation) -> int:
    runner = Runner(inv.settings, burst=inv.args.burst, max_concurrent=inv.args.concurrency)
    await runner.run(inv.stop)
    return 0


def _stats(inv: Invocation) -> int:
    return print_json(existing_store(inv).stats().to_json())


def _recover(inv: Invocation) -> int:
    from .worker.maintenance import rescue

    existing_store(inv)
    return print_json({"recovered": asyncio.run(rescue(inv.roost))})


def _configure_task(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task_id")


def _task(inv: Invocation) -> int:
    task_id = inv.args.task_id
    if not is_task_id(task_id):
        raise ValidationFailed("a task id is 24 hexadecimal characters")
    task = existing_store(inv).get(task_id)
    if task is None:
        print(f"roost: no task with id {task_id}", file=sys.stderr)
        return 1
    return print_json(task.to_json())


def _plugins(inv: Invocation) -> int:
    roost = inv.roost
    rows = plugin_rows(roost.pm, roost.registry, roost)
    width = max(len(r["plugin"]) for r in rows)
    for r in rows:
        provides = "; ".join(
            f"{k}: {', '.join(v)}" for k, v in r.items() if isinstance(v, list) and v
        )
        print(f"{r['plugin']:<{width}}  {r['version']:<8}  {provides}")
    return 0


def _config(inv: Invocation) -> int:
    file = inv.settings.file
    return print_json(
        {"settingsFile": None if file is None else str(file.resolve()), **inv.settings.public()}
    )


CORE_COMMANDS = (
    Command(
        "worker",
        "run a worker (start several to scale out)",
        _worker,
        _configure_worker,
        flags={"concurrency": "worker.max_concurrent"},
    ),
    Command("stats", "queue counts per status", _stats),
    Command("recover", "return tasks with expired leases to the queue now", _recover),
    Command("task", "show one task", _task, _configure_task),
    Command("plugins", "list loaded plugins and what they register", _plugins),
    Command("config", "print the effective settings (secrets masked)", _config),
)


@hookimpl(trylast=True)
def register_commands(register: Callable[[Command], None]) -> None:
    from .steer_commands import STEER_COMMANDS  # it builds on this module's Command

    for command in (*CORE_COMMANDS, *STEER_COMMANDS):
        register(command)
