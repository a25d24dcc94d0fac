"""``Roost``: settings + plugins + store + runtime, assembled once per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

import pluggy
from pydantic import BaseModel, ValidationError

from .errors import ConfigError, StoreUnavailable, ValidationFailed
from .limits import check_priority, check_run_at
from .models import NewTask, Task
from .plugins import Registry, build_registry, make_plugin_manager
from .problems import format_errors
from .retry import RetryPolicy
from .settings import Settings, load_settings
from .steering import Steering
from .store import AsyncStore
from .tasktypes import TaskType

log = logging.getLogger("roost")


class Roost(Steering):
    """The application: what a worker, the API and the CLI share in one process. Seeing and
    steering tasks (list, cancel, retry, redrive, purge, workers, records) come from
    :class:`~roost.core.steering.Steering`."""

    def __init__(self, settings: Settings, pm: pluggy.PluginManager, registry: Registry) -> None:
        self.settings = settings
        self.pm = pm
        self.registry = registry
        self.retry_policy = settings.retry.policy()
        self.runtime_settings = self._check_runtime_settings()
        self.store = AsyncStore(self._open_store())
        self._runtime: Any = None
        self._runtime_lock = asyncio.Lock()

    @classmethod
    def create(cls, settings: Settings | None = None, *, plugins: Iterable[object] = ()) -> Roost:
        """Load plugins and open (but do not yet contact) the store. Raises ConfigError."""
        settings = settings or load_settings()
        pm = make_plugin_manager(
            entry_points=settings.plugins.entry_points,
            modules=settings.plugins.modules,
            disable=settings.plugins.disable,
            plugins=plugins,
        )
        return cls(settings, pm, build_registry(pm))

    # -- assembly ----------------------------------------------------------------------
    def _open_store(self) -> Any:
        url, where = self.settings.store.url, self.settings.source("store", "url")
        try:
            scheme = urlparse(url).scheme
        except ValueError as exc:
            raise ConfigError(f"{where}: store.url: {exc}") from None
        opener = self.registry.stores.get(scheme)
        if opener is None:
            known = ", ".join(f"{s}://" for s in sorted(self.registry.stores))
            shown = self.settings.public()["store"]["url"]  # without its password
            raise ConfigError(
                f"{where}: store.url {shown!r}: unknown scheme {scheme!r}; known: {known}"
            )
        return opener(self.settings.store)

    def _check_runtime_settings(self) -> BaseModel | None:
        """Validate ``[runtime.<name>]`` tables now, so a typo stops start-up with its key."""
        cfg = self.settings.runtime
        known = self.registry.runtimes
        if cfg.name not in known:
            raise ConfigError(
                f"{self.settings.source('runtime', 'name')}: runtime.name = {cfg.name!r} is not "
                f"a registered runtime; available: {', '.join(sorted(known)) or 'none'}"
            )
        chosen = None
        for name in cfg.model_extra or {}:
            spec = known.get(name)
            if spec is None:
                raise ConfigError(
                    f"{self.settings.source('runtime', name)}: runtime.{name}: "
                    f"no runtime named {name!r} is registered"
                )
            if spec.settings_model is None:
                raise ConfigError(
                    f"{self.settings.source('runtime', name)}: runtime.{name}: "
                    f"runtime {name!r} takes no settings"
                )
            try:
                model = spec.settings_model.model_validate(cfg.table(name))
            except ValidationError as exc:
                message = format_errors(
                    exc,
                    at=("runtime", name),
                    label=lambda loc: self.settings.source(*map(str, loc)),
                )
                raise ConfigError(message) from None
            if name == cfg.name:
                chosen = model
        spec = known[cfg.name]
        if chosen is None and spec.settings_model is not None:
            chosen = spec.settings_model()
        return chosen

    async def start(self) -> None:
        """Create the store's tables/indexes (idempotent)."""
        try:
            await self.store.setup()
        except StoreUnavailable as exc:
            url = self.settings.public()["store"]["url"]
            raise StoreUnavailable(f"store.url {url}: {exc}") from exc

    async def runtime(self) -> Any:
        """The selected runtime, built and started on first use, shared by all tasks."""
        async with self._runtime_lock:
            if self._runtime is None:
                spec = self.registry.runtimes[self.settings.runtime.name]
                runtime = spec.factory(self.runtime_settings)
                await runtime.start()
                log.info("runtime started name=%s", spec.name)
                self._runtime = runtime
            return self._runtime

    @property
    def started_runtime(self) -> Any:
        """The runtime if a task started it in this process already, else None (for status
        pages, which must not start a browser to look at it)."""
        return self._runtime

    async def close(self) -> None:
        if self._runtime is not None:
            runtime, self._runtime = self._runtime, None
            try:
                await runtime.close()
            except Exception:
                log.exception("runtime close failed")
        await asyncio.get_running_loop().run_in_executor(None, self.store.close)

    # -- producing tasks ---------------------------------------------------------------
    def task_type(self, name: str) -> TaskType:
        try:
            return self.registry.task_types[name]
        except KeyError:
            known = ", ".join(sorted(self.registry.task_types))
            raise ValidationFailed(f"unknown task type {name!r}; known: {known}") from None

    def policy_for(self, task_type: TaskType) -> RetryPolicy:
        return task_type.retry or self.retry_policy

    def new_task(
        self,
        type_name: str,
        payload: dict[str, Any] | BaseModel,
        *,
        priority: int = 0,
        run_at: datetime | None = None,
        dedupe_key: str | None = None,
    ) -> NewTask:
        """Validate ``payload`` with the task type's model, and ``priority`` and ``run_at``
        (an aware time) with :mod:`.limits`; raise ValidationFailed if one does not fit."""
        task_type = self.task_type(type_name)
        priority, run_at = check_priority(priority), check_run_at(run_at)
        try:
            model = task_type.parse(payload)
        except ValidationError as exc:
            raise _failed(f"{type_name} payload", exc, task_type.payload) from None
        return NewTask(
            type=type_name,
            payload=task_type.dump(model),
            priority=priority,
            run_at=run_at,
            max_attempts=self.policy_for(task_type).max_attempts,
            dedupe_key=dedupe_key,
        )

    def new_tasks(
        self,
        type_name: str,
        payloads: Sequence[dict[str, Any] | BaseModel],
        *,
        priority: int = 0,
        run_at: datetime | None = None,
    ) -> list[NewTask]:
        """:meth:`new_task` for many payloads of one type, validated in one pydantic call.
        ValidationFailed names each bad payload by its index; then none is returned."""
        task_type = self.task_type(type_name)
        priority, run_at = check_priority(priority), check_run_at(run_at)
        try:
            dumped = task_type.dump_many(task_type.parse_many(payloads))
        except ValidationError as exc:
            raise _failed(f"{type_name} payloads (index.field)", exc, task_type.payload) from None
        attempts = self.policy_for(task_type).max_attempts
        return [NewTask(type_name, payload, priority, run_at, attempts) for payload in dumped]

    async def enqueue(
        self, type_name: str, payload: dict[str, Any] | BaseModel, **opts: Any
    ) -> Task:
        """Validate and store one task; an in-process worker is woken at once."""
        return await self.store.enqueue(self.new_task(type_name, payload, **opts))

    async def enqueue_many(self, tasks: Sequence[NewTask]) -> list[Task]:
        """Store many already validated tasks (:meth:`new_task`, :meth:`new_tasks`) in one
        write: all or none."""
        return await self.store.enqueue_many(tasks)


def _failed(what: str, exc: ValidationError, model: type[BaseModel]) -> ValidationFailed:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    message = format_errors(exc, fields_of=model)
    return ValidationFailed(f"{what}: {message}", [dict(e) for e in errors])
