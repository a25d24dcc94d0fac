"""The queue dashboard: ``/dashboard`` on the API server (Overview, Tasks, a task's page,
Workers, Enqueue), as a plugin of the API (``register_web_routes``).

Its HTML, CSS and JavaScript ship inside the package (``static/``, package data): no build
step, no network, no library (charts are plain SVG). The page reads the REST API like any
client (``queue/stats``, ``queue/series``, ``tasks``, ``workers``, ``runtime/slots``, the
OpenAPI document for the enqueue forms) and sends ``api.token``, when the API has one, as
``Authorization: Bearer`` from the browser session, never in a URL. The page and its files
hold no data, so they are served without the token; every call they make needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roost.core.app import Roost
from roost.core.hookspecs import hookimpl

from .routes import dashboard_routes


@hookimpl(trylast=True)
def register_web_routes(register: Callable[[Any], None], roost: Roost) -> None:
    register(dashboard_routes(roost))
