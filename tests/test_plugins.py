"""The plugin contract: registration, conflicts, entry points, and the documented hookspecs."""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from roost.core import TaskContext, TaskType, hookimpl, hookspecs
from roost.core.app import Roost
from roost.core.errors import ConfigError, ValidationFailed
from roost.core.plugins import DEFAULT_PLUGINS, make_plugin_manager

ROOT = Path(__file__).resolve().parent.parent


class Empty(BaseModel):
    pass


async def noop(ctx: TaskContext, payload: Empty) -> None:
    return None


def _specs() -> list[Any]:
    return [f for f in vars(hookspecs).values() if callable(f) and hasattr(f, "roost_spec")]


def test_every_hook_is_documented() -> None:
    specs = _specs()
    assert len(specs) >= 8
    for spec in specs:
        doc = inspect.getdoc(spec) or ""
        assert len(doc) > 40, f"hook {spec.__name__} needs a docstring saying when and what"


@pytest.mark.parametrize("spec", _specs(), ids=lambda f: f.__name__)
def test_every_hook_argument_and_its_threading_are_documented(spec: Any) -> None:
    """As datasette's test_docs: a hook's docstring names each argument it receives, and says
    in which thread it runs (registration: sync; events: on the event loop)."""
    doc = " ".join((inspect.getdoc(spec) or "").split())  # as read, whatever the wrapping
    for name in inspect.signature(spec).parameters:
        assert re.search(rf"``{name}\b", doc), f"{spec.__name__}: document ``{name}``"
    if spec.__name__.startswith("register_"):
        assert "(sync, no I/O)" in doc, spec.__name__
    else:
        assert "on the event loop: must not block" in doc, spec.__name__


def test_the_hookspecs_are_grouped_registration_then_events() -> None:
    source = inspect.getsource(hookspecs)
    events = source.index("# == event hooks")
    assert source.index("# == registration hooks") < events
    for spec in _specs():
        at = source.index(f"def {spec.__name__}(")
        assert (at < events) == spec.__name__.startswith("register_"), spec.__name__


def test_builtins_are_loaded_through_the_manager() -> None:
    pm = make_plugin_manager(entry_points=False)
    names = {name for name, _ in pm.list_name_plugin()}
    assert set(DEFAULT_PLUGINS) <= names


def test_an_installed_plugin_overrides_a_builtin_task_type(make_settings: Any) -> None:
    class MySearch:
        @hookimpl
        def register_task_types(self, register: Callable[[TaskType], None]) -> None:
            register(TaskType(name="SEARCH", payload=Empty, handler=noop))

    roost = Roost.create(make_settings(), plugins=[MySearch()])
    # the built-in SEARCH requires a query; the installed one takes an empty payload
    assert roost.new_task("SEARCH", {}).payload == {}
    with pytest.raises(ValidationFailed, match="query"):
        Roost.create(make_settings()).new_task("SEARCH", {})


def test_two_plugins_claiming_one_name_is_an_error_naming_both(make_settings: Any) -> None:
    class A:
        @hookimpl
        def register_task_types(self, register: Callable[[TaskType], None]) -> None:
            register(TaskType(name="DUP", payload=Empty, handler=noop))

    with pytest.raises(ConfigError, match="'DUP' is registered by both"):
        Roost.create(make_settings(), plugins=[A(), A()])


def test_a_misspelt_hook_is_caught(make_settings: Any) -> None:
    class Typo:
        @hookimpl
        def register_task_type(self, register: Any) -> None:  # missing the s
            pass

    with pytest.raises(ConfigError, match="unknown hook"):
        Roost.create(make_settings(), plugins=[Typo()])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "search"}, "UPPER_SNAKE_CASE"),
        ({"payload": dict}, "pydantic BaseModel"),
        ({"handler": lambda ctx, p: None}, "async function"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"route": "Bad Route"}, "route must be"),
        ({"cli_arg": "nope"}, "not a payload field"),
    ],
)
def test_bad_task_types_are_refused_with_a_reason(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"name": "OK", "payload": Empty, "handler": noop, **kwargs}
    with pytest.raises(ConfigError, match=message):
        TaskType(**fields)


def test_registering_something_else_is_an_error(make_settings: Any) -> None:
    class Wrong:
        @hookimpl
        def register_task_types(self, register: Callable[[Any], None]) -> None:
            register({"name": "X"})

    with pytest.raises(ConfigError, match="expected a TaskType"):
        Roost.create(make_settings(), plugins=[Wrong()])


# -- a third-party package, installed for real, found through the entry point --------------
class Site(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        status = {"/ok": 200, "/gone": 404, "/busy": 429}.get(self.path, 500)
        self.send_response(status)
        self.send_header("Retry-After", "120")
        self.end_headers()
        self.wfile.write(b"hello" if status == 200 else b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def example_installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` the example package into a folder of its own (no index needed)."""
    target = tmp_path_factory.mktemp("site")
    # build from a copy: pip leaves build/ and *.egg-info beside the sources it builds
    source = shutil.copytree(ROOT / "examples" / "roost-urlcheck", target.parent / "urlcheck-src")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
    )
    return target


def roost_cmd(
    args: list[str], cwd: Path, site_dir: Path, db: Path
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env.update(
        PYTHONPATH=str(site_dir),
        ROOST_STORE__URL=f"sqlite:///{db}",
        ROOST_WORKER__POLL_INTERVAL="0.01",
    )
    return subprocess.run(
        [sys.executable, "-m", "roost.core.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_example_plugin_registers_through_its_entry_point(
    example_installed: Path, site: str, tmp_path: Path
) -> None:
    db = tmp_path / "roost.db"
    listed = roost_cmd(["plugins"], tmp_path, example_installed, db)
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.startswith("urlcheck") and "URL_CHECK" in line for line in listed.stdout.splitlines()
    ), listed.stdout

    created = roost_cmd(["worker", "--burst"], tmp_path, example_installed, db)
    assert created.returncode == 0, created.stderr  # enqueue never creates a database
    ids = {}
    for path in ("/ok", "/gone", "/busy"):
        out = roost_cmd(["enqueue", "url-check", site + path], tmp_path, example_installed, db)
        assert out.returncode == 0, out.stderr
        ids[path] = json.loads(out.stdout)["taskId"]
    run = roost_cmd(["worker", "--burst"], tmp_path, example_installed, db)
    assert run.returncode == 0, run.stderr

    def task(path: str) -> dict[str, Any]:
        out = roost_cmd(["task", ids[path]], tmp_path, example_installed, db)
        return dict(json.loads(out.stdout))

    assert task("/ok")["status"] == "DONE" and task("/ok")["result"] == {"status": 200, "bytes": 5}
    assert task("/gone")["status"] == "FAILED" and "404" in task("/gone")["lastError"]
    busy = task("/busy")
    assert busy["status"] == "PENDING" and busy["attempts"] == 0  # waits out Retry-After

    off = roost_cmd(["plugins"], tmp_path, example_installed, db)
    env_off = subprocess.run(
        [sys.executable, "-m", "roost.core.cli", "plugins"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(example_installed), "ROOST_NO_ENTRY_POINTS": "1"},
    )
    assert "urlcheck" in off.stdout and "urlcheck" not in env_off.stdout
