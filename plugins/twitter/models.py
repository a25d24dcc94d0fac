"""Tweets, users and search filters as the Twitter task types store and validate them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from roost.core.fields import NOT_TEXT, JsonBool, JsonDate

HANDLE_PATTERN = r"^@?[A-Za-z0-9_]{1,15}$"
HANDLE = re.compile(HANDLE_PATTERN)


def check_handle(value: str) -> str:
    """An X handle: 1-15 letters, digits or underscores; a leading ``@`` is dropped."""
    if not HANDLE.match(value):
        raise ValueError("must be an X handle: 1 to 15 letters, digits or underscores")
    return value.removeprefix("@")


class User(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    screen_name: str
    name: str = ""
    created_at: datetime | None = None
    followers: int | None = None
    following: int | None = None
    tweets: int | None = None
    verified: bool = False
    blue_verified: bool = False
    protected: bool = False
    avatar_url: str | None = None


class Tweet(BaseModel):
    """One post. Ids are strings: they exceed 2**53 and must not pass through floats."""

    model_config = ConfigDict(extra="ignore")

    id: str
    text: str
    created_at: datetime | None = None
    author: User | None = None
    lang: str | None = None
    likes: int = 0
    retweets: int = 0
    replies: int = 0
    quotes: int = 0
    bookmarks: int = 0
    views: int | None = None
    conversation_id: str | None = None
    in_reply_to_id: str | None = None
    retweeted_id: str | None = None
    hashtags: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    symbols: list[str] = Field(default_factory=list)
    media: list[str] = Field(default_factory=list)


Count = Annotated[int, Field(ge=0, le=10_000_000), NOT_TEXT]


class SearchFilters(BaseModel):
    """Structured search options; each becomes an X search operator in the query."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_user: str | None = Field(
        None, alias="from", pattern=HANDLE_PATTERN, description="posts by this handle"
    )
    to_user: str | None = Field(
        None, alias="to", pattern=HANDLE_PATTERN, description="replies to this handle"
    )
    lang: str | None = Field(None, pattern=r"^[a-z]{2,3}$", description="ISO 639-1 code, e.g. en")
    since: JsonDate | None = None
    until: JsonDate | None = None
    min_faves: Count | None = None
    min_retweets: Count | None = None
    min_replies: Count | None = None
    exclude_replies: JsonBool = False
    exclude_retweets: JsonBool = False
    media: Literal["media", "images", "videos"] | None = None
    links: JsonBool = False
    product: Literal["Top", "Latest", "Media"] = "Latest"

    @field_validator("from_user", "to_user")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        return None if value is None else check_handle(value)
