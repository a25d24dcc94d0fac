"""Prometheus metrics and the worker's summary log, as a plugin.

``GET /metrics`` on the REST API (``roost serve``) and, with ``roost worker --metrics-port
N``, on a worker process's own listener; the counters and histograms are fed by the task
event hooks (:mod:`.instruments`), the queue gauges read from the store at scrape time,
cached (:mod:`.gauges`). Settings: the ``[metrics]`` table (:mod:`.settings`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from roost.core.app import Roost
from roost.core.hookspecs import hookimpl
from roost.core.options import CommandOption
from roost.core.runner import Server
from roost.core.worker import Worker

from .routes import metrics_routes
from .scope import metrics_for, watch_worker
from .server import MetricsServer
from .settings import TABLE, MetricsSettings

METRICS_PORT = CommandOption(
    "worker",
    "metrics-port",
    "metrics.port",
    "serve this worker's Prometheus metrics on http://<metrics.host>:PORT/metrics "
    "(overrides metrics.port; a busy port stops start-up)",
    type=int,
    metavar="PORT",
)


@hookimpl(trylast=True)
def register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    register(TABLE, MetricsSettings)


@hookimpl(trylast=True)
def register_command_options(register: Callable[[CommandOption], None]) -> None:
    register(METRICS_PORT)


@hookimpl(trylast=True)
def register_servers(
    register: Callable[[Server], None], roost: Roost, worker: Worker | None
) -> None:
    metrics = metrics_for(roost)
    if worker is not None:
        watch_worker(metrics, worker)
    register(MetricsServer(roost, worker, metrics))


@hookimpl(trylast=True)
def register_web_routes(register: Callable[[Any], None], roost: Roost) -> None:
    register(metrics_routes(roost))
