"""``RecordStore``: plugin output (e.g. tweets) saved by key, apart from the task queue.

A record remembers every task that found it, so a task's results can be listed; the
engines implement this contract in their own ``records`` modules, and a
:class:`~roost.core.store.TaskStore` gives access to it as ``store.records``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import Any

from .models import RecordPage


class RecordStore(abc.ABC):
    """Records grouped by ``collection``, unique by their key within it."""

    @abc.abstractmethod
    def save(
        self, collection: str, records: Iterable[Mapping[str, Any]], key: str, task_id: str
    ) -> int:
        """Upsert ``records`` by ``record[key]``, remembering that ``task_id`` found them.
        Returns how many records were written."""

    @abc.abstractmethod
    def find(
        self, collection: str, *, task_id: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Records of ``collection`` in key order (those ``task_id`` found, when given),
        each with ``taskIds``: every task that found it."""

    @abc.abstractmethod
    def found_by(
        self, collection: str, task_id: str, *, limit: int = 100, after: str | None = None
    ) -> RecordPage:
        """The records ``task_id`` found, in the order it found them (first save first; a
        record saved again by the same task keeps its first place), each with its stored
        fields and ``taskIds``; ``after`` is the ``next`` of the previous page. Through an
        index: a task's page does not read other tasks' records."""
