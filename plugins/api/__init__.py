"""The REST API (aiohttp): the documented routes, mounted through ``register_web_routes``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from roost.core.app import Roost
from roost.core.hookspecs import hookimpl

from .routes import builtin_routes


@hookimpl(trylast=True)
def register_web_routes(register: Callable[[Any], None], roost: Roost) -> None:
    register(builtin_routes(roost))
