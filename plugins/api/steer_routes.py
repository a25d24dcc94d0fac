"""The routes that see and steer tasks: list, tweets, cancel, retry, redrive, purge, workers.

Each is a thin shell over the Python API (:mod:`roost.core.steering`): it reads the query or
body, calls the method, and answers its result in the envelope. Core's rules check every
argument; a :class:`ValidationFailed` becomes a 400 naming the parameter as the client wrote it.
``/tasks/{id}/<action>`` has two path segments after ``/tasks``, so it never meets the
``POST /tasks/<name>`` enqueue routes, whatever a task type's route is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from roost.core.app import Roost
from roost.core.errors import ValidationFailed
from roost.core.models import is_task_id
from roost.core.problems import format_errors, shorten

from .body import read_json
from .envelope import ApiError, ok
from .keys import ROOST
from .settings import api_settings
from .steer_schemas import PurgeIn, RedriveIn

LIST_PARAMS = ("status", "type", "limit", "cursor")
TWEETS_PARAMS = ("limit", "cursor")
#: The Python API's argument names, as the HTTP API spells them.
SPELLING = {"older_than": "olderThan", "task_id": "taskId"}


def _query(request: web.Request, known: tuple[str, ...]) -> dict[str, Any]:
    """The query parameters, each given at most once; a ``limit`` of digits as an int (other
    text goes to core's rule as it is, which says what a limit must be)."""
    query = request.rel_url.query
    for key in query:
        if key not in known:
            raise ApiError(
                400,
                "invalid_query",
                f"unknown query parameter {shorten(key, 40)!r}; this route takes: {', '.join(known)}",
            )
        if len(query.getall(key)) > 1:
            raise ApiError(400, "invalid_query", f"give {key} once (a comma list for several)")
    values: dict[str, Any] = dict(query)
    limit = values.get("limit")
    if isinstance(limit, str) and limit.isascii() and limit.isdigit() and len(limit) < 10:
        values["limit"] = int(limit)
    return values


def _task_id(request: web.Request) -> str:
    task_id = request.match_info["task_id"]
    if not is_task_id(task_id):
        raise ApiError(400, "invalid_task_id", "a task id is 24 hexadecimal characters")
    return task_id


def _refused(exc: ValidationFailed, code: str) -> ApiError:
    """A core rule's refusal as a 400, the argument named as HTTP spells it."""
    message = str(exc)
    for python, http in SPELLING.items():
        if message.startswith(python + ":"):
            message = http + message[len(python) :]
    return ApiError(400, code, message, exc.errors)


async def _body(request: web.Request, model: type[BaseModel], optional: bool) -> BaseModel:
    if optional and not request.body_exists:
        return model()
    body, text = await read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise ApiError(400, "invalid_body", format_errors(exc, fields_of=model), errors) from None


async def list_tasks(request: web.Request) -> web.Response:
    query = _query(request, LIST_PARAMS)
    try:
        page = await request.app[ROOST].list_tasks(**query)
    except ValidationFailed as exc:
        raise _refused(exc, "invalid_query") from None
    return ok(page.to_json())


async def task_tweets(request: web.Request) -> web.Response:
    task_id = _task_id(request)
    query = _query(request, TWEETS_PARAMS)
    try:
        page = await request.app[ROOST].tweets(task_id, **query)
    except ValidationFailed as exc:
        raise _refused(exc, "invalid_query") from None
    return ok(page.to_json("tweets"))


async def cancel(request: web.Request) -> web.Response:
    task = await request.app[ROOST].cancel(_task_id(request))
    return ok({"taskId": task.id, "status": task.status.value})


async def retry(request: web.Request) -> web.Response:
    task = await request.app[ROOST].retry(_task_id(request))
    return ok({"taskId": task.id, "status": task.status.value})


async def redrive(request: web.Request) -> web.Response:
    body: Mapping[str, Any] = (await _body(request, RedriveIn, optional=True)).model_dump()
    try:
        requeued = await request.app[ROOST].redrive(**body)
    except ValidationFailed as exc:
        raise _refused(exc, "invalid_body") from None
    return ok({"requeued": requeued})


async def purge(request: web.Request) -> web.Response:
    body = await _body(request, PurgeIn, optional=False)
    assert isinstance(body, PurgeIn)
    try:
        deleted = await request.app[ROOST].purge(body.status, body.olderThan, body.type)
    except ValidationFailed as exc:
        raise _refused(exc, "invalid_body") from None
    return ok({"deleted": deleted})


async def workers(request: web.Request) -> web.Response:
    found = await request.app[ROOST].workers()
    return ok({"workers": [w.to_json() for w in found]})


def steer_routes(roost: Roost) -> list[web.RouteDef]:
    p = api_settings(roost.settings).prefix
    return [
        web.get(p + "/tasks", list_tasks),
        web.get(p + "/tasks/{task_id}/tweets", task_tweets),
        web.post(p + "/tasks/{task_id}/cancel", cancel),
        web.post(p + "/tasks/{task_id}/retry", retry),
        web.post(p + "/queue/redrive", redrive),
        web.post(p + "/queue/purge", purge),
        web.get(p + "/workers", workers),
    ]
