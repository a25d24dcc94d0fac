"""``[api]``: the API plugin's settings table, registered through ``register_settings``.

Read like core's tables: ``settings.toml``'s ``[api]`` < ``ROOST_API__<KEY>`` < ``--host``/
``--port``, a bad value named with its source.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from roost.core.settings import Settings

TABLE = "api"


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    host: str = "127.0.0.1"
    port: int = Field(5001, ge=0, le=65535)
    prefix: str = "/api/v4/twitter"
    token: SecretStr | None = None
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    #: one line per request on the ``roost.access`` logger (see access.py)
    access_log: bool = True
    access_log_format: Literal["text", "json"] = "text"

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not value.startswith("/api/") or value.endswith("/"):
            raise ValueError("must start with /api/ and not end with /, e.g. /api/v4/twitter")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        """A token no client can send is refused at start-up, not by a 401 at every request."""
        problem = None if value is None else token_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot work in ``Authorization: Bearer <token>``, or None.

    Never quotes the token: the message goes to terminals and logs.
    """
    if not token.strip():
        return "is empty: unset it to serve without a token, or set a real one"
    if token != token.strip():
        return "has leading or trailing whitespace, which HTTP strips from a header: remove it"
    bad = next((i for i, ch in enumerate(token) if not " " <= ch <= "~"), None)
    if bad is not None:
        return (
            f"character {bad + 1} is not printable ASCII: a newline, a control character or "
            "non-ASCII text cannot be sent alike by every client"
        )
    return None


def api_settings(settings: Settings) -> ApiSettings:
    """The ``[api]`` table of ``settings``, typed."""
    return settings.table(TABLE, ApiSettings)
