"""The MongoDB engine (pymongo; mongomock for in-process tests), as a plugin: registers the
``mongodb://``, ``mongodb+srv://`` and ``mongomock://`` schemes.

:mod:`.engine` (the queue), :mod:`.client`, :mod:`.indexes`, :mod:`.docs` (documents and
the update each change is), :mod:`.changes` (a batch of fenced changes), :mod:`.steer` (the
operator's calls), :mod:`.workers` (the worker registry), :mod:`.records` (plugin records).
"""

from __future__ import annotations

from collections.abc import Callable

from ...hookspecs import hookimpl
from ...settings import StoreSettings
from ...store.contract import TaskStore
from .docs import doc_to_task
from .engine import MongoStore

__all__ = ["MongoStore", "doc_to_task", "register_stores"]


def _open(config: StoreSettings) -> TaskStore:
    return MongoStore(
        config.url,
        database=config.database,
        collection=config.collection,
        timeout_ms=int(config.timeout * 1000),
    )


@hookimpl(trylast=True)
def register_stores(register: Callable[[str, Callable[[StoreSettings], TaskStore]], None]) -> None:
    for scheme in ("mongodb", "mongodb+srv", "mongomock"):
        register(scheme, _open)
