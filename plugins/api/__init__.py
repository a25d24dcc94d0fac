"""The REST API (aiohttp): the documented routes through ``register_web_routes``, and the
``serve`` and ``enqueue`` verbs through ``register_commands``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from roost.core.app import Roost
from roost.core.commands import Command
from roost.core.hookspecs import hookimpl

from .commands import ENQUEUE, SERVE
from .routes import builtin_routes
from .series import series_routes
from .settings import TABLE, ApiSettings
from .steer_routes import steer_routes


@hookimpl(trylast=True)
def register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    register(TABLE, ApiSettings)


@hookimpl(trylast=True)
def register_web_routes(register: Callable[[Any], None], roost: Roost) -> None:
    register(builtin_routes(roost))
    register(steer_routes(roost))
    register(series_routes(roost))


@hookimpl(trylast=True)
def register_commands(register: Callable[[Command], None]) -> None:
    register(SERVE)
    register(ENQUEUE)
