"""The aiohttp application factory and the server runner used by ``roost serve``.

``serve`` binds its port before anything starts, and returns when asked to stop or when the
in-process worker stopped for good (raising why): a supervisor then restarts the process
instead of it serving on, healthy-looking, with no worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from roost.core.app import Roost
from roost.core.worker import Worker

from . import clientlog
from .envelope import envelope_middleware, token_middleware
from .keys import ROOST, WORKER
from .listen import listen

log = logging.getLogger("roost.api")


def make_app(roost: Roost, worker: Worker | None = None) -> web.Application:
    """The REST API over ``roost``; routes come from every plugin's ``register_web_routes``.

    With ``worker`` (a :class:`roost.core.worker.Worker`) the worker runs inside the app's
    lifetime: started with it, stopped gracefully before the store closes.
    """
    clientlog.install()  # a client's malformed request: one INFO line, not an ERROR traceback
    app = web.Application(
        client_max_size=roost.settings.api.max_body_bytes,
        middlewares=[envelope_middleware, token_middleware],
    )
    app[ROOST] = roost
    app[WORKER] = worker
    for routes in collect_routes(roost):
        app.router.add_routes(routes)
    app.cleanup_ctx.append(_lifetime)
    return app


def collect_routes(roost: Roost) -> list[Any]:
    found: list[Any] = []
    roost.pm.hook.register_web_routes(register=found.append, roost=roost)
    return found


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    roost, worker = app[ROOST], app[WORKER]
    await roost.start()
    if worker is None:
        yield
    else:
        await worker.roost.runtime()  # a runtime that cannot start stops start-up, not tasks
        job = asyncio.create_task(worker.run(), name="worker")
        yield
        worker.stop()
        # a failure was logged by the worker; /health and serve() report worker.failure
        await asyncio.gather(job, return_exceptions=True)
    await roost.close()


async def serve(roost: Roost, app: web.Application, stop: asyncio.Event) -> None:
    """Serve on ``api.host:api.port`` until ``stop`` is set or the in-process worker stopped
    for good; then raise its :attr:`~roost.core.worker.Worker.failure`. The port is bound
    before the app starts: :class:`ConfigError` naming ``host:port`` when it cannot be."""
    cfg = roost.settings.api
    socks = listen(cfg.host, cfg.port)
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and cfg.token is None:
        log.warning(
            "api.host=%s is reachable from other machines and api.token is not set: "
            "anyone who can reach it can enqueue tasks",
            cfg.host,
        )
    worker = app[WORKER]
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    try:
        await runner.setup()
        for sock in socks:
            await web.SockSite(runner, sock).start()
        port = socks[0].getsockname()[1]
        log.info("api listening on http://%s:%d%s", cfg.host, port, cfg.prefix)
        await _until_stopped(stop, worker)
    finally:
        await runner.cleanup()
        for sock in socks:  # closed by their sites, unless start-up failed before
            sock.close()
    if worker is not None and worker.failure is not None:
        raise worker.failure


async def _until_stopped(stop: asyncio.Event, worker: Worker | None) -> None:
    waits = [asyncio.create_task(stop.wait())]
    if worker is not None:
        waits.append(asyncio.create_task(worker.wait_stopped()))
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    if worker is not None and worker.failure is not None:
        log.error(
            "the in-process worker stopped (%s): roost serve exits, so that its supervisor "
            "can restart it",
            worker.failure,
        )
