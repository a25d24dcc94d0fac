"""Core's settings tables: ``[store]``, ``[worker]``, ``[retry]``, ``[retention]``,
``[runtime]``, ``[plugins]``.

Plugins' tables (``[api]``) are theirs (:mod:`roost.core.plugin_settings`); how all are read
and checked is :mod:`roost.core.settings`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .durations import parse_duration
from .retry import RetryPolicy


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StoreSettings(Section):
    url: str = "sqlite:///roost.db"
    database: str = "crypto_analytics"
    collection: str = "twittertasks"
    timeout: float = Field(
        5.0, gt=0, le=300, description="seconds to wait for a locked or unreachable database"
    )


#: Old dotted key -> new one: still read, with a warning naming where the old one was set.
RENAMED = {"worker.stale_timeout": "worker.lease"}


class WorkerSettings(Section):
    max_concurrent: int = Field(3, ge=1, le=10_000)
    lease: float = Field(
        300.0, gt=0, description="lease length in seconds (was worker.stale_timeout)"
    )
    recovery_interval: float = Field(60.0, gt=0)
    shutdown_timeout: float = Field(30.0, ge=0)
    task_timeout: float = Field(600.0, gt=0)
    poll_interval: float = Field(0.05, gt=0, description="first idle wait, doubles when idle")
    max_poll_interval: float = Field(1.0, gt=0, description="longest idle wait between polls")

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        """``stale_timeout`` is read as ``lease``; :func:`load_settings` warns naming its source."""
        if isinstance(data, dict) and "stale_timeout" in data:
            data = dict(data)
            if "lease" in data:
                raise ValueError(
                    "worker.stale_timeout and worker.lease are both set: keep only worker.lease "
                    "(stale_timeout is its old name)"
                )
            data["lease"] = data.pop("stale_timeout")
        return data

    @property
    def stale_timeout(self) -> float:
        """The old name of :attr:`lease`, for code written against it."""
        return self.lease


class RetrySettings(Section):
    max_attempts: int = Field(3, ge=1, le=1000)
    strategy: Literal["exponential", "linear", "fixed"] = "exponential"
    base_delay: float = Field(60.0, ge=0)
    factor: float = Field(2.0, ge=1)
    max_delay: float = Field(3600.0, ge=0)
    jitter: float = Field(0.2, ge=0, le=1)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(**self.model_dump())


DAY = 86_400.0


class RetentionSettings(Section):
    """How long finished tasks are kept, per final state (seconds, or ``7d``, ``12h``,
    ``30m``); 0 keeps them forever. Workers delete older ones in small batches."""

    done: float = Field(7 * DAY, description="keep DONE tasks this long (0: forever)")
    failed: float = Field(30 * DAY, description="keep FAILED tasks this long (0: forever)")
    cancelled: float = Field(7 * DAY, description="keep CANCELLED tasks this long (0: forever)")

    _durations = field_validator("done", "failed", "cancelled", mode="before")(
        lambda value: parse_duration(value)
    )


class RuntimeSettings(BaseModel):
    """``name`` picks the runtime; ``[runtime.<name>]`` tables are checked by that runtime."""

    model_config = ConfigDict(extra="allow")
    name: str = "mock"

    def table(self, name: str) -> dict[str, Any]:
        value = (self.model_extra or {}).get(name, {})
        return value if isinstance(value, dict) else {}


class PluginSettings(Section):
    entry_points: bool = Field(True, description="load third-party plugins (group 'roost')")
    modules: list[str] = Field(default_factory=list, description="extra plugin modules to load")
    disable: list[str] = Field(default_factory=list, description="plugin names not to load")
