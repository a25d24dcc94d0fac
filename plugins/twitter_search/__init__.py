"""Task type SEARCH: tweets matching a query and filters, saved to ``tweets``."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field
from roost.core.fields import JsonInt
from roost.core.hookspecs import hookimpl
from roost.core.tasktypes import Exposure, TaskContext, TaskType
from roost.plugins.twitter import SearchFilters
from roost.plugins.twitter.handlers import collect


class SearchPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(
        min_length=1,
        max_length=512,
        # printable, and not only spaces
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
        description="X search query, e.g. bitcoin",
    )
    filters: SearchFilters = Field(default_factory=SearchFilters)
    limit: JsonInt = Field(100, ge=1, le=1000, description="stop after this many tweets")


async def search(ctx: TaskContext, payload: SearchPayload) -> dict[str, object]:
    runtime = await ctx.runtime()
    return await collect(
        ctx,
        payload.limit,
        lambda n, cursor, on_page: runtime.search(
            payload.query, payload.filters, n, cursor=cursor, on_page=on_page
        ),
    )


@hookimpl(trylast=True)
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(
        TaskType(
            name="SEARCH",
            payload=SearchPayload,
            handler=search,
            description="search X for a query; tweets go to the 'tweets' collection",
        )
    )


@hookimpl(trylast=True)
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    # POST {api.prefix}/tasks/search, roost enqueue search QUERY
    register(Exposure("SEARCH", positional="query"))
