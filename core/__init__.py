"""roost's core: the durable task queue and the plugin contract.

What a plugin author needs is importable from here::

    from roost.core import TaskType, TaskContext, hookimpl, RetryAfter, PermanentError
"""

from .errors import ConfigError, LeaseLost, PermanentError, RetryAfter, StoreUnavailable
from .hookspecs import hookimpl
from .models import NewTask, QueueStats, Task, TaskStatus
from .retry import RetryPolicy
from .tasktypes import RuntimeSpec, TaskContext, TaskType

__all__ = [
    "ConfigError",
    "LeaseLost",
    "NewTask",
    "PermanentError",
    "QueueStats",
    "RetryAfter",
    "RetryPolicy",
    "RuntimeSpec",
    "StoreUnavailable",
    "Task",
    "TaskContext",
    "TaskStatus",
    "TaskType",
    "hookimpl",
]
