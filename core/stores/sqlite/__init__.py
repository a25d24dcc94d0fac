"""The embedded SQLite engine (stdlib), as a plugin: registers the ``sqlite://`` scheme.

:mod:`.engine` (the task queue), :mod:`.steer` (the operator's calls), :mod:`.workers` (the
registry), :mod:`.schema`, :mod:`.changes` (the fenced transitions), :mod:`.rows` (row
conversions), :mod:`.records` (plugin records), :mod:`.errors` (SQLite's errors classified).
"""

from __future__ import annotations

from collections.abc import Callable

from ...hookspecs import hookimpl
from ...settings import StoreSettings
from ...store.contract import TaskStore
from .engine import SQLiteStore, path_from_url

__all__ = ["SQLiteStore", "path_from_url", "register_stores"]


def _open(config: StoreSettings) -> TaskStore:
    return SQLiteStore(config.url, busy_timeout=config.timeout)


@hookimpl(trylast=True)
def register_stores(register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]) -> None:
    register("sqlite", _open)
