"""A ``store.url`` per conformance engine, for tests that drive a whole Roost (API, CLI,
worker) rather than one store object: ``sqlite``, ``mongomock`` and ``wire``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mongo_wire import with_database
from pymongo import MongoClient


@contextmanager
def store_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database on ``engine``; the wire lane's is dropped afterwards."""
    name = uuid.uuid4().hex
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'roost.db'}"
    elif engine == "mongomock":
        yield f"mongomock://{name}/roost_test"
    else:
        server = request.getfixturevalue("mongo_wire_url")
        yield with_database(server, f"roost_{name}")
        client: MongoClient[dict[str, object]] = MongoClient(server)
        client.drop_database(f"roost_{name}")
        client.close()
