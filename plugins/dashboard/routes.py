"""The dashboard's routes: the page at ``/dashboard`` and its files at ``/dashboard/static/``.

Only the files shipped in ``static/`` are served (looked up by name, never by a path the
client builds), with a Content-Security-Policy that lets the page load nothing but them and
talk to nothing but this server.
"""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web
from roost.core.app import Roost
from roost.plugins.api.settings import api_settings

STATIC = Path(__file__).parent / "static"
PATH = "/dashboard"
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def shipped() -> dict[str, tuple[bytes, str]]:
    """The files the page may load, by name: their bytes (read once, at start-up: a few
    small files, never read on the event loop per request) and content type."""
    return {
        p.name: (p.read_bytes(), TYPES[p.suffix])
        for p in STATIC.iterdir()
        if p.is_file() and p.suffix in TYPES
    }


def dashboard_routes(roost: Roost) -> web.RouteTableDef:
    routes = web.RouteTableDef()
    prefix = api_settings(roost.settings).prefix
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    page = page.replace("{{prefix}}", html.escape(prefix, quote=True))
    files = shipped()

    @routes.get(PATH)
    async def dashboard(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=HEADERS)

    @routes.get(PATH + "/")
    async def dashboard_slash(request: web.Request) -> web.Response:
        raise web.HTTPFound(PATH)

    @routes.get(PATH + "/static/{name}")
    async def static(request: web.Request) -> web.Response:
        found = files.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound()
        body, content_type = found
        return web.Response(body=body, content_type=content_type, headers=HEADERS)

    return routes
