"""Which task types users reach from outside, and by which name: one table for the REST
routes, the OpenAPI document and ``roost enqueue``.

Built from the ``register_task_exposures`` hook and from task types still registered with
the deprecated ``TaskType(route=..., cli_arg=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.core.app import Roost
from roost.core.errors import ConfigError
from roost.core.tasktypes import Exposure, TaskType


@dataclass(frozen=True)
class Exposed:
    """A task type under its outside name."""

    task_type: TaskType
    exposure: Exposure

    @property
    def name(self) -> str:
        return self.exposure.name


def exposed(roost: Roost) -> dict[str, Exposed]:
    """``{name: Exposed}``; :class:`ConfigError` when an exposure names a field its task
    type's payload lacks, or two task types share a name.

    A built-in (``trylast``) plugin's exposure applies only to a task type that plugin
    registered itself: an installed plugin that replaces ``SEARCH`` decides whether and
    how its own ``SEARCH`` is exposed.
    """
    types = roost.registry.task_types
    owners = roost.registry.owners
    chosen: dict[str, Exposure] = {}
    for impl in roost.pm.hook.register_task_exposures.get_hookimpls():  # builtins first
        found: list[Exposure] = []
        impl.function(register=found.append)
        builtin = bool(impl.opts.get("trylast"))
        for item in found:
            if not isinstance(item, Exposure):
                raise ConfigError(f"register_task_exposures: expected an Exposure, got {item!r}")
            if builtin and owners.get(("task type", item.task_type)) != impl.plugin_name:
                continue
            chosen[item.task_type] = item
    for task_type in types.values():
        if task_type.legacy_exposure is not None:
            chosen.setdefault(task_type.name, task_type.legacy_exposure)
    table: dict[str, Exposed] = {}
    for task_type in types.values():  # in the order the task types were registered
        exposure = chosen.get(task_type.name)
        if exposure is None:
            continue
        positional = exposure.positional
        if positional is not None and positional not in task_type.payload.model_fields:
            raise ConfigError(
                f"exposure {exposure.name!r}: positional {positional!r} is not a field of "
                f"task type {task_type.name!r}"
            )
        if exposure.name in table:
            raise ConfigError(
                f"task types {table[exposure.name].task_type.name!r} and {task_type.name!r} "
                f"share route {exposure.name!r}"
            )
        table[exposure.name] = Exposed(task_type, exposure)
    return table
