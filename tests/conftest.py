"""Shared fixtures: settings on a temporary SQLite file, engines for the conformance suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mongo_wire import WireServer, WireUnavailable, wire_url_from_env, with_database
from roost.core.app import Roost
from roost.core.settings import Settings, load_settings
from roost.core.store import TaskStore
from roost.core.stores.mongo import MongoStore
from roost.core.stores.sqlite import SQLiteStore

# Tests load built-in plugins only, whatever is installed beside roost.
os.environ.setdefault("ROOST_NO_ENTRY_POINTS", "1")

# "wire": the Mongo engine over real pymongo and TCP, against a server the session starts.
ENGINES = ["sqlite", "mongomock", "wire"]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'roost.db'}"


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Settings]:
    """Settings that ignore any settings.toml and ROOST_* of the caller's environment."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("ROOST_") and key != "ROOST_NO_ENTRY_POINTS":
            monkeypatch.delenv(key)

    def make(**overrides: Any) -> Settings:
        overrides.setdefault("store", {"url": sqlite_url(tmp_path)})
        overrides.setdefault("runtime", {"name": "mock", "mock": {"latency_ms": 0}})
        return load_settings(None, **overrides)

    return make


@pytest.fixture
def make_roost(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., Roost]]:
    made: list[Roost] = []

    def make(**overrides: Any) -> Roost:
        roost = Roost.create(make_settings(**overrides))
        roost.store.sync.setup()
        made.append(roost)
        return roost

    yield make
    for roost in made:
        roost.store.close()


def open_engine(engine: str, tmp_path: Path, name: str, wire_url: str | None = None) -> TaskStore:
    if engine == "sqlite":
        return SQLiteStore(sqlite_url(tmp_path))
    if engine == "mongomock":
        return MongoStore(f"mongomock://{name}/roost_test")
    if engine == "wire":
        assert wire_url is not None
        return MongoStore(with_database(wire_url, f"roost_{name}"))
    raise ValueError(engine)


@pytest.fixture(scope="session")
def mongo_wire_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A MongoDB wire server for the session (tests/mongo_wire.py). Fails, never skips."""
    server, problem = None, None
    try:
        url = wire_url_from_env()
        if url is None:
            server = WireServer(tmp_path_factory.mktemp("wire"))
            url = server.start()
    except WireUnavailable as exc:
        problem = str(exc)
    if problem is not None or url is None:
        pytest.fail(f"the MongoDB wire lane cannot run: {problem}", pytrace=False)
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_store(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], TaskStore]]:
    """Opens stores on one shared database: each call is like another worker process."""
    name = uuid.uuid4().hex
    wire_url = request.getfixturevalue("mongo_wire_url") if engine == "wire" else None
    opened: list[TaskStore] = []

    def open_() -> TaskStore:
        store = open_engine(engine, tmp_path, name, wire_url)
        store.setup()
        opened.append(store)
        return store

    yield open_
    if wire_url is not None and opened:
        opened[0].client.drop_database(f"roost_{name}")  # type: ignore[attr-defined]
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], TaskStore]) -> TaskStore:
    return open_store()
