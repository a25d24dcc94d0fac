"""The aiohttp application factory, and the API as a server of :mod:`roost.core.runner`.

``roost serve`` is a :class:`~roost.core.runner.Runner` with an :class:`ApiServer`: the
runner binds its port before anything starts, sets up the store and runs the worker, and
returns when asked to stop or when the in-process worker stopped for good (raising why).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from roost.core.app import Roost
from roost.core.runner import running
from roost.core.worker import Worker

from . import clientlog
from .access import runner_options
from .envelope import envelope_middleware, token_middleware
from .keys import ROOST, WORKER
from .listen import listen
from .settings import api_settings

log = logging.getLogger("roost.api")
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def build_app(roost: Roost, worker: Worker | None = None) -> web.Application:
    """The REST API over ``roost``; routes come from every plugin's ``register_web_routes``.
    ``worker`` is what ``/worker/status`` and ``/health`` report on; the app does not run it."""
    clientlog.install()  # a client's malformed request: one INFO line, not an ERROR traceback
    app = web.Application(
        client_max_size=api_settings(roost.settings).max_body_bytes,
        middlewares=[envelope_middleware, token_middleware],
    )
    app[ROOST] = roost
    app[WORKER] = worker
    for routes in collect_routes(roost):
        app.router.add_routes(routes)
    return app


def make_app(roost: Roost, worker: Worker | None = None) -> web.Application:
    """:func:`build_app` owning its lifetime, for an app served on its own (aiohttp's test
    client, ``aiohttp.web.run_app``): the store set up and ``worker`` run while it serves,
    then the worker stopped and ``roost`` closed, as :func:`roost.core.runner.running` does."""
    app = build_app(roost, worker)

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        async with running(roost, worker, owned=[roost]):
            yield

    app.cleanup_ctx.append(lifetime)
    return app


def collect_routes(roost: Roost) -> list[Any]:
    found: list[Any] = []
    roost.pm.hook.register_web_routes(register=found.append, roost=roost)
    return found


class ApiServer:
    """The REST API on ``api.host:api.port``, run by a :class:`~roost.core.runner.Runner`."""

    def __init__(self, roost: Roost, worker: Worker | None) -> None:
        self.roost = roost
        self.app = build_app(roost, worker)
        cfg = api_settings(roost.settings)
        self._runner = web.AppRunner(self.app, handle_signals=False, **runner_options(cfg))
        self._socks: list[Any] = []

    def bind(self) -> None:
        """Listen before the store is touched: :class:`ConfigError` naming ``host:port``."""
        cfg = api_settings(self.roost.settings)
        self._socks = listen(cfg.host, cfg.port)
        if cfg.host not in LOOPBACK and cfg.token is None:
            log.warning(
                "api.host=%s is reachable from other machines and api.token is not set: "
                "anyone who can reach it can enqueue tasks",
                cfg.host,
            )

    async def start(self) -> None:
        cfg = api_settings(self.roost.settings)
        await self._runner.setup()
        for sock in self._socks:
            await web.SockSite(self._runner, sock).start()
        port = self._socks[0].getsockname()[1]
        log.info("api listening on http://%s:%d%s", cfg.host, port, cfg.prefix)

    async def close(self) -> None:
        await self._runner.cleanup()
        for sock in self._socks:  # closed by their sites, unless start-up failed before
            sock.close()
