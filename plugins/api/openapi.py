"""The OpenAPI 3.1 document, generated from the models the handlers validate with."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from roost.core.app import Roost

from .exposure import exposed
from .keys import ROOST
from .schemas import CreatedTask, QueueStatsOut, RecoverOut, TaskOut, WorkerStatusOut, request_model
from .series import MODELS as SERIES_MODELS
from .series import series_paths
from .settings import api_settings
from .steer_openapi import MODELS as STEER_MODELS
from .steer_openapi import steer_paths

PATH = "/api/v4/openapi.json"
REF = "#/components/schemas/{model}"


def _envelope(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["ok", "data"],
        "properties": {"ok": {"const": True}, "data": schema},
    }


ERROR = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        },
    },
}
ERRORS = {
    "400": "the input is wrong; the message says what to change",
    "401": "api.token is set and the request has no or a wrong bearer token",
    "404": "no such task or route",
    "405": "method not allowed on this route",
    "409": "the task's status does not allow this (not_cancellable, not_retryable)",
    "413": "the body is larger than api.max_body_bytes",
    "415": "the body is not application/json",
    "503": "the task store cannot be reached right now",
}


ACCESS = (
    "With api.token set, every /api route, this document included, needs "
    "'Authorization: Bearer <api.token>' (401 otherwise); /health never does."
)


def _responses(ok_code: str, schema: dict[str, Any], codes: tuple[str, ...]) -> dict[str, Any]:
    out = {
        ok_code: {
            "description": "success",
            "content": {"application/json": {"schema": _envelope(schema)}},
        }
    }
    for code in codes:
        out[code] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
        }
    return out


def build(roost: Roost) -> dict[str, Any]:
    prefix = api_settings(roost.settings).prefix
    routes = {name: found.task_type for name, found in exposed(roost).items()}
    models: list[type[BaseModel]] = [request_model(t) for t in routes.values()]
    models += [
        CreatedTask,
        QueueStatsOut,
        WorkerStatusOut,
        RecoverOut,
        TaskOut,
        *STEER_MODELS,
        *SERIES_MODELS,
    ]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    schemas = {**defs.get("$defs", {}), "Error": ERROR}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": REF.format(model=model.__name__)}

    common = ("401", "405", "503")
    paths: dict[str, Any] = {}
    for route, task_type in routes.items():
        paths[f"{prefix}/tasks/{route}"] = {
            "post": {
                "operationId": f"enqueue_{route}",
                "summary": f"Enqueue a {task_type.name} task",
                "description": task_type.description,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref(request_model(task_type))}},
                },
                "responses": _responses("201", ref(CreatedTask), ("400", "413", "415", *common)),
            }
        }
    paths[prefix + "/tasks/{taskId}"] = {
        "get": {
            "operationId": "get_task",
            "summary": "One task, with its result and last error",
            "parameters": [
                {
                    "name": "taskId",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{24}$"},
                }
            ],
            "responses": _responses("200", ref(TaskOut), ("400", "404", *common)),
        }
    }
    for path, op, model, summary in (
        ("/queue/stats", "get", QueueStatsOut, "Task counts per status"),
        ("/worker/status", "get", WorkerStatusOut, "The in-process worker"),
        ("/queue/recover", "post", RecoverOut, "Recover expired leases now"),
    ):
        paths[prefix + path] = {
            op: {
                "operationId": path.strip("/").replace("/", "_"),
                "summary": summary,
                "responses": _responses("200", ref(model), common),
            }
        }
    paths.update(steer_paths(prefix, ref, _responses))
    paths.update(series_paths(prefix, ref, _responses))
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "roost", "version": "4", "description": ACCESS},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if api_settings(roost.settings).token is not None:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc


async def openapi(request: web.Request) -> web.Response:
    """The document itself (bare, not enveloped: tools read it as is)."""
    return web.json_response(build(request.app[ROOST]))
