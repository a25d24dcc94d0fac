"""Models of the steering routes: the bodies they read and the data they answer.

The request models validate bodies and generate the OpenAPI document (they cannot drift);
the output models document the answers. Query parameters are checked by core's own rules
(:mod:`roost.core.steer_args`); :data:`QUERY` documents them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError
from roost.core.durations import MAX_SECONDS
from roost.core.fields import NOT_TEXT
from roost.core.limits import RunAt
from roost.core.pages import CURSOR_PATTERN
from roost.core.steer_args import STATUSES_PATTERN, TYPE_PATTERN
from roost.core.steering import LIST_MAX, RESULTS_MAX

from .schemas import TaskOut

TypeName = Annotated[str, Field(pattern=TYPE_PATTERN, description="a task type, e.g. SEARCH")]


class RedriveIn(BaseModel):
    """``POST .../queue/redrive``: every field optional (no body at all is ``{}``)."""

    model_config = ConfigDict(extra="forbid")
    type: TypeName | None = None
    status: Literal["FAILED", "CANCELLED"] = "FAILED"
    limit: (
        Annotated[int, Field(ge=1, description="at most this many (default: all)"), NOT_TEXT] | None
    ) = None


def _older_than_rule(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """One message for the two forms, instead of one per branch of the union."""
    try:
        return handler(value)
    except ValidationError:
        shown = repr(value) if len(repr(value)) <= 50 else repr(value)[:47] + "..."
        raise PydanticCustomError(
            "value_error", "{problem}", {"problem": f"{OLDER_THAN_RULE} (got {shown})"}
        ) from None


OLDER_THAN_RULE = (
    f"must be seconds from 0 to {MAX_SECONDS:.0f} or an ISO-8601 time with a timezone "
    "(e.g. 2026-01-31T12:00:00Z)"
)
OlderThan = Annotated[
    Annotated[float, Field(ge=0, le=MAX_SECONDS), NOT_TEXT] | RunAt,
    WrapValidator(_older_than_rule),
    Field(description="seconds, or an ISO-8601 time with a timezone: finished before it"),
]


class PurgeIn(BaseModel):
    """``POST .../queue/purge``: finished tasks only; PENDING and RUNNING are never deleted."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["DONE", "FAILED", "CANCELLED"]
    olderThan: OlderThan
    type: TypeName | None = None


class CancelOut(BaseModel):
    taskId: str
    status: str


class RequeuedOut(BaseModel):
    requeued: int


class DeletedOut(BaseModel):
    deleted: int


class TaskPageOut(BaseModel):
    tasks: list[TaskOut]
    nextCursor: str | None


class TweetPageOut(BaseModel):
    tweets: list[dict[str, Any]] = Field(description="each with its stored fields and taskIds")
    nextCursor: str | None


class SlotOut(BaseModel):
    name: str
    state: str = Field(description="free, busy, cooling or retired")
    reason: str = Field(description="why it is cooling down or retired")
    coolUntil: str | None = Field(description="when a cooling slot is usable again")
    leases: int


class WorkerOut(BaseModel):
    workerId: str
    host: str
    pid: int
    startedAt: str
    lastSeenAt: str
    running: bool
    inflight: int
    maxConcurrent: int
    types: list[str] | None
    slots: list[SlotOut] | None = Field(
        description="its runtime's session slots (null: none, or the runtime has not started)"
    )


class WorkersOut(BaseModel):
    workers: list[WorkerOut]


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


#: The ``format`` of each listing's cursor: opaque text only that listing's pages hand out
#: (the fuzz test registers how to make valid ones).
CURSOR_FORMATS = {"tasks": "roost-tasks-cursor", "tweets": "roost-tweets-cursor"}


def _cursor(listing: str) -> dict[str, Any]:
    schema = {"type": "string", "pattern": CURSOR_PATTERN, "format": CURSOR_FORMATS[listing]}
    return _param("cursor", schema, "the nextCursor of the previous page, as it is")


#: The query parameters of ``GET .../tasks``, then of ``GET .../tasks/{id}/tweets``.
QUERY = {
    "tasks": [
        _param(
            "status",
            {"type": "string", "pattern": STATUSES_PATTERN},
            "one status or a comma list, e.g. FAILED,CANCELLED",
        ),
        _param("type", {"type": "string", "pattern": TYPE_PATTERN}, "a task type, e.g. SEARCH"),
        _param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": LIST_MAX, "default": 50},
            "tasks per page",
        ),
        _cursor("tasks"),
    ],
    "tweets": [
        _param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": RESULTS_MAX, "default": 100},
            "tweets per page",
        ),
        _cursor("tweets"),
    ],
}
