"""The ``roost`` command. Signals are handled here and only here.

Exit codes: 0 ok, 1 not found, 2 bad input or settings, 3 store unreachable, 4 store
damaged, 5 the worker stopped on an unexpected error (a bug: the log has the traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from typing import Any

from .app import Roost
from .errors import (
    ConfigError,
    RoostError,
    StoreCorrupt,
    StoreMissing,
    StoreUnavailable,
    ValidationFailed,
    WorkerCrashed,
)
from .limits import parse_priority, parse_run_at
from .models import is_task_id
from .plugins import plugin_rows
from .settings import load_settings, resolve_file
from .store import TaskStore

log = logging.getLogger("roost")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="roost", description="A plugin-driven durable task queue."
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="settings file (default: $ROOST_SETTINGS or ./settings.toml)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="run the REST API and a worker in one process")
    serve.add_argument("--no-worker", action="store_true", help="API only; run workers apart")
    serve.add_argument("--host", help="override api.host")
    serve.add_argument("--port", type=int, help="override api.port")

    worker = sub.add_parser("worker", help="run a worker (start several to scale out)")
    worker.add_argument(
        "--burst",
        action="store_true",
        help="recover expired leases, run every task due now, then exit (retries and tasks "
        "due later stay PENDING for the next run: e.g. run it from cron)",
    )
    worker.add_argument("--concurrency", type=int, help="override worker.max_concurrent")

    enqueue = sub.add_parser(
        "enqueue",
        help="add a task: enqueue search QUERY | enqueue account USERNAME --limit N",
        description="Add a task. Payload fields are given as --field VALUE (JSON or text), e.g. "
        'roost enqueue search bitcoin --filters \'{"lang": "en"}\' --limit 50',
    )
    enqueue.add_argument("kind", help="the task type's route name (search, account, ...)")
    enqueue.add_argument(
        "value", nargs="?", help="the main field (query for search, username for account)"
    )
    enqueue.add_argument("--priority", default="0", help="-1000..1000, higher runs first")
    enqueue.add_argument(
        "--run-at",
        help="ISO-8601 time with a timezone (e.g. 2026-01-31T12:00:00Z); not run before it",
    )

    sub.add_parser("stats", help="queue counts per status")
    sub.add_parser("recover", help="return tasks with expired leases to the queue now")
    task = sub.add_parser("task", help="show one task")
    task.add_argument("task_id")
    sub.add_parser("plugins", help="list loaded plugins and what they register")
    sub.add_parser("config", help="print the effective settings (secrets masked)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "enqueue":
        parser.error(f"unrecognised arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=args.log_level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)-7s %(name)s %(message)s",
    )
    try:
        args.settings_file = resolve_file(args.config)
        settings = load_settings(args.settings_file, **_flag_settings(args))
        if args.command == "config":
            file = args.settings_file
            return _print(
                {"settingsFile": None if file is None else str(file.resolve()), **settings.public()}
            )
        roost = Roost.create(settings)
        command: Callable[..., int] = COMMANDS[args.command]
        return command(roost, args, extra)
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


#: Command-line flags that override a setting: validated with it, named in its errors.
FLAG_SETTINGS = {"host": "api.host", "port": "api.port", "concurrency": "worker.max_concurrent"}


def _flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    """``load_settings`` keywords for the flags given: ``--port 0x`` is a settings error
    that names ``--port``, like a bad ``ROOST_API__PORT`` names the variable."""
    overrides: dict[str, Any] = {"argument_names": {}}
    for flag, key in FLAG_SETTINGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            table, name = key.split(".")
            overrides.setdefault(table, {})[name] = value
            overrides["argument_names"][key] = f"--{flag}"
    return overrides


def _print(data: Any) -> int:
    print(json.dumps(data, indent=2, default=str))
    return 0


# -- long-running commands -----------------------------------------------------------------
def _run_until_signalled(
    roost: Roost, body: Callable[[asyncio.Event, Any], Any], worker: Any
) -> int:
    """Run ``body`` with a stop event: first SIGINT/SIGTERM sets it, the second forces the worker."""

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        signals = {"count": 0}

        def on_signal(signum: int) -> None:
            signals["count"] += 1
            name = signal.Signals(signum).name
            if signals["count"] == 1:
                log.info("%s: stopping (again to cancel running tasks now)", name)
                stop.set()
                if worker is not None:
                    worker.stop()
            elif worker is not None:
                log.warning("%s again: cancelling running tasks", name)
                worker.stop(force=True)

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal, sig)
        await body(stop, worker)

    asyncio.run(runner())
    return 0


def cmd_serve(roost: Roost, args: argparse.Namespace, _: list[str]) -> int:
    from roost.plugins.api.app import make_app, serve

    from .worker import Worker

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    for key, value in overrides.items():
        setattr(roost.settings.api, key, value)
    _log_start(roost, args)

    async def body(stop: asyncio.Event, worker: Any) -> None:
        try:
            await serve(roost, make_app(roost, worker), stop)
        finally:
            if worker is not None and worker.roost is not roost:
                await worker.roost.close()

    worker = None if args.no_worker else Worker(_worker_roost(roost))
    return _run_until_signalled(roost, body, worker)


def _worker_roost(roost: Roost) -> Roost:
    """The in-process worker's own Roost: its own store connection, threads and runtime.

    As with a separate ``roost worker``: when the database stalls (a locked SQLite file, an
    unreachable MongoDB), API requests must not queue behind the worker's blocked claims
    and writes (a GET waited 40 s behind four 10 s lock waits). An in-memory SQLite
    database exists once per connection, so that one is shared.
    """
    if ":memory:" in roost.settings.store.url:
        return roost
    own = Roost.create(roost.settings)
    own.store.on_enqueue = roost.store.on_enqueue  # an API enqueue wakes the worker at once
    return own


def cmd_worker(roost: Roost, args: argparse.Namespace, _: list[str]) -> int:
    from .worker import Worker

    worker = Worker(roost, max_concurrent=args.concurrency)
    _log_start(roost, args)

    async def body(stop: asyncio.Event, worker: Any) -> None:
        try:
            await roost.start()
            await roost.runtime()  # a runtime that cannot start stops start-up, not tasks
            await worker.run(burst=args.burst)
        finally:
            await roost.close()

    return _run_until_signalled(roost, body, worker)


def _log_start(roost: Roost, args: argparse.Namespace) -> None:
    """Which settings file and store a long-running command uses: the first thing to check
    when it shows other tasks than expected (started in another folder)."""
    where = roost.store.sync.location()
    log.info(
        "settings file=%s store.url=%s%s",
        args.settings_file.resolve() if args.settings_file else "none (defaults, ROOST_*)",
        roost.settings.public()["store"]["url"],
        f" ({where})" if where else "",
    )


# -- one-shot commands ---------------------------------------------------------------------
def _sync(roost: Roost, args: argparse.Namespace) -> TaskStore:
    """The store, for a command that only reads or enqueues: it must exist already (a
    command run in the wrong folder must not create an empty database and report zeros)."""
    store = roost.store.sync
    if not store.exists():
        url = roost.settings.public()["store"]["url"]
        file = args.settings_file.resolve() if args.settings_file else "none"
        raise StoreMissing(
            f"no task database at {store.location() or url} (store.url {url}, settings file "
            f"{file}); this command does not create one. Run it where the database is, or "
            "point at it with --config FILE or ROOST_STORE__URL; to start a new one here, "
            "run `roost worker --burst` (it creates it and exits)"
        )
    store.setup()
    return store


def cmd_enqueue(roost: Roost, args: argparse.Namespace, extra: list[str]) -> int:
    routes = roost.registry.routes()
    task_type = routes.get(args.kind)
    if task_type is None:
        raise ValidationFailed(
            f"unknown task kind {args.kind!r}; known: {', '.join(sorted(routes))}"
        )
    payload = _fields(extra)
    if args.value is not None:
        if task_type.cli_arg is None:
            raise ValidationFailed(f"{args.kind} takes no positional value; use --field VALUE")
        payload[task_type.cli_arg] = args.value
    priority = parse_priority(args.priority, "--priority")
    run_at = None if args.run_at is None else parse_run_at(args.run_at, "--run-at")
    new = roost.new_task(task_type.name, payload, priority=priority, run_at=run_at)
    task = _sync(roost, args).enqueue(new)
    return _print({"taskId": task.id, "type": task.type, "status": task.status.value})


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


def cmd_stats(roost: Roost, args: argparse.Namespace, _: list[str]) -> int:
    return _print(_sync(roost, args).stats().to_json())


def cmd_recover(roost: Roost, args: argparse.Namespace, _: list[str]) -> int:
    from .worker.maintenance import rescue

    _sync(roost, args)
    return _print({"recovered": asyncio.run(rescue(roost))})


def cmd_task(roost: Roost, args: argparse.Namespace, _: list[str]) -> int:
    if not is_task_id(args.task_id):
        raise ValidationFailed("a task id is 24 hexadecimal characters")
    task = _sync(roost, args).get(args.task_id)
    if task is None:
        print(f"roost: no task with id {args.task_id}", file=sys.stderr)
        return 1
    return _print(task.to_json())


def cmd_plugins(roost: Roost, *_: Any) -> int:
    rows = plugin_rows(roost.pm, roost.registry, roost)
    width = max(len(r["plugin"]) for r in rows)
    for r in rows:
        provides = "; ".join(
            f"{k}: {', '.join(v)}" for k, v in r.items() if isinstance(v, list) and v
        )
        print(f"{r['plugin']:<{width}}  {r['version']:<8}  {provides}")
    return 0


COMMANDS: dict[str, Callable[..., int]] = {
    "serve": cmd_serve,
    "worker": cmd_worker,
    "enqueue": cmd_enqueue,
    "stats": cmd_stats,
    "recover": cmd_recover,
    "task": cmd_task,
    "plugins": cmd_plugins,
}

if __name__ == "__main__":
    sys.exit(main())
