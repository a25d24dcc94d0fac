"""``GET /metrics`` on the REST API. Outside ``/api``, so it answers in the text format, not
the envelope; with ``api.token`` set it needs the token too (Prometheus sends it with
``authorization: {credentials: ...}``): queue sizes and type names are not public."""

from __future__ import annotations

from aiohttp import web
from roost.core.app import Roost
from roost.plugins.api.envelope import bearer_is
from roost.plugins.api.keys import WORKER
from roost.plugins.api.settings import api_settings

from .scope import exposition, metrics_for, watch_worker
from .server import metrics_response


def metrics_routes(roost: Roost) -> web.RouteTableDef:
    metrics = metrics_for(roost)
    routes = web.RouteTableDef()

    @routes.get("/metrics")
    async def scrape(request: web.Request) -> web.Response:
        token = api_settings(roost.settings).token
        if token is not None and not bearer_is(request, token.get_secret_value()):
            return web.Response(
                status=401,
                text="missing or wrong token: send 'Authorization: Bearer <api.token>'\n",
                headers={"WWW-Authenticate": "Bearer"},
            )
        worker = request.app.get(WORKER)
        if worker is not None:  # an app built without the runner (tests, run_app)
            watch_worker(metrics, worker)
        return metrics_response(await exposition(metrics))

    return routes
