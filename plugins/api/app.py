"""The aiohttp application factory and the server runner used by ``roost serve``."""

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
        job.add_done_callback(_report_crash)
        yield
        worker.stop()
        await job
    await roost.close()


def _report_crash(job: asyncio.Task[None]) -> None:
    if not job.cancelled() and job.exception() is not None:
        log.critical("the in-process worker stopped", exc_info=job.exception())


async def serve(roost: Roost, app: web.Application, stop: asyncio.Event) -> None:
    """Serve on ``api.host:api.port`` until ``stop`` is set."""
    cfg = roost.settings.api
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and cfg.token is None:
        log.warning(
            "api.host=%s is reachable from other machines and api.token is not set: "
            "anyone who can reach it can enqueue tasks",
            cfg.host,
        )
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, cfg.host, cfg.port, reuse_address=True)
        await site.start()
        log.info("api listening on http://%s:%d%s", cfg.host, cfg.port, cfg.prefix)
        await stop.wait()
    finally:
        await runner.cleanup()
