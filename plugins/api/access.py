"""The access log: one INFO line per request on ``roost.access`` (``api.access_log``).

Method, path (as sent, percent-encoded, without the query string: nothing a client sends
can break a line), status, duration, size and the peer; never a header (the token is one)
nor the body. ``api.access_log_format``: ``text`` (``key=value``, greppable) or ``json``
(one object a line, for log shippers).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

from .settings import ApiSettings

log = logging.getLogger("roost.access")
MAX_PATH = 200


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access logger interface, writing :func:`fields` as text or JSON."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
        f = fields(request, response, time)
        if self.log_format == "json":
            self.logger.info(json.dumps(f, separators=(",", ":")))
        else:
            self.logger.info(
                "access method=%s path=%s status=%d ms=%.1f bytes=%d remote=%s",
                f["method"],
                f["path"],
                f["status"],
                f["ms"],
                f["bytes"],
                f["remote"],
            )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)


def fields(request: BaseRequest, response: StreamResponse, time: float) -> dict[str, Any]:
    path = request.raw_path.partition("?")[0]
    if len(path) > MAX_PATH:
        path = path[:MAX_PATH] + "..."
    return {
        "method": request.method,
        "path": path,
        "status": response.status,
        "ms": round(time * 1000, 1),
        "bytes": response.body_length,
        "remote": request.remote or "-",
    }


def runner_options(cfg: ApiSettings) -> dict[str, Any]:
    """``web.AppRunner`` keywords for ``cfg``'s access log (None turns aiohttp's off)."""
    if not cfg.access_log:
        return {"access_log": None}
    return {
        "access_log": log,
        "access_log_class": AccessLogger,
        "access_log_format": cfg.access_log_format,
    }
