"""Where each setting came from: an argument, a ``ROOST_*`` variable or the settings file.

An error then names the real source (``environment variable ROOST_WORKER__MAX_CONCURRENT``)
instead of blaming a file that is fine. The order of sources is pydantic-settings' priority:
arguments, then the environment, then the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "roost_"
NESTED = "__"
KeyPath = tuple[str, ...]


@dataclass
class Origins:
    """Key paths and the source that set them, highest priority first."""

    entries: list[tuple[KeyPath, str]] = field(default_factory=list)

    def add(self, path: KeyPath, label: str) -> None:
        self.entries.append((path, label))

    def add_tree(
        self, data: Mapping[str, Any], label: Callable[[KeyPath], str], at: KeyPath = ()
    ) -> None:
        """Every leaf of a nested mapping (a TOML document, keyword arguments)."""
        for key, value in data.items():
            path = (*at, str(key))
            if isinstance(value, Mapping) and value:
                self.add_tree(value, label, path)
            else:
                self.add(path, label(path))

    def exactly(self, path: KeyPath) -> str | None:
        """The source that set the key at ``path`` itself (not a table around it), or None."""
        return next((label for at, label in self.entries if at == path), None)

    def of(self, loc: Iterable[int | str]) -> str | None:
        """The source of the value at ``loc``: the first entry on the same branch."""
        key = tuple(str(p) for p in loc)
        for path, label in self.entries:
            n = min(len(path), len(key))
            if path[:n] == key[:n]:
                return label
        return None


def env_settings(
    environ: Mapping[str, str], tables: Iterable[str], *, strict: bool = True
) -> list[tuple[KeyPath, str]]:
    """``(key path, NAME)`` of each ``ROOST_<table>[__<key>...]`` variable, as pydantic-settings
    reads them (case-insensitive). ``ROOST_<unknown>__<key>`` is a misspelt table: an error
    (with ``strict``; else it is listed, for :func:`unknown_env_table` to check once the
    plugins' tables are known). Other ``ROOST_*`` names without ``__`` (``ROOST_SETTINGS``,
    ``ROOST_NO_ENTRY_POINTS``) are not settings and are left alone."""
    known = set(tables)
    found = []
    for name in sorted(environ):
        lower = name.lower()
        if not lower.startswith(ENV_PREFIX) or lower == ENV_PREFIX:
            continue
        path = tuple(lower[len(ENV_PREFIX) :].split(NESTED))
        if path[0] in known or (len(path) > 1 and not strict):
            found.append((path, name))
        elif len(path) > 1:
            unknown_env_table([(path, name)], known)
    return found


def unknown_env_table(env: Iterable[tuple[KeyPath, str]], tables: Iterable[str]) -> None:
    """:class:`ConfigError` for the first variable whose table is not one of ``tables``."""
    known = set(tables)
    for path, name in env:
        if path[0] not in known:
            raise ConfigError(
                f"environment variable {name}: {'.'.join(path)}: unknown settings table "
                f"{path[0]!r} (check the spelling; tables: {', '.join(sorted(known))})"
            )


def env_parse_error(
    message: str, environ: Mapping[str, str], env: list[tuple[KeyPath, str]]
) -> str:
    """pydantic-settings' "error parsing value for field "x"" as the variable to fix."""
    match = re.search(r'field "(\w+)"', message)
    table = match.group(1) if match else None
    named = [(path, name) for path, name in env if path[0] == table]
    culprits = [(p, n) for p, n in named if not _is_json(environ.get(n, ""))] or named
    if not culprits:
        return f"environment: {message}"
    return "; ".join(
        f"environment variable {name}: {'.'.join(path)}: not valid JSON (a table or a list "
        "from the environment is written as JSON, e.g. ROOST_PLUGINS__MODULES='[\"my_plugin\"]')"
        for path, name in culprits
    )


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
