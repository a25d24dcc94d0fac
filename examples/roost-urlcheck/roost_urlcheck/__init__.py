"""URL_CHECK: fetch a URL and record its status — a complete third-party task type.

Shows the whole plugin contract: a payload model, an async handler, the two exceptions
that steer retries, a retry policy, a per-worker concurrency limit, and how users reach it
(an HTTP route and a ``roost enqueue`` verb).
"""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from roost.core import (
    Exposure,
    PermanentError,
    RetryAfter,
    RetryPolicy,
    TaskContext,
    TaskType,
    hookimpl,
)


class UrlCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    timeout: float = Field(10.0, gt=0, le=60)


async def check(ctx: TaskContext, job: UrlCheck) -> dict[str, object]:
    timeout = aiohttp.ClientTimeout(total=job.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(str(job.url)) as resp:
        if resp.status == 429:  # come back when the server says, without burning an attempt
            raise RetryAfter(float(resp.headers.get("Retry-After", "60")), "429 Too Many Requests")
        if resp.status in (404, 410):  # retrying cannot make it exist
            raise PermanentError(f"{job.url} answered {resp.status}")
        resp.raise_for_status()  # 5xx: an ordinary error, retried with backoff
        body = await resp.read()
    await ctx.save(
        "url_checks", [{"url": str(job.url), "status": resp.status, "bytes": len(body)}], key="url"
    )
    return {"status": resp.status, "bytes": len(body)}


@hookimpl
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(
        TaskType(
            name="URL_CHECK",
            payload=UrlCheck,
            handler=check,
            retry=RetryPolicy(max_attempts=5, base_delay=1, max_delay=60),
            concurrency=10,
            description="fetch a URL and record its HTTP status",
        )
    )


@hookimpl
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    # POST /api/v4/twitter/tasks/url-check, roost enqueue url-check URL
    register(Exposure("URL_CHECK", positional="url"))
