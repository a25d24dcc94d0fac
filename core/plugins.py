"""The plugin manager and the registry of what plugins provide.

Built-ins are listed in :data:`DEFAULT_PLUGINS` and loaded through the same manager as
third-party plugins, which come from the entry-point group ``roost``. Set
``ROOST_NO_ENTRY_POINTS=1`` (or ``plugins.entry_points = false``) to load built-ins only.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import version as dist_version
from typing import TYPE_CHECKING, Any

import pluggy
from pydantic import BaseModel

from . import hookspecs
from .errors import ConfigError
from .options import CommandOption
from .settings import Settings, StoreSettings
from .store import TaskStore
from .tasktypes import RuntimeSpec, TaskType

if TYPE_CHECKING:
    from .app import Roost
    from .commands import Command

ENTRY_POINT_GROUP = "roost"
NO_ENTRY_POINTS_ENV = "ROOST_NO_ENTRY_POINTS"

DEFAULT_PLUGINS: tuple[str, ...] = (
    "roost.core.commands",
    "roost.core.stores.sqlite",
    "roost.core.stores.mongo",
    "roost.plugins.runtime_mock",
    "roost.plugins.runtime_playwright",
    "roost.plugins.twitter_search",
    "roost.plugins.twitter_account",
    "roost.plugins.api",
    "roost.plugins.metrics",
    "roost.plugins.dashboard",
)


def make_plugin_manager(
    *,
    entry_points: bool = True,
    modules: Iterable[str] = (),
    disable: Iterable[str] = (),
    plugins: Iterable[object] = (),
) -> pluggy.PluginManager:
    """Built-ins, then ``modules`` and ``plugins`` (objects), then entry points.

    ``disable`` names plugins (module paths or entry-point names) not to load.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in disable:
        pm.set_blocked(name)
    for path in (*DEFAULT_PLUGINS, *modules):
        if pm.is_blocked(path):
            continue
        try:
            module = importlib.import_module(path)
        except ImportError as exc:
            raise ConfigError(f"plugin module {path!r} cannot be imported: {exc}") from exc
        pm.register(module, name=path)
    for obj in plugins:
        pm.register(obj)
    if entry_points and os.environ.get(NO_ENTRY_POINTS_ENV, "") in ("", "0", "false"):
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:  # a broken third-party plugin must not be a traceback
            raise ConfigError(
                f"a plugin from entry point group 'roost' failed to load: {exc}"
            ) from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc
    return pm


@dataclass
class Registry:
    """Task types, runtimes and store schemes, each tagged with the plugin that gave it."""

    task_types: dict[str, TaskType] = field(default_factory=dict)
    runtimes: dict[str, RuntimeSpec] = field(default_factory=dict)
    stores: dict[str, Callable[[StoreSettings], TaskStore]] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    settings_tables: dict[str, type[BaseModel]] = field(default_factory=dict)
    command_options: dict[str, CommandOption] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)


def _collect(
    pm: pluggy.PluginManager,
    hook_name: str,
    kind: str,
    target: dict[str, Any],
    owners: dict[tuple[str, str], str],
    key: Callable[[Any], str],
    check: Callable[[Any], None],
) -> None:
    """Call each implementation with its own ``register`` so conflicts can name plugins.

    Implementations run in pluggy's order (``trylast`` built-ins last); a built-in yields
    to a name already registered; two ordinary plugins with one name is an error.
    """
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        builtin = bool(impl.opts.get("trylast"))

        def register(*args: Any, _plugin: str = impl.plugin_name, _builtin: bool = builtin) -> None:
            item = args[0] if len(args) == 1 else args
            check(item)
            name = key(item)
            if name in target:
                if _builtin:
                    return
                raise ConfigError(
                    f"{kind} {name!r} is registered by both {owners[(kind, name)]!r} "
                    f"and {_plugin!r}; disable one in [plugins] disable"
                )
            target[name] = item[1] if kind in PAIRS else item
            owners[(kind, name)] = _plugin

        impl.function(register=register)


def _check_task_type(item: Any) -> None:
    if not isinstance(item, TaskType):
        raise ConfigError(f"register_task_types: expected a TaskType, got {item!r}")


def _check_runtime(item: Any) -> None:
    if not isinstance(item, RuntimeSpec):
        raise ConfigError(f"register_runtimes: expected a RuntimeSpec, got {item!r}")


def _check_store(item: Any) -> None:
    ok = isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
    if not ok or not callable(item[1]):
        raise ConfigError(
            "register_stores: call register(scheme, open) with open(url) -> TaskStore"
        )


