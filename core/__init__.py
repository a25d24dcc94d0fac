"""roost's core: the durable task queue and the plugin contract.

What a plugin author or an application needs is importable from here::

    from roost.core import TaskType, TaskContext, hookimpl, RetryAfter, PermanentError
    from roost.core import Roost  # enqueue from Python
"""

from .app import Roost
from .errors import (
    ConfigError,
    LeaseLost,
    NotCancellable,
    NotFound,
    NotRetryable,
    PermanentError,
    RetryAfter,
    StoreCorrupt,
    StoreUnavailable,
    ValidationFailed,
    WorkerCrashed,
)
from .hookspecs import hookimpl
from .models import NewTask, QueueStats, Task, TaskStatus, WorkerInfo
from .pages import ResultsPage, TaskPage
from .retry import RetryPolicy
from .tasktypes import Exposure, RuntimeSpec, TaskContext, TaskType

__all__ = [
    "ConfigError",
    "Exposure",
    "LeaseLost",
    "NewTask",
    "NotCancellable",
    "NotFound",
    "NotRetryable",
    "PermanentError",
    "QueueStats",
    "RetryAfter",
    "ResultsPage",
    "RetryPolicy",
    "Roost",
    "RuntimeSpec",
    "StoreCorrupt",
    "StoreUnavailable",
    "Task",
    "TaskContext",
    "TaskPage",
    "TaskStatus",
    "TaskType",
    "ValidationFailed",
    "WorkerCrashed",
    "WorkerInfo",
    "hookimpl",
]
