"""The engine's client: pymongo for ``mongodb://`` URLs, or one in-process mongomock server
per ``mongomock://<name>`` (shared by every store opened on that name, like one database)."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlparse

from pymongo.errors import ConfigurationError, InvalidURI

from ...errors import ConfigError

MOCK_LOCK = threading.RLock()  # mongomock is not thread-safe; real MongoDB needs no lock
MOCK_SERVERS: dict[str, Any] = {}  # mongomock://<name>: one in-memory server per name


def connect(url: str, timeout_ms: int, mock: bool) -> Any:
    """A client for ``url`` (pymongo connects lazily: nothing is reached here)."""
    if mock:
        try:
            import mongomock
        except ImportError as exc:
            raise ConfigError(
                "store.url mongomock:// needs mongomock: pip install mongomock"
            ) from exc
        with MOCK_LOCK:
            name = urlparse(url).netloc
            if name not in MOCK_SERVERS:
                MOCK_SERVERS[name] = mongomock.MongoClient(tz_aware=True)
            return MOCK_SERVERS[name]
    from pymongo import MongoClient

    try:
        return MongoClient(
            url,
            tz_aware=True,
            serverSelectionTimeoutMS=timeout_ms,
            connectTimeoutMS=timeout_ms,
            appname="roost",
        )
    except (ConfigurationError, InvalidURI, ValueError) as exc:
        raise ConfigError(f"store.url: {exc}") from exc
