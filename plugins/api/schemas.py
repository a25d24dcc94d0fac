"""Request models: each task type's payload model plus the scheduling options.

The same models validate requests and generate the OpenAPI document, so they cannot drift.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from roost.core.limits import Priority, RunAt
from roost.core.models import TaskStatus
from roost.core.problems import format_errors
from roost.core.tasktypes import TaskType

from .envelope import ApiError


@cache
def request_model(task_type: TaskType) -> type[BaseModel]:
    """``<payload fields> + priority + runAt``, extra fields forbidden."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        f"{task_type.name.title()}Request",
        __base__=task_type.payload,
        __config__=None,
        priority=(Priority, Field(0, description="higher runs first")),
        runAt=(
            RunAt | None,
            Field(
                None,
                description="ISO-8601 time with a timezone, dated 1970-01-01 to 9999-12-30 "
                "in that timezone; not run before it",
            ),
        ),
    )


def parse_request(
    task_type: TaskType, body: Any, text: str
) -> tuple[BaseModel, int, datetime | None]:
    """Validate the JSON ``text`` (already parsed as ``body``) against the task type's
    request model. Returns payload, priority and run-at time."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    model_cls = request_model(task_type)
    try:
        model = model_cls.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        unreadable = next((e for e in errors if e["type"] == "json_invalid"), None)
        if unreadable is not None:  # text json.loads took but the model's parser refuses
            message = f"the JSON cannot be read: {unreadable['msg']}"
            raise ApiError(400, "invalid_json", message) from None
        raise ApiError(
            400,
            "invalid_payload",
            f"{task_type.name}: {format_errors(exc, fields_of=model_cls)}",
            errors,
        ) from None
    return payload_of(task_type, model), model.priority, model.runAt  # type: ignore[attr-defined]


def payload_of(task_type: TaskType, request: BaseModel) -> BaseModel:
    """The payload alone, as the task type's own model: the scheduling options stay here,
    so core stores exactly the payload. Already validated (same fields, same validators),
    so it is built without validating again."""
    fields = task_type.payload.model_fields
    values = {name: getattr(request, name) for name in fields}
    return task_type.payload.model_construct(
        _fields_set=request.model_fields_set & set(fields),
        **values,
        **(request.model_extra or {}),
    )


class CreatedTask(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    taskId: str = Field(pattern=r"^[0-9a-f]{24}$")
    type: str
    status: TaskStatus
    createdAt: str


class QueueStatsOut(BaseModel):
    pending: int
    running: int
    done: int
    failed: int
    cancelled: int
    total: int


class WorkerStatusOut(BaseModel):
    workerId: str | None
    running: bool
    inflight: int
    maxConcurrent: int


class RecoverOut(BaseModel):
    recovered: int


class AttemptErrorOut(BaseModel):
    attempt: int
    at: str
    error: str


class TaskOut(BaseModel):
    """``GET .../tasks/{id}``: the whole task (see ``Task.to_json``)."""

    taskId: str
    type: str
    status: TaskStatus
    payload: dict[str, Any]
    priority: int
    attempts: int
    maxAttempts: int
    createdAt: str
    updatedAt: str
    nextRunAt: str
    lockedBy: str | None
    lockedAt: str | None
    leaseExpiresAt: str | None
    finishedAt: str | None
    result: dict[str, Any] | None
    lastError: str | None
    errors: list[AttemptErrorOut] = Field(description="the last 5 errors, oldest first")
    cancelRequested: bool = Field(description="true while a running task is being cancelled")
    checkpoint: dict[str, Any] | None
