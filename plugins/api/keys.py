"""Typed application keys: the only way handlers reach shared objects."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from roost.core.app import Roost

ROOST = web.AppKey("roost", Roost)
#: The in-process worker (``roost serve``), or None with ``--no-worker``.
WORKER = web.AppKey("worker", Any)
