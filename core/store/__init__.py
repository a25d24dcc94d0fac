"""The task store: the driver contract engines implement, the fenced changes, the async facade.

:mod:`.contract` (``TaskStore``), :mod:`.transitions` (Done / Retry / Fail / Release /
Checkpoint), :mod:`.dispatch` (``AsyncStore``), :mod:`.group_commit` (enqueue batching).
"""

from .contract import TaskStore
from .dispatch import AsyncStore
from .transitions import Checkpoint, Done, Fail, Release, Retry, Transition

__all__ = [
    "AsyncStore",
    "Checkpoint",
    "Done",
    "Fail",
    "Release",
    "Retry",
    "TaskStore",
    "Transition",
]
