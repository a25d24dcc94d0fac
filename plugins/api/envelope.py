"""The response envelope and the one middleware that turns every error into it.

``{"ok": true, "data": ...}`` or ``{"ok": false, "error": {"code", "message", "details"}}``.
A client's mistake is a 4xx with a message a person can act on; never a 500.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from roost.core.errors import (
    NotCancellable,
    NotFound,
    NotRetryable,
    StoreCorrupt,
    StoreUnavailable,
    ValidationFailed,
)
from roost.core.problems import MAX_PROBLEMS, shorten

from .keys import ROOST
from .settings import api_settings

log = logging.getLogger("roost.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_MESSAGE_CHARS = 8192


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def ok(data: Any, status: int = 200) -> web.Response:
    return web.json_response({"ok": True, "data": data}, status=status, dumps=_dumps)


def error(
    status: int, code: str, message: str, details: Any = None, **headers: str
) -> web.Response:
    """Every error response is built here, so its size is bounded here: a list of problems
    keeps its first :data:`MAX_PROBLEMS` and says how many more there were."""
    if isinstance(details, list) and len(details) > MAX_PROBLEMS:
        rest = len(details) - MAX_PROBLEMS
        more = {"type": "more_problems", "loc": [], "msg": f"{rest} more problems not shown"}
        details = [*details[:MAX_PROBLEMS], more]
    message = shorten(message, MAX_MESSAGE_CHARS)
    body = {"ok": False, "error": {"code": code, "message": message, "details": details}}
    return web.json_response(body, status=status, dumps=_dumps, headers=headers or None)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    409: "conflict",
    415: "unsupported_media_type",
}


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error(exc.status, exc.code, exc.message, exc.details)
    except ValidationFailed as exc:
        return error(400, "invalid_payload", str(exc), exc.errors)
    except NotFound as exc:
        return error(404, "task_not_found", str(exc))
    except (NotCancellable, NotRetryable) as exc:
        code = "not_cancellable" if isinstance(exc, NotCancellable) else "not_retryable"
        return error(409, code, str(exc), {"taskId": exc.task_id, "status": exc.status})
    except StoreUnavailable as exc:
        log.warning("store unavailable path=%s: %s", request.path, exc)
        return error(
            503,
            "store_unavailable",
            "the task store cannot be reached right now; try again shortly",
            None,
            **{"Retry-After": "5"},
        )
    except StoreCorrupt as exc:  # no Retry-After: retrying cannot help
        log.error("store damaged path=%s: %s", request.path, exc)
        return error(
            503,
            "store_corrupt",
            "the task store is damaged: an operator must repair it (the server log says "
            "how); retrying will not help",
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        message = _http_message(exc, request)
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return error(exc.status, HTTP_CODES.get(exc.status, "http_error"), message, None, **headers)
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and _client_gone(request):
            # the client hung up mid-request: nobody to answer, nothing for the server to fix
            log.info("client went away path=%s", shorten(request.path, 200))
            return error(
                400, "client_disconnected", "the connection closed before the body was read"
            )
        log.exception("unhandled error path=%s", request.path)
        return error(500, "internal_error", "internal error; the server log has the details")


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _http_message(exc: web.HTTPException, request: web.Request) -> str:
    if exc.status == 404:
        return f"no route {request.method} {request.path}; see /api/v4/openapi.json"
    if exc.status == 405:
        return f"{request.method} is not allowed on {request.path}; allowed: {exc.headers.get('Allow')}"
    if exc.status == 413:
        limit = api_settings(request.app[ROOST].settings).max_body_bytes
        return f"request body too large: the limit is {limit} bytes (decompressed)"
    return exc.reason


def bearer_is(request: web.Request, expected: str) -> bool:
    """``Authorization: Bearer <expected>``, compared in constant time."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    # header bytes that are not UTF-8 arrive as surrogates: they compare unequal, not raise
    sent = value.strip().encode("utf-8", "surrogatepass")
    return (
        scheme.lower() == "bearer" and bool(sent) and hmac.compare_digest(sent, expected.encode())
    )


@web.middleware
async def token_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With ``api.token`` set, every ``/api`` route needs ``Authorization: Bearer <token>``,
    the OpenAPI document too: it describes every task type a private plugin adds."""
    token = api_settings(request.app[ROOST].settings).token
    if (
        token is not None
        and request.path.startswith("/api/")
        and not bearer_is(request, token.get_secret_value())
    ):
        return error(
            401,
            "unauthorized",
            "missing or wrong token: send 'Authorization: Bearer <api.token>'",
            None,
            **{"WWW-Authenticate": "Bearer"},
        )
    return await handler(request)
