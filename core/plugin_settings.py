"""Settings tables that plugins own (``[api]`` is the API plugin's), registered through the
``register_settings`` hook and read like core's: ``settings.toml`` < ``ROOST_<TABLE>__<KEY>``
< explicit arguments, errors naming the real source of the bad value.

Core's tables are fields of :class:`~roost.core.settings.Settings`; a plugin's table is
validated here with the model the plugin registered, once the plugins that the ``[plugins]``
table chooses are known.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError

from .errors import ConfigError
from .origins import KeyPath, Origins
from .problems import format_errors

#: how a masked secret is shown (``roost config``)
MASK = "********"
Tables = Mapping[str, type[BaseModel]]


def registered_tables(entry_points: bool, modules: list[str], disable: list[str]) -> Tables:
    """``{table: model}`` from every plugin the ``[plugins]`` settings load."""
    from .plugins import build_registry, make_plugin_manager  # they build on settings

    pm = make_plugin_manager(entry_points=entry_points, modules=modules, disable=disable)
    return build_registry(pm).settings_tables


def validate_tables(
    tables: Tables,
    sources: Sequence[Mapping[str, Any]],
    origins: Origins,
    fallback: str,
) -> dict[str, BaseModel]:
    """Each registered table from ``sources`` (lowest priority first: file, environment,
    arguments), merged key by key, validated with its model (defaults when not given)."""
    validated: dict[str, BaseModel] = {}
    for name, model in tables.items():
        merged: dict[str, Any] = {}
        for source in sources:
            value = source.get(name)
            if value is None:
                continue
            if not isinstance(value, Mapping):
                where = origins.of((name,)) or fallback
                raise ConfigError(
                    f"{where}: {name}: must be a table of settings ([{name}] in a file, "
                    f"ROOST_{name.upper()}__<KEY> in the environment)"
                )
            _merge(merged, value)
        try:
            validated[name] = model.model_validate(merged)
        except ValidationError as exc:
            message = format_errors(exc, at=(name,), label=lambda loc: origins.of(loc) or fallback)
            raise ConfigError(message) from None
    return validated


def env_tree(
    environ: Mapping[str, str], env: list[tuple[KeyPath, str]], tables: Tables
) -> dict[str, Any]:
    """The ``ROOST_<TABLE>__<KEY>`` variables of plugin tables as nested dicts; a value for
    a list, dict or model field is JSON, as pydantic-settings reads core's."""
    tree: dict[str, Any] = {}
    for path, name in env:
        model = tables.get(path[0])
        if model is None or len(path) < 2:
            continue
        text = environ[name]
        field = model.model_fields.get(path[1])
        if len(path) == 2 and field is not None and _is_complex(field.annotation):
            try:
                value: Any = json.loads(text)
            except ValueError:
                raise ConfigError(
                    f"environment variable {name}: {'.'.join(path)}: not valid JSON (a table "
                    "or a list from the environment is written as JSON)"
                ) from None
        else:
            value = text
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def public_table(model: BaseModel) -> dict[str, Any]:
    """A table as ``roost config`` shows it: JSON values, secrets masked."""
    data = model.model_dump(mode="json")
    for key, value in model:
        if isinstance(value, SecretStr):
            data[key] = MASK
    return data


def _merge(into: dict[str, Any], value: Mapping[str, Any]) -> None:
    for key, item in value.items():
        if isinstance(item, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], item)
        else:
            into[key] = dict(item) if isinstance(item, Mapping) else item


def _is_complex(annotation: Any) -> bool:
    """A list, dict, set, tuple or model (in ``X | None`` too): read as JSON from the env."""
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel | list | dict | set | tuple)
    origin = typing.get_origin(annotation)
    if origin in (list, dict, set, tuple):
        return True
    return any(_is_complex(arg) for arg in typing.get_args(annotation) if arg is not type(None))
