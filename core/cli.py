"""The ``roost`` command: arguments, signals and exit codes. Signals are handled here only.

It imports no plugin: every verb comes from the ``register_commands`` hook (core's own from
:mod:`roost.core.commands`, ``serve`` and ``enqueue`` from the API plugin).

Exit codes: 0 ok, 1 not found (or not allowed in the task's status), 2 bad input or settings, 3 store unreachable, 4 store
damaged, 5 the worker stopped on an unexpected error (a bug: the log has the traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import signal
import sys
import warnings
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import Any

from .commands import Command, Invocation
from .errors import (
    ConfigError,
    RenamedSettingWarning,
    RoostError,
    StoreCorrupt,
    StoreUnavailable,
    ValidationFailed,
    WorkerCrashed,
)
from .options import CommandOption, options_for
from .plugins import build_registry, make_plugin_manager
from .runner import StopRequest
from .settings import load_settings, plugin_choice, resolve_file

log = logging.getLogger("roost")


def _global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: $ROOST_SETTINGS or ./settings.toml)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )


def build_parser(
    commands: Sequence[Command], options: Sequence[CommandOption] = ()
) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roost", description="A plugin-driven durable task queue."
    )
    _global_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands:
        verb = sub.add_parser(command.name, help=command.help, description=command.description)
        if command.configure is not None:
            command.configure(verb)
        for option in options_for(command.name, options):
            option.add_to(verb)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    early = argparse.ArgumentParser(add_help=False)
    _global_options(early)
    options, _ = early.parse_known_args(argv)
    logging.basicConfig(
        level=options.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s %(message)s",
    )
    try:
        file = resolve_file(options.config)
        registry = build_registry(make_plugin_manager(**_plugin_options(file)))
        commands = registry.commands
        added = list(registry.command_options.values())
        parser = build_parser(list(commands.values()), added)
        args, extra = parser.parse_known_args(argv)
        command = commands[args.command]
        if extra and not command.extra_args:
            parser.error(f"unrecognised arguments: {' '.join(extra)}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RenamedSettingWarning)
            tables = registry.settings_tables
            flags = _flag_settings(command, args, added)
            settings = load_settings(file, tables=tables, **flags)
        for warning in caught:
            if issubclass(warning.category, RenamedSettingWarning):  # the user's to fix
                print(f"roost: warning: {warning.message}", file=sys.stderr)
        return _run(command, Invocation(settings, args, extra))
    except (ConfigError, ValidationFailed) as exc:
        print(f"roost: error: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"roost: the task store is unavailable: {exc}", file=sys.stderr)
        return 3
    except StoreCorrupt as exc:
        print(f"roost: the task store is damaged: {exc}", file=sys.stderr)
        return 4
    except WorkerCrashed as exc:
        print(f"roost: {exc} (the log above has the traceback)", file=sys.stderr)
        return 5
    except RoostError as exc:
        print(f"roost: {exc}", file=sys.stderr)
        return 1


def _plugin_options(file: Path | None) -> dict[str, Any]:
    """Which plugins provide the verbs: the ``[plugins]`` table. Other settings that are
    wrong are reported once the verb's flags are known (the error may name one of them),
    and ``--help`` works meanwhile."""
    plugins = plugin_choice(file)
    return {
        "entry_points": plugins.entry_points,
        "modules": plugins.modules,
        "disable": plugins.disable,
    }


def _flag_settings(
    command: Command, args: argparse.Namespace, options: Sequence[CommandOption] = ()
) -> dict[str, Any]:
    """``load_settings`` keywords for the flags given: ``--port 0x`` is a settings error
    that names ``--port``, like a bad ``ROOST_API__PORT`` names the variable. Options other
    plugins add to the verb count as its flags."""
    overrides: dict[str, Any] = {"argument_names": {}}
    added = {o.dest: o.setting for o in options_for(command.name, options)}
    for flag, key in {**command.flags, **added}.items():
        value = getattr(args, flag, None)
        if value is not None:
            table, name = key.split(".")
            overrides.setdefault(table, {})[name] = value
            overrides["argument_names"][key] = f"--{flag.replace('_', '-')}"
    return overrides


def _run(command: Command, inv: Invocation) -> int:
    """A one-shot verb returns its code; one that runs until stopped returns a coroutine,
    run here with SIGINT/SIGTERM setting ``inv.stop``."""
    if not inspect.iscoroutinefunction(command.run):
        return command.run(inv)  # type: ignore[return-value]
    return asyncio.run(_until_signalled(command.run(inv), inv.stop))  # type: ignore[arg-type]


async def _until_signalled(body: Awaitable[int], request: StopRequest) -> int:
    """First SIGINT/SIGTERM: stop gracefully; the second: cancel running tasks now."""
    loop = asyncio.get_running_loop()
    count = 0

    def on_signal(signum: int) -> None:
        nonlocal count
        count += 1
        name = signal.Signals(signum).name
        if count == 1:
            log.info("%s: stopping (again to cancel running tasks now)", name)
            request.stop.set()
        else:
            log.warning("%s again: cancelling running tasks", name)
            request.force.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    return await body


if __name__ == "__main__":
    sys.exit(main())
