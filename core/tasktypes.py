"""What a plugin registers: task types, runtimes, and the context a handler runs in."""

from __future__ import annotations

import functools
import inspect
import logging
import re
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter

from .errors import ConfigError, LeaseLost, RoostDeprecationWarning
from .models import Task
from .retry import RetryPolicy
from .store.transitions import Checkpoint

if TYPE_CHECKING:
    from .store import AsyncStore

Handler = Callable[["TaskContext", Any], Awaitable[dict[str, Any] | None]]
NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
ROUTE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class TaskType:
    """A kind of task: ``name`` + payload model + async handler.

    ``handler(ctx, payload)`` receives a :class:`TaskContext` and the validated
    payload model, and returns a small JSON-able summary stored on the task (or None).
    Optional: ``retry`` (else the settings' policy), ``timeout`` seconds (else
    ``worker.task_timeout``), ``concurrency`` (at most this many at once per worker).
    How users reach it from outside (an HTTP route, a ``roost enqueue`` verb) is an
    :class:`Exposure`, registered apart; ``route`` and ``cli_arg`` here are its deprecated
    spelling, still honoured (:attr:`legacy_exposure`).
    """

    name: str
    payload: type[BaseModel]
    handler: Handler
    retry: RetryPolicy | None = None
    timeout: float | None = None
    concurrency: int | None = None
    route: InitVar[str | None] = None
    cli_arg: InitVar[str | None] = None
    description: str = ""
    #: the Exposure the deprecated ``route``/``cli_arg`` keywords asked for, or None
    legacy_exposure: Exposure | None = field(default=None, init=False, compare=False)

    def __post_init__(self, route: str | None, cli_arg: str | None) -> None:
        where = f"task type {self.name!r}"
        if not isinstance(self.name, str) or not NAME.match(self.name):
            raise ConfigError(f"{where}: the name must be UPPER_SNAKE_CASE, e.g. 'SEARCH'")
        if not (isinstance(self.payload, type) and issubclass(self.payload, BaseModel)):
            raise ConfigError(f"{where}: payload must be a pydantic BaseModel subclass")
        if not inspect.iscoroutinefunction(self.handler):
            raise ConfigError(f"{where}: handler must be an async function (ctx, payload)")
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"{where}: timeout must be > 0 seconds")
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError(f"{where}: concurrency must be >= 1")
        if route is not None or cli_arg is not None:
            self._legacy(route, cli_arg)

    def _legacy(self, route: str | None, cli_arg: str | None) -> None:
        where = f"task type {self.name!r}"
        if route is not None and not ROUTE.match(route):
            raise ConfigError(f"{where}: route must be lower-case letters, digits, - or _")
        if cli_arg is not None and cli_arg not in self.payload.model_fields:
            raise ConfigError(f"{where}: cli_arg {cli_arg!r} is not a payload field")
        exposure = Exposure(self.name, route, cli_arg) if route else None
        instead = (
            f"register {exposure!r} from a "
            "register_task_exposures hook instead (see roost.core.hookspecs)"
            if route
            else "cli_arg without route has no effect: drop it"
        )
        warnings.warn(
            f"{where}: TaskType(route=..., cli_arg=...) is deprecated: {instead}",
            RoostDeprecationWarning,
            stacklevel=4,
        )
        object.__setattr__(self, "legacy_exposure", exposure)

    def parse(self, payload: Mapping[str, Any] | BaseModel) -> BaseModel:
        """The payload model from stored or caller-given data. Raises ValidationError.

        Payload models that use :mod:`roost.core.fields` accept the same values here as
        in a JSON body, so stored and freshly posted payloads pass the same checks."""
        if isinstance(payload, self.payload):
            return payload
        return self.payload.model_validate(payload)

    def parse_many(self, payloads: Sequence[Mapping[str, Any] | BaseModel]) -> list[Any]:
        """:meth:`parse` for a whole list in one pydantic call (3x faster per payload).
        A ValidationError's locations start with the payload's index."""
        return _list_adapter(self.payload).validate_python(payloads)  # type: ignore[no-any-return]

    def dump_many(self, models: list[BaseModel]) -> list[dict[str, Any]]:
        """:meth:`dump` for a list of models, in one call."""
        adapter = _list_adapter(self.payload)
        return adapter.dump_python(models, mode="json", by_alias=True, exclude_none=True)  # type: ignore[no-any-return]

    def dump(self, model: BaseModel) -> dict[str, Any]:
        """The JSON form stored on the task, ``None``s left out."""
        return model.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass(frozen=True, slots=True)
class Exposure:
    """How users reach a task type from outside: the REST route
    ``POST {api.prefix}/tasks/<name>`` and the verb ``roost enqueue <name> [VALUE]``, where
    ``VALUE`` fills the payload field ``positional``. ``name`` defaults to the task type's
    name in lower case with ``-``: ``URL_CHECK`` -> ``url-check``."""

    task_type: str
    name: str = ""
    positional: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.task_type.lower().replace("_", "-"))
        if not ROUTE.match(self.name):
            raise ConfigError(
                f"exposure of task type {self.task_type!r}: name {self.name!r} must be "
                "lower-case letters, digits, - or _"
            )

    def __str__(self) -> str:
        return f"{self.name} ({self.task_type})"

    def __repr__(self) -> str:
        """The shortest call that makes it: ``Exposure('URL_CHECK', positional='url')``."""
        args = [repr(self.task_type)]
        if self.name != self.task_type.lower().replace("_", "-"):
            args.append(f"name={self.name!r}")
        if self.positional is not None:
            args.append(f"positional={self.positional!r}")
        return f"Exposure({', '.join(args)})"


@functools.cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[BaseModel]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """A named runtime: ``factory(settings)`` builds it from its validated settings table."""

    name: str
    factory: Callable[[Any], Any]
    settings_model: type[BaseModel] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.match(r"^[a-z][a-z0-9_]*$", self.name):
            raise ConfigError(f"runtime {self.name!r}: the name must be lower_snake_case")
        if not callable(self.factory):
            raise ConfigError(f"runtime {self.name!r}: factory must be callable")


class TaskContext:
    """What a handler gets besides its payload: the task, the runtime, and fenced writes."""

    def __init__(
        self,
        task: Task,
        store: AsyncStore,
        runtime: Callable[[], Awaitable[Any]],
        log: logging.Logger,
    ) -> None:
        self.task = task
        self.log = log
        self._store = store
        self._runtime = runtime

    async def runtime(self) -> Any:
        """The runtime selected in settings (``runtime.name``), started on first use."""
        return await self._runtime()

    async def save(
        self, collection: str, records: Iterable[Mapping[str, Any]], key: str = "id"
    ) -> int:
        """Upsert records (e.g. tweets) by ``key``, noting this task found them."""
        records = list(records)
        if not records:
            return 0
        return await self._store.save_records(collection, records, key, self.task.id)

    async def checkpoint(self, data: dict[str, Any]) -> None:
        """Keep resumable progress (a cursor); a retry of this task sees it on ``task.checkpoint``."""
        assert self.task.lease_id is not None
        [held] = await self._store.apply([Checkpoint(self.task.id, self.task.lease_id, data)])
        if not held:
            raise LeaseLost(f"task {self.task.id}: lease lost while saving a checkpoint")
        self.task.checkpoint = data
