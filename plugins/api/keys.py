"""Typed application keys: the only way handlers reach shared objects."""

from __future__ import annotations

from aiohttp import web
from roost.core.app import Roost
from roost.core.worker import Worker

ROOST = web.AppKey("roost", Roost)
#: The in-process worker (``roost serve``), or None with ``--no-worker``.
WORKER: web.AppKey[Worker | None] = web.AppKey("worker")
