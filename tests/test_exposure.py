"""How a task type is reached from outside: an ``Exposure`` registered by its plugin (the
REST route and the ``roost enqueue`` verb), or the deprecated ``TaskType(route=, cli_arg=)``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict
from roost.core import Exposure, TaskContext, TaskType, hookimpl
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.errors import ConfigError, RoostDeprecationWarning
from roost.plugins.api.app import make_app
from roost.plugins.api.exposure import exposed

P = "/api/v4/twitter"
Client = Callable[..., Any]


class Ping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str
    count: int = 1


async def ping(ctx: TaskContext, payload: Ping) -> None:
    return None


# this module is the new-style plugin (the CLI test loads it by name, through plugins.modules)
@hookimpl
def register_task_types(register: Callable[[TaskType], None]) -> None:
    register(TaskType(name="PING_HOST", payload=Ping, handler=ping))


@hookimpl
def register_task_exposures(register: Callable[[Exposure], None]) -> None:
    register(Exposure("PING_HOST", positional="host"))


NEW_STYLE = sys.modules[__name__]


class OldStyle:
    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        register(
            TaskType(name="PING_HOST", payload=Ping, handler=ping, route="ping", cli_arg="host")
        )


class Hidden:
    @hookimpl
    def register_task_types(self, register: Callable[[TaskType], None]) -> None:
        register(TaskType(name="PING_HOST", payload=Ping, handler=ping))


async def post(client: TestClient, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    resp = await client.post(f"{P}/tasks/{path}", json=body)
    return resp.status, await resp.json()


async def test_an_exposure_gives_a_route_named_after_the_type(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    roost = Roost.create(make_settings(), plugins=[NEW_STYLE])
    client = await aiohttp_client(make_app(roost))
    status, body = await post(client, "ping-host", {"host": "a.example", "priority": 5})
    assert status == 201, body
    task = await roost.store.get(body["data"]["taskId"])
    assert task is not None and task.priority == 5
    assert task.payload == {"host": "a.example", "count": 1}  # priority is not payload


async def test_the_old_keywords_still_expose_the_type_with_a_warning_saying_what_to_use(
    aiohttp_client: Client, make_settings: Callable[..., Any]
) -> None:
    with pytest.warns(RoostDeprecationWarning) as caught:
        roost = Roost.create(make_settings(), plugins=[OldStyle()])
    assert str(caught[0].message) == (
        "task type 'PING_HOST': TaskType(route=..., cli_arg=...) is deprecated: register "
        "Exposure('PING_HOST', name='ping', positional='host') from a register_task_exposures "
        "hook instead (see roost.core.hookspecs)"
    )
    client = await aiohttp_client(make_app(roost))
    assert (await post(client, "ping", {"host": "a.example"}))[0] == 201


def test_a_type_nobody_exposes_has_no_route(make_settings: Callable[..., Any]) -> None:
    roost = Roost.create(make_settings(), plugins=[Hidden()])
    assert sorted(exposed(roost)) == ["account", "search"]


def test_an_installed_replacement_of_a_builtin_is_not_exposed_by_the_builtin(
    make_settings: Callable[..., Any],
) -> None:
    """The built-in exposes SEARCH with ``query``; a replacement SEARCH without that field
    decides its own exposure, instead of failing on the built-in's."""

    class MySearch:
        @hookimpl
        def register_task_types(self, register: Callable[[TaskType], None]) -> None:
            register(TaskType(name="SEARCH", payload=Ping, handler=ping))

    roost = Roost.create(make_settings(), plugins=[MySearch()])
    assert sorted(exposed(roost)) == ["account"]


def test_an_exposure_naming_a_missing_field_or_a_taken_name_is_refused(
    make_settings: Callable[..., Any],
) -> None:
    class BadField(Hidden):
        @hookimpl
        def register_task_exposures(self, register: Callable[[Exposure], None]) -> None:
            register(Exposure("PING_HOST", positional="hots"))

    class Taken(Hidden):
        @hookimpl
        def register_task_exposures(self, register: Callable[[Exposure], None]) -> None:
            register(Exposure("PING_HOST", name="search"))

    with pytest.raises(ConfigError, match="positional 'hots' is not a field of task type"):
        exposed(Roost.create(make_settings(), plugins=[BadField()]))
    with pytest.raises(ConfigError, match="task types .* share route 'search'"):
        exposed(Roost.create(make_settings(), plugins=[Taken()]))
    with pytest.raises(ConfigError, match="must be lower-case letters"):
        Exposure("PING_HOST", name="Ping Host")


def test_roost_enqueue_uses_the_exposure(
    make_settings: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    make_settings()
    monkeypatch.setenv("ROOST_PLUGINS__MODULES", json.dumps([__name__]))
    assert main(["worker", "--burst"]) == 0  # creates the database
    capsys.readouterr()
    assert main(["enqueue", "ping-host", "b.example", "--count", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["type"] == "PING_HOST" and out["status"] == "PENDING"
    assert main(["task", out["taskId"]]) == 0
    assert json.loads(capsys.readouterr().out)["payload"] == {"host": "b.example", "count": 3}
