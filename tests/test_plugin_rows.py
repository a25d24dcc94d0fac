"""``roost plugins``: every plugin with what it registers, through every registration hook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from roost.core import hookimpl, hookspecs
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.plugins import plugin_rows


async def ping(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "data": "pong"})


class Pinger:
    """A third-party plugin that only adds web routes."""

    @hookimpl
    def register_web_routes(self, register: Callable[[Any], None], roost: Roost) -> None:
        routes = web.RouteTableDef()
        routes.get("/api/v4/extra/ping")(ping)
        routes.post("/api/v4/extra/ping")(ping)
        register(routes)


def test_roost_plugins_shows_the_api_plugins_web_routes(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins"]) == 0
    api = next(line for line in capsys.readouterr().out.splitlines() if "plugins.api" in line)
    assert "web routes: " in api and "POST /api/v4/twitter/tasks/search" in api
    assert "GET /api/v4/twitter/queue/stats" in api and "GET /health" in api
    assert "GET /api/v4/twitter/tasks," in api and "POST /api/v4/twitter/queue/purge" in api


def test_a_third_party_plugins_routes_are_listed_under_it(make_settings: Any) -> None:
    plugin = Pinger()
    roost = Roost.create(make_settings(), plugins=[plugin])
    rows = {r["plugin"]: r for r in plugin_rows(roost.pm, roost.registry, roost)}
    name = roost.pm.get_name(plugin)
    assert rows[name]["web routes"] == ["GET /api/v4/extra/ping", "POST /api/v4/extra/ping"]
    assert "GET /api/v4/extra/ping" not in rows["roost.plugins.api"]["web routes"]


def test_every_registration_hook_has_a_column(make_settings: Any) -> None:
    """A new ``register_*`` hook shows up in ``roost plugins`` without touching the listing."""
    roost = Roost.create(make_settings())
    hooks = [name for name in vars(hookspecs) if name.startswith("register_")]
    for row in plugin_rows(roost.pm, roost.registry, roost):
        columns = [k for k, v in row.items() if isinstance(v, list)]
        assert len(columns) == len(hooks), (columns, hooks)
