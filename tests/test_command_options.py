"""``register_command_options``: a plugin adds a flag to another plugin's verb, and the flag
behaves like the verb's own (it overrides its setting; a bad value is a settings error that
names the flag). ``--metrics-port`` on ``roost worker`` is the built-in one."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from roost.core.cli import main
from roost.core.errors import ConfigError
from roost.core.options import CommandOption
from roost.core.plugins import build_registry, make_plugin_manager

PLUGIN = """
from roost.core.hookspecs import hookimpl
from roost.core.options import CommandOption

@hookimpl
def register_command_options(register):
    register(CommandOption("config", "slots", "worker.max_concurrent", "how many", type=int))
    register(CommandOption("no-such-verb", "x", "worker.max_concurrent", "ignored"))
"""


@pytest.fixture
def with_plugin(make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "slots_plugin.py").write_text(textwrap.dedent(PLUGIN))
    (tmp_path / "settings.toml").write_text('[plugins]\nmodules = ["slots_plugin"]\n')
    monkeypatch.syspath_prepend(str(tmp_path))


def test_the_option_sets_its_setting(with_plugin: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "--slots", "7"]) == 0
    assert json.loads(capsys.readouterr().out)["worker"]["max_concurrent"] == 7


def test_a_bad_value_is_a_settings_error_naming_the_flag(
    with_plugin: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "--slots", "0"]) == 2
    err = capsys.readouterr().err
    assert "--slots: worker.max_concurrent" in err and "Traceback" not in err


def test_roost_plugins_lists_the_options_and_servers(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "plugins.metrics" in x)
    assert "command options: worker --metrics-port" in line
    assert "settings tables: metrics" in line and "web routes: GET /metrics" in line


def test_the_worker_verb_has_metrics_port(capsys: pytest.CaptureFixture[str]) -> None:
    registry = build_registry(make_plugin_manager(entry_points=False))
    assert "worker --metrics-port" in registry.command_options
    with pytest.raises(SystemExit):
        main(["worker", "--help"])
    assert "--metrics-port PORT" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--port", "Port", "a b"])
def test_a_malformed_option_is_refused_at_registration(flag: str) -> None:
    with pytest.raises(ConfigError, match="lower-case"):
        CommandOption("worker", flag, "metrics.port", "help")
