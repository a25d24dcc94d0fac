"""The plugin contract of roost: every hook a plugin may implement.

A plugin is a module (or object) with functions decorated ``@hookimpl`` whose names
match the specs below. Built-in features (the SQLite and Mongo engines, the Twitter
task types, the runtimes, the REST API) are plugins too, registered ``trylast`` so an
installed plugin that registers the same name wins.

Registration hooks receive a ``register`` callback and call it once per thing they
provide; they return nothing. Event hooks are called by the worker after the store
has accepted the change; they must be quick and must not raise (an exception is
logged and ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .app import Roost
    from .models import Task
    from .settings import StoreSettings
    from .store import TaskStore
    from .tasktypes import RuntimeSpec, TaskType

PROJECT = "roost"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_task_types(register: Callable[[TaskType], None]) -> None:
    """Called once when the application is assembled.

    Call ``register(TaskType(...))`` for each task type the plugin provides: a name
    (``"SEARCH"``), a pydantic payload model, an async handler and optional retry
    policy, timeout and per-worker concurrency. Two plugins registering the same name
    is an error unless one of them is a ``trylast`` built-in, which then yields.
    """


@hookspec
def register_runtimes(register: Callable[[RuntimeSpec], None]) -> None:
    """Called once when the application is assembled.

    Call ``register(RuntimeSpec(name, factory, settings_model))`` for each runtime
    the plugin provides. ``settings.toml``'s ``runtime.name`` selects one; its table
    ``[runtime.<name>]`` is validated with ``settings_model`` and passed to
    ``factory(settings)``, which returns an object with async ``start()`` and
    ``close()`` plus whatever the task types using it call.
    """


@hookspec
def register_stores(register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]) -> None:
    """Called once when the application is assembled.

    Call ``register(scheme, open)`` for each URL scheme the plugin stores tasks in
    (``"sqlite"``, ``"mongodb"``). ``open(store_settings)`` gets the ``[store]`` table
    (``url`` and the engine options) and returns a :class:`TaskStore`; it should not
    touch the network (``setup()`` does that).
    """


@hookspec
def register_web_routes(register: Callable[[Any], None], roost: Roost) -> None:
    """Called when the REST API application is built.

    Call ``register(routes)`` with an iterable of aiohttp route definitions
    (a ``web.RouteTableDef`` is one). The handlers reach the application through
    ``request.app[ROOST]`` (``roost.plugins.api.keys.ROOST``). Routes under ``/api``
    share the error envelope, body limit and token check of the built-in routes.
    """


@hookspec
def task_claimed(task: Task, worker_id: str) -> None:
    """A worker claimed ``task``; ``task.attempts`` already counts this run."""


@hookspec
def task_succeeded(task: Task, result: dict[str, Any] | None, seconds: float) -> None:
    """``task`` finished and the store accepted its result; ``seconds`` is the run time."""


@hookspec
def task_retried(task: Task, error: str, delay: float) -> None:
    """``task`` failed and runs again in ``delay`` seconds."""


@hookspec
def task_failed(task: Task, error: str) -> None:
    """``task`` failed for good (a permanent error, or no attempts left)."""
