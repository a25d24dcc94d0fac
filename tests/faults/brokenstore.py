"""A storage-engine plugin with a bug in its claim, for the lifecycle tests.

``store.url = buggy:///path/roost.db`` is the SQLite engine on that file, except that its
claim raises (as an engine's bug would): a worker that claims through it stops for good.
Load with ``ROOST_PLUGINS__MODULES='["faults.brokenstore"]'`` (``tests/`` on PYTHONPATH), or
pass the module to ``Roost.create(..., plugins=[brokenstore])``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from roost.core.hookspecs import hookimpl
from roost.core.settings import StoreSettings
from roost.core.store import TaskStore
from roost.core.stores.sqlite import SQLiteStore

BUG = "bug in the engine's claim (on purpose)"


class BuggyStore(SQLiteStore):
    def __init__(self, url: str) -> None:
        super().__init__("sqlite:" + url.removeprefix("buggy:"))

    def nowait(self) -> None:
        return None  # every call through this engine, also on the loop

    def claim(self, worker_id: str, types: Sequence[str] | None, limit: int, lease: float) -> Any:
        raise RuntimeError(BUG)


@hookimpl
def register_stores(register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]) -> None:
    register("buggy", lambda config: BuggyStore(config.url))
