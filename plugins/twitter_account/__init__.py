"""Task type ACCOUNT: an account's latest tweets, saved to ``tweets``."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator
from roost.core.fields import JsonInt
from roost.core.hookspecs import hookimpl
from roost.core.tasktypes import Exposure, TaskContext, TaskType
from roost.plugins.twitter.handlers import collect
from roost.plugins.twitter.models import HANDLE_PATTERN, check_handle


class AccountPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(
        pattern=HANDLE_PATTERN, description="X handle, 1 to 15 letters, digits or _ (@ optional)"
    )
    limit: JsonInt = Field(20, ge=1, le=1000, description="stop after this many tweets")

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        return check_handle(value)


async def account(ctx: TaskContext, payload: AccountPayload) -> dict[str, object]:
    runtime = await ctx.runtime()
    return await collect(
        ctx,
        payload.limit,
        lambda n, cursor, on_page: runtime.account_tweets(
            payload.username, n, cursor=cursor, on_page=on_page
        ),
    )


@hookimpl(trylast=True)
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(
        TaskType(
            name="ACCOUNT",
            payload=AccountPayload,
            handler=account,
            description="an account's latest tweets; they go to the 'tweets' collection",
        )
    )


@hookimpl(trylast=True)
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    # POST {api.prefix}/tasks/account, roost enqueue account USERNAME
    register(Exposure("ACCOUNT", positional="username"))
