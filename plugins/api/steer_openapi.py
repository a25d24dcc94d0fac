"""The steering routes in the OpenAPI document (:mod:`.openapi` builds the rest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from .steer_schemas import (
    QUERY,
    CancelOut,
    DeletedOut,
    PurgeIn,
    RedriveIn,
    RequeuedOut,
    TaskPageOut,
    TweetPageOut,
    WorkersOut,
)

MODELS: list[type[BaseModel]] = [
    RedriveIn,
    PurgeIn,
    CancelOut,
    RequeuedOut,
    DeletedOut,
    TaskPageOut,
    TweetPageOut,
    WorkersOut,
]
TASK_ID = {
    "name": "taskId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"},
}
Ref = Callable[[type[BaseModel]], dict[str, str]]
Responses = Callable[[str, dict[str, Any], tuple[str, ...]], dict[str, Any]]


def steer_paths(prefix: str, ref: Ref, responses: Responses) -> dict[str, Any]:
    """``{path: {method: operation}}`` of the seven steering routes."""
    common = ("401", "405", "503")

    def body(model: type[BaseModel], required: bool) -> dict[str, Any]:
        content = {"application/json": {"schema": ref(model)}}
        return {"required": required, "content": content}

    def task_action(name: str, summary: str, conflict: str) -> dict[str, Any]:
        return {
            "post": {
                "operationId": f"{name}_task",
                "summary": summary,
                "description": conflict,
                "parameters": [TASK_ID],
                "responses": responses("200", ref(CancelOut), ("400", "404", "409", *common)),
            }
        }

    return {
        prefix + "/tasks": {
            "get": {
                "operationId": "list_tasks",
                "summary": "Tasks, newest first, filtered by status and type, a page at a time",
                "parameters": QUERY["tasks"],
                "responses": responses("200", ref(TaskPageOut), ("400", *common)),
            }
        },
        prefix + "/tasks/{taskId}/tweets": {
            "get": {
                "operationId": "task_tweets",
                "summary": "The tweets a task found, in the order found, a page at a time",
                "parameters": [TASK_ID, *QUERY["tweets"]],
                "responses": responses("200", ref(TweetPageOut), ("400", "404", *common)),
            }
        },
        prefix + "/tasks/{taskId}/cancel": task_action(
            "cancel",
            "Cancel a task: PENDING at once, RUNNING within 10 s",
            "409 not_cancellable when the task already ended (DONE, FAILED, CANCELLED)",
        ),
        prefix + "/tasks/{taskId}/retry": task_action(
            "retry",
            "Run a FAILED or CANCELLED task again (attempts back to 0)",
            "409 not_retryable in any other status",
        ),
        prefix + "/queue/redrive": {
            "post": {
                "operationId": "queue_redrive",
                "summary": "Retry FAILED (or CANCELLED) tasks in bulk",
                "requestBody": body(RedriveIn, required=False),
                "responses": responses("200", ref(RequeuedOut), ("400", "413", "415", *common)),
            }
        },
        prefix + "/queue/purge": {
            "post": {
                "operationId": "queue_purge",
                "summary": "Delete finished tasks older than a time; their tweets stay",
                "requestBody": body(PurgeIn, required=True),
                "responses": responses("200", ref(DeletedOut), ("400", "413", "415", *common)),
            }
        },
        prefix + "/workers": {
            "get": {
                "operationId": "workers",
                "summary": "Every live worker process sharing the store, on any machine",
                "responses": responses("200", ref(WorkersOut), common),
            }
        },
    }