def _check_command(item: Any) -> None:
    from .commands import Command  # the verbs module builds on this one

    if not isinstance(item, Command):
        raise ConfigError(f"register_commands: expected a Command, got {item!r}")


def _check_option(item: Any) -> None:
    if not isinstance(item, CommandOption):
        raise ConfigError(f"register_command_options: expected a CommandOption, got {item!r}")


def _check_settings(item: Any) -> None:
    ok = isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
    if not ok or not (isinstance(item[1], type) and issubclass(item[1], BaseModel)):
        raise ConfigError(
            "register_settings: call register(table, model) with a pydantic model class"
        )
    if not TABLE.match(item[0]) or item[0] in Settings.model_fields:
        raise ConfigError(
            f"register_settings: table {item[0]!r} must be lower_snake_case and not one of "
            f"core's ({', '.join(Settings.model_fields)})"
        )


#: kinds registered as ``register(name, thing)``: the registry keeps the thing
PAIRS = ("store", "settings table")
TABLE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: hook, what it registers, Registry attribute, the name of an item, its check
_KINDS: tuple[tuple[str, str, str, Callable[[Any], str], Callable[[Any], None]], ...] = (
    ("register_task_types", "task type", "task_types", lambda t: t.name, _check_task_type),
    ("register_runtimes", "runtime", "runtimes", lambda r: r.name, _check_runtime),
    ("register_stores", "store", "stores", lambda s: s[0], _check_store),
    ("register_commands", "command", "commands", lambda c: c.name, _check_command),
    ("register_settings", "settings table", "settings_tables", lambda t: t[0], _check_settings),
    (
        "register_command_options",
        "command option",
        "command_options",
        lambda o: f"{o.command} --{o.flag}",
        _check_option,
    ),
)


def build_registry(pm: pluggy.PluginManager) -> Registry:
    reg = Registry()
    for hook, kind, attr, key, check in _KINDS:
        _collect(pm, hook, kind, getattr(reg, attr), reg.owners, key, check)
    return reg


def plugin_rows(
    pm: pluggy.PluginManager, reg: Registry, roost: Roost | None = None
) -> list[dict[str, Any]]:
    """One row per loaded plugin: name, version, and what it registered (``roost plugins``).

    A column per registration hook: the registry's kinds, then every other ``register_*``
    hook (web routes, ...), whose implementations are called here with a recording
    ``register`` (and ``roost``, when they take it and it is given).
    """
    dists = {id(p): d for p, d in pm.list_plugin_distinfo()}
    others = _other_registrations(pm, roost)
    rows = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        row: dict[str, Any] = {"plugin": name, "version": dist.version if dist else _own_version()}
        for _, kind, *_ in _KINDS:
            row[f"{kind}s"] = sorted(
                item for (k, item), owner in reg.owners.items() if k == kind and owner == name
            )
        for column, by_plugin in others.items():
            row[column] = by_plugin.get(name, [])
        rows.append(row)
    return rows


def registration_hooks() -> list[str]:
    """Every ``register_*`` hook of the contract."""
    return sorted(n for n in dir(hookspecs) if n.startswith("register_"))


def _other_registrations(
    pm: pluggy.PluginManager, roost: Roost | None
) -> dict[str, dict[str, list[str]]]:
    """``{column: {plugin: [item, ...]}}`` for the hooks the registry does not collect."""
    collected = {hook for hook, *_ in _KINDS}
    out: dict[str, dict[str, list[str]]] = {}
    for hook in registration_hooks():
        if hook in collected:
            continue
        column = hook.removeprefix("register_").replace("_", " ")
        out[column] = {}
        for impl in getattr(pm.hook, hook).get_hookimpls():
            found: list[Any] = []
            kwargs = {"register": found.append, "roost": roost, "worker": None}
            if roost is None and "roost" in impl.argnames:
                continue
            try:
                impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
            except Exception as exc:  # a listing must not die of one plugin
                found = [f"(failed: {type(exc).__name__}: {exc})"]
            out[column][impl.plugin_name] = [text for item in found for text in _describe(item)]
    return out


def _describe(item: Any) -> list[str]:
    """``GET /path`` for an aiohttp route, each entry of a route table, else ``str(item)``."""
    if hasattr(item, "method") and hasattr(item, "path"):
        return [f"{item.method} {item.path}"]
    if hasattr(item, "prefix") and hasattr(item, "path"):  # a static route
        return [f"static {item.prefix}"]
    if isinstance(item, Iterable) and not isinstance(item, str | bytes):
        return [text for sub in item for text in _describe(sub)]
    return [str(item)]


def _own_version() -> str:
    try:
        return dist_version("roost")
    except Exception:
        return "unknown"
