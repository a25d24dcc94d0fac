"""The plugin contract of roost: every hook a plugin may implement.

A plugin is a module (or object) with functions decorated ``@hookimpl`` whose names
match the specs below. Built-in features (the SQLite and Mongo engines, the core verbs,
the Twitter task types, the runtimes, the REST API) are plugins too, registered
``trylast`` so an installed plugin that registers the same name wins.

Two kinds of hooks:

- **Registration hooks** receive a ``register`` callback and call it once per thing they
  provide; they return nothing. Each is called synchronously, once per assembly (a
  :class:`~roost.core.app.Roost`, the ``roost`` command line or the REST application),
  before any event loop work depends on it: it may import and build objects but must not
  do I/O (no network, no database).
- **Event hooks** are called by the worker after the store has accepted the change,
  synchronously *on the event loop*: they must be quick and must not block (hand slow work
  to a thread or a queue of your own) and must not raise (an exception is logged and
  ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .app import Roost
    from .commands import Command
    from .models import Task
    from .settings import StoreSettings
    from .store import TaskStore
    from .tasktypes import Exposure, RuntimeSpec, TaskType

PROJECT = "roost"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# == registration hooks =====================================================================
@hookspec
def register_task_types(register: Callable[[TaskType], None]) -> None:
    """Called once when the application is assembled (sync, no I/O).

    Call ``register(TaskType(...))`` for each task type the plugin provides: a name
    (``"SEARCH"``), a pydantic payload model, an async handler and optional retry
    policy, timeout and per-worker concurrency. Two plugins registering the same name
    is an error unless one of them is a ``trylast`` built-in, which then yields.
    """


@hookspec
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    """Called when a front end (the REST application, ``roost enqueue``) is assembled
    (sync, no I/O).

    Call ``register(Exposure("URL_CHECK", positional="url"))`` for each task type users
    may enqueue from outside: it gets the route ``POST {api.prefix}/tasks/<name>`` and the
    verb ``roost enqueue <name> VALUE``, where ``name`` defaults to the type's name in
    lower case with ``-`` (``url-check``) and ``VALUE`` fills the payload field
    ``positional``. A task type nobody exposes is enqueued from Python only.
    """


@hookspec
def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
    """Called once when the application is assembled (sync, no I/O).

    Call ``register(RuntimeSpec(name, factory, settings_model))`` for each runtime
    the plugin provides. ``settings.toml``'s ``runtime.name`` selects one; its table
    ``[runtime.<name>]`` is validated with ``settings_model`` and passed to
    ``factory(settings)``, which returns an object with async ``start()`` and
    ``close()`` plus whatever the task types using it call.
    """


@hookspec
def register_stores(register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]) -> None:
    """Called once when the application is assembled (sync, no I/O).

    Call ``register(scheme, open)`` for each URL scheme the plugin stores tasks in
    (``"sqlite"``, ``"mongodb"``). ``open(store_settings)`` gets the ``[store]`` table
    (``url`` and the engine options) and returns a :class:`TaskStore`; it should not
    touch the network (``setup()`` does that).
    """


@hookspec
def register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    """Called when settings are loaded, with the plugins ``[plugins]`` chooses (sync, no I/O).

    Call ``register(table, model)`` for each settings table the plugin owns (the API plugin
    owns ``api``): ``[table]`` in ``settings.toml``, ``ROOST_<TABLE>__<KEY>`` in the
    environment and explicit arguments are merged and validated with ``model`` (a pydantic
    class: ``extra="forbid"`` makes a misspelt key an error naming it), and the result is
    ``settings.table(table, model)``. A top-level table no plugin registers is an error.
    """


@hookspec
def register_commands(register: Callable[[Command], None]) -> None:
    """Called once when the ``roost`` command line starts, before it parses (sync, no I/O).

    Call ``register(Command(name, help, run, configure))`` for each verb the plugin adds
    (``roost serve`` is the API plugin's). ``configure(parser)`` adds its arguments to an
    argparse sub-parser; ``run(invocation)`` returns the exit code, or is a coroutine
    function for a verb that runs until SIGINT/SIGTERM sets ``invocation.stop``.
    """


@hookspec
def register_web_routes(register: Callable[[Any], None], roost: Roost) -> None:
    """Called when the REST API application is built (sync, no I/O).

    Call ``register(routes)`` with an iterable of aiohttp route definitions
    (a ``web.RouteTableDef`` is one) for the application ``roost``, which the handlers
    reach through
    ``request.app[ROOST]`` (``roost.plugins.api.keys.ROOST``). Routes under ``/api``
    share the error envelope, body limit and token check of the built-in routes.
    """


# == event hooks: on the event loop, quick, never blocking ==================================
@hookspec
def task_claimed(task: Task, worker_id: str) -> None:
    """Worker ``worker_id`` claimed ``task``; ``task.attempts`` already counts this run.
    Called on the event loop: must not block."""


@hookspec
def task_succeeded(task: Task, result: dict[str, Any] | None, seconds: float) -> None:
    """``task`` finished and the store accepted its ``result``; ``seconds`` is the run time.
    Called on the event loop: must not block."""


@hookspec
def task_retried(task: Task, error: str, delay: float) -> None:
    """``task`` failed with ``error`` and runs again in ``delay`` seconds (also when the
    rescuer found its lease expired). Called on the event loop: must not block."""


@hookspec
def task_failed(task: Task, error: str) -> None:
    """``task`` failed for good with ``error`` (a permanent error, or no attempts left,
    also when the rescuer found its lease expired). Called on the event loop: must not block."""


@hookspec
def task_cancelled(task: Task) -> None:
    """``task`` ended CANCELLED: a PENDING task cancelled through ``Roost.cancel`` (fired in
    the process that cancelled it), or a RUNNING one stopped by its worker once the cancel
    request reached it (or cancelled by a stopping worker, or by the rescuer once the lease
    of a dead worker's task expired). Called on the event loop: must not block."""
