"""``[metrics]``: the metrics plugin's settings table (``ROOST_METRICS__<KEY>``, and
``roost worker --metrics-port`` for ``port``), a bad value named with its source."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from roost.core.settings import Settings

TABLE = "metrics"


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    #: a worker process's own ``/metrics`` listener (``roost worker --metrics-port``); None:
    #: none (``roost serve`` has ``GET /metrics`` on the API either way)
    port: int | None = Field(None, ge=0, le=65535)
    host: str = "127.0.0.1"
    #: the queue gauges read the store at most this often (a grouped read of every task)
    queue_cache_seconds: float = Field(5.0, ge=0, le=3600)
    #: a worker's "worker summary" INFO line every this many seconds while it works; 0: none
    summary_interval: float = Field(30.0, ge=0, le=86400)


def metrics_settings(settings: Settings) -> MetricsSettings:
    return settings.table(TABLE, MetricsSettings)
