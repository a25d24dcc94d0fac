"""The documented REST routes (DESIGN.md §2) plus task lookup and health."""

from __future__ import annotations

from aiohttp import web
from roost.core.app import Roost
from roost.core.errors import StoreCorrupt
from roost.core.models import is_task_id, iso
from roost.core.worker.maintenance import rescue

from .body import read_json
from .envelope import ApiError, ok
from .exposure import Exposed, exposed
from .keys import ROOST, WORKER
from .openapi import PATH as OPENAPI_PATH
from .openapi import openapi
from .schemas import parse_request
from .settings import api_settings


def enqueue_route(found: Exposed, prefix: str) -> web.RouteDef:
    """``POST {prefix}/tasks/<name>`` for one exposed task type."""
    task_type = found.task_type

    async def enqueue(request: web.Request) -> web.Response:
        roost = request.app[ROOST]
        payload, priority, run_at = parse_request(task_type, *await read_json(request))
        task = await roost.enqueue(task_type.name, payload, priority=priority, run_at=run_at)
        return ok(
            {
                "taskId": task.id,
                "type": task.type,
                "status": task.status.value,
                "createdAt": iso(task.created_at),
            },
            status=201,
        )

    enqueue.__doc__ = f"Enqueue a {task_type.name} task. {task_type.description}"
    return web.post(f"{prefix}/tasks/{found.name}", enqueue)


async def get_task(request: web.Request) -> web.Response:
    task_id = request.match_info["task_id"]
    if not is_task_id(task_id):
        raise ApiError(400, "invalid_task_id", "a task id is 24 hexadecimal characters")
    task = await request.app[ROOST].store.get(task_id)
    if task is None:
        raise ApiError(404, "task_not_found", f"no task with id {task_id}")
    return ok(task.to_json())


async def queue_stats(request: web.Request) -> web.Response:
    return ok((await request.app[ROOST].store.stats()).to_json())


async def worker_status(request: web.Request) -> web.Response:
    worker = request.app[WORKER]
    if worker is not None:
        return ok(worker.status())
    roost: Roost = request.app[ROOST]
    return ok(
        {
            "workerId": None,
            "running": False,
            "inflight": 0,
            "maxConcurrent": roost.settings.worker.max_concurrent,
        }
    )


async def recover(request: web.Request) -> web.Response:
    return ok({"recovered": await rescue(request.app[ROOST])})


async def health(request: web.Request) -> web.Response:
    """200 only when the store serves the tasks table and the in-process worker (if any)
    has not stopped for good."""
    worker = request.app[WORKER]
    if worker is not None and worker.failure is not None:
        why = (
            "the task store is damaged"
            if isinstance(worker.failure, StoreCorrupt)
            else "an unexpected error"
        )
        raise ApiError(
            503,
            "worker_stopped",
            f"the in-process worker {worker.id} stopped: {why} (the server log says more); "
            "this process needs a restart",
        )
    await request.app[ROOST].store.ping()
    return ok({"status": "ok"})


def builtin_routes(roost: Roost) -> list[web.RouteDef]:
    p = api_settings(roost.settings).prefix
    return [
        *(enqueue_route(found, p) for found in exposed(roost).values()),
        web.get(p + "/tasks/{task_id}", get_task),
        web.get(p + "/queue/stats", queue_stats),
        web.get(p + "/worker/status", worker_status),
        web.post(p + "/queue/recover", recover),
        web.get("/health", health),
        web.get(OPENAPI_PATH, openapi),
    ]
