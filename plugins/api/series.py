"""The routes the dashboard's Overview and Workers pages read: the tasks per type and
status now (``GET /queue/types``, the store's grouped count, read at most every
:data:`TYPES_CACHE_SECONDS` per process), the queue's last hour per minute (``GET
/queue/series``, from the store: :mod:`roost.core.series`) and the session slots of this
process's runtime (``GET /runtime/slots``, the Playwright runtime's ``slots.report()``),
with their models and their part of the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field
from roost.core.app import Roost
from roost.core.models import TaskStatus, iso, utcnow
from roost.core.store.counts import CachedCounts, TypeCount
from roost.core.worker.registry import runtime_slots

from .envelope import ok
from .keys import ROOST, WORKER
from .schemas import QueueStatsOut
from .settings import api_settings
from .steer_schemas import SlotOut


class MinuteOut(BaseModel):
    at: str = Field(description="the minute's start, UTC")
    done: int
    failed: int
    cancelled: int
    retried: int = Field(description="retries the workers applied in the minute")
    retryRate: float | None = Field(description="retried / (retried + done + failed)")
    pending: int | None = Field(description="queue depth a worker sampled (null: none did)")
    running: int | None
    waitP50: float | None = Field(description="seconds from due to claimed")
    waitP95: float | None
    runP50: float | None = Field(description="seconds from claimed to finished")
    runP95: float | None


class SeriesOut(BaseModel):
    """``GET /queue/series``: the last hour, one entry per minute, oldest first."""

    from_: str = Field(alias="from")
    to: str
    minutes: list[MinuteOut]


class SlotsOut(BaseModel):
    """``GET /runtime/slots``: the session slots of the runtime in this process."""

    runtime: str = Field(description="runtime.name")
    started: bool = Field(description="a task started the runtime in this process")
    slots: list[SlotOut] | None = Field(description="null: the runtime has no session slots")


class TypeCountOut(QueueStatsOut):
    type: str
    oldestDueAt: str | None = Field(description="when the oldest PENDING task was due")


class TypesOut(BaseModel):
    """``GET /queue/types``: every registered type (zeros included) and any other type
    stored, by name."""

    types: list[TypeCountOut]


MODELS: list[type[BaseModel]] = [TypesOut, SeriesOut, SlotsOut]
#: the grouped count reads every task (no index on type): a dashboard tab refreshing every
#: few seconds, or many tabs, share one read this often
TYPES_CACHE_SECONDS = 2.0
STATUS_KEYS = tuple(s.value.lower() for s in TaskStatus)


def by_type(counts: list[TypeCount], registered: list[str]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for name in [*registered, *(c.type for c in counts)]:
        rows.setdefault(name, {"type": name, **dict.fromkeys(STATUS_KEYS, 0), "total": 0})
    oldest: dict[str, datetime] = {}
    for c in counts:
        row = rows[c.type]
        row[c.status.value.lower()] += c.count
        row["total"] += c.count
        if c.status is TaskStatus.PENDING and c.oldest_due is not None:
            oldest[c.type] = min(oldest.get(c.type, c.oldest_due), c.oldest_due)
    for name, row in rows.items():
        row["oldestDueAt"] = iso(oldest[name]) if name in oldest else None
    return [rows[name] for name in sorted(rows)]


def series_routes(roost: Roost) -> web.RouteTableDef:
    routes = web.RouteTableDef()
    prefix = api_settings(roost.settings).prefix

    counts = CachedCounts(roost.store, TYPES_CACHE_SECONDS)
    registered = sorted(roost.registry.task_types)

    @routes.get(prefix + "/queue/types")
    async def queue_types(request: web.Request) -> web.Response:
        return ok({"types": by_type(await counts.read(), registered)})

    @routes.get(prefix + "/queue/series")
    async def queue_series(request: web.Request) -> web.Response:
        return ok(await request.app[ROOST].store.queue_series(utcnow()))

    @routes.get(prefix + "/runtime/slots")
    async def slots_here(request: web.Request) -> web.Response:
        # the in-process worker's Roost runs the tasks (``roost serve`` gives it its own)
        worker = request.app[WORKER]
        here = worker.roost if worker is not None else request.app[ROOST]
        runtime = here.started_runtime
        return ok(
            {
                "runtime": here.settings.runtime.name,
                "started": runtime is not None,
                "slots": runtime_slots(runtime),
            }
        )

    return routes


Ref = Callable[[type[BaseModel]], dict[str, str]]
Responses = Callable[[str, dict[str, Any], tuple[str, ...]], dict[str, Any]]


def series_paths(prefix: str, ref: Ref, responses: Responses) -> dict[str, Any]:
    common = ("401", "405", "503")
    return {
        prefix + "/queue/types": {
            "get": {
                "operationId": "queue_types",
                "summary": "Tasks per type and status now, registered types included "
                f"(read from the store at most every {TYPES_CACHE_SECONDS:g} s)",
                "responses": responses("200", ref(TypesOut), common),
            }
        },
        prefix + "/queue/series": {
            "get": {
                "operationId": "queue_series",
                "summary": "The last hour per minute: finished by outcome, depth, wait/run "
                "p50/p95, retry rate (read from the store)",
                "responses": responses("200", ref(SeriesOut), common),
            }
        },
        prefix + "/runtime/slots": {
            "get": {
                "operationId": "runtime_slots",
                "summary": "The session slots of the runtime in this process (Playwright)",
                "responses": responses("200", ref(SlotsOut), ("401", "405")),
            }
        },
    }
