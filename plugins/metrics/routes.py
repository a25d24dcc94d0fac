"""``GET /metrics`` on the REST API. Outside ``/api``, so it answers in the text format, not
the envelope; with ``api.token`` set it needs the token too (Prometheus sends it with
``authorization: {credentials: ...}``): queue sizes and type names are not public."""

from __future__ import annotations

from aiohttp import web
from roost.core.app import Roost
from roost.plugins.api.keys import WORKER
from roost.plugins.api.settings import api_settings

from .scope import metrics_for, watch_worker
from .server import answer


def metrics_routes(roost: Roost) -> web.RouteTableDef:
    metrics = metrics_for(roost)
    routes = web.RouteTableDef()

    @routes.get("/metrics")
    async def scrape(request: web.Request) -> web.Response:
        worker = request.app.get(WORKER)
        if worker is not None:  # an app built without the runner (tests, run_app)
            watch_worker(metrics, worker)
        token = api_settings(roost.settings).token
        return await answer(request, metrics, None if token is None else token.get_secret_value())

    return routes
