"""A worker process's own metrics: ``GET /metrics`` on ``metrics.host:metrics.port``
(``roost worker --metrics-port N``), and its summary log line; a
:class:`~roost.core.runner.Server` of the runner, so the port is bound before anything
starts and a busy one stops start-up with one line (exit 2), as ``roost serve`` does. With
``api.token`` set it needs the token, as the API's ``/metrics`` does."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from roost.core.app import Roost
from roost.core.errors import ConfigError
from roost.core.worker import Worker
from roost.plugins.api.app import LOOPBACK
from roost.plugins.api.envelope import bearer_is
from roost.plugins.api.settings import api_settings

from .instruments import Metrics
from .scope import exposition
from .settings import metrics_settings
from .summary import summarize

log = logging.getLogger("roost.metrics")
WHERE = "--metrics-port, metrics.port or ROOST_METRICS__PORT"
HINTS = {
    errno.EADDRINUSE: f"another process listens there: choose another port ({WHERE})",
    errno.EACCES: f"not allowed to listen there (ports below 1024 need privileges): "
    f"choose another port ({WHERE})",
    errno.EADDRNOTAVAIL: "that address is not one of this machine's: fix metrics.host "
    "(ROOST_METRICS__HOST), e.g. 127.0.0.1 or 0.0.0.0",
}


def metrics_app(metrics: Metrics, token: str | None) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return await answer(request, metrics, token)

    app = web.Application()
    app.router.add_get("/metrics", handler)
    return app


async def answer(request: web.Request, metrics: Metrics, token: str | None) -> web.Response:
    """The exposition, or 401 without ``Authorization: Bearer <token>`` when one is set
    (queue sizes and type names are not public; Prometheus sends it with
    ``authorization: {credentials: ...}``)."""
    if token is not None and not bearer_is(request, token):
        return web.Response(
            status=401,
            text="missing or wrong token: send 'Authorization: Bearer <api.token>'\n",
            headers={"WWW-Authenticate": "Bearer"},
        )
    response = web.Response(body=await exposition(metrics))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or :class:`ConfigError` naming it and the fix."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except (socket.gaierror, OSError) as exc:
        raise ConfigError(
            f"cannot listen on {where} for metrics: {exc.strerror or exc}: fix metrics.host"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        hint = HINTS.get(exc.errno or 0)
        raise ConfigError(
            f"cannot listen on {where} for metrics: {exc.strerror or exc}"
            + (f"; {hint}" if hint else "")
        ) from None
    return sock


class MetricsServer:
    """The listener (when ``metrics.port`` is set) and the summary line (when a worker runs
    here and ``metrics.summary_interval`` is not 0)."""

    def __init__(self, roost: Roost, worker: Worker | None, metrics: Metrics) -> None:
        self.cfg = metrics_settings(roost.settings)
        token = api_settings(roost.settings).token
        self.token = None if token is None else token.get_secret_value()
        self.worker = worker
        self.metrics = metrics
        self._sock: socket.socket | None = None
        self._runner: web.AppRunner | None = None
        self._summary: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        where = "no listener" if self.cfg.port is None else f"{self.cfg.host}:{self.cfg.port}"
        return f"metrics ({where})"

    def bind(self) -> None:
        if self.cfg.port is not None:
            self._sock = bind(self.cfg.host, self.cfg.port)
            if self.cfg.host not in LOOPBACK and self.token is None:
                log.warning(
                    "metrics.host=%s is reachable from other machines and api.token is not"
                    " set: anyone there can read this worker's metrics",
                    self.cfg.host,
                )

    async def start(self) -> None:
        if self._sock is not None:
            self._runner = web.AppRunner(
                metrics_app(self.metrics, self.token), access_log=None, handle_signals=False
            )
            await self._runner.setup()
            await web.SockSite(self._runner, self._sock).start()
            port = self._sock.getsockname()[1]
            log.info("metrics listening on http://%s:%d/metrics", self.cfg.host, port)
        if self.worker is not None and self.cfg.summary_interval > 0:
            self._summary = asyncio.create_task(
                summarize(self.metrics, self.worker, self.cfg.summary_interval),
                name="worker-summary",
            )

    async def close(self) -> None:
        if self._summary is not None:
            self._summary.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._summary
        if self._runner is not None:
            await self._runner.cleanup()
        if self._sock is not None:
            self._sock.close()
