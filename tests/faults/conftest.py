"""Fixtures of the fault tests: a database on SQLite or on the wire server, and processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mongo_wire import with_database
from pymongo import MongoClient
from roost.core.store import TaskStore

from .procs import Procs, open_store


@pytest.fixture(params=["sqlite", "wire"])
def engine(request: pytest.FixtureRequest) -> str:
    """Where the processes meet: a SQLite file, or a MongoDB wire server over TCP."""
    return str(request.param)


@pytest.fixture
def db_url(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'roost.db'}"
        return
    name = f"faults_{uuid.uuid4().hex}"
    yield with_database(request.getfixturevalue("mongo_wire_url"), name)
    client: MongoClient[dict[str, object]] = MongoClient(request.getfixturevalue("mongo_wire_url"))
    client.drop_database(name)
    client.close()


@pytest.fixture
def db(db_url: str) -> Iterator[TaskStore]:
    """The test's own connection, to enqueue and to watch the tasks."""
    store = open_store(db_url)
    yield store
    store.close()


@pytest.fixture
def procs(tmp_path: Path, db_url: str) -> Iterator[Procs]:
    fleet = Procs(tmp_path, db_url)
    yield fleet
    fleet.close()
