"""Plugins own their settings tables (``register_settings``): ``[api]`` is the API plugin's,
and a third-party table is read, checked and shown exactly like core's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from roost.core import hookimpl
from roost.core.cli import main
from roost.core.errors import ConfigError
from roost.core.settings import load_settings
from roost.plugins.api.settings import ApiSettings, api_settings


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    port: int = Field(9100, ge=1, le=65535)
    labels: list[str] = Field(default_factory=list)
    password: SecretStr | None = None


@hookimpl
def register_settings(register: Callable[[str, type[BaseModel]], None]) -> None:
    register("metrics", MetricsSettings)


@pytest.fixture
def with_plugin(make_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    make_settings()
    monkeypatch.setenv("ROOST_PLUGINS__MODULES", json.dumps([__name__]))


def test_the_api_table_belongs_to_the_api_plugin(make_settings: Any) -> None:
    settings = make_settings(api={"port": 8080})
    assert api_settings(settings) == ApiSettings(port=8080)
    assert settings.api.port == 8080  # still an attribute, as before
    assert settings.source("api", "port") == "arguments"


def test_a_plugin_table_comes_from_file_environment_and_arguments(
    with_plugin: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "s.toml"
    file.write_text('[metrics]\nport = 9200\nlabels = ["a"]\n', encoding="utf-8")
    monkeypatch.setenv("ROOST_METRICS__LABELS", '["b", "c"]')
    settings = load_settings(file)
    assert settings.table("metrics", MetricsSettings) == MetricsSettings(
        port=9200, labels=["b", "c"]
    )
    assert load_settings(file, metrics={"port": 1}).metrics.port == 1


def test_a_bad_plugin_value_names_its_source(
    with_plugin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOST_METRICS__PORT", "0")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert str(caught.value) == (
        "environment variable ROOST_METRICS__PORT: metrics.port: "
        "Input should be greater than or equal to 1"
    )


def test_a_misspelt_key_of_a_plugin_table_is_named(with_plugin: None, tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text("[metrics]\nprot = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"s.toml: metrics.prot: unknown key \(check the"):
        load_settings(file)


def test_a_table_no_plugin_owns_is_still_an_error(make_settings: Any, tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    # no plugin owns [graphs] ([metrics] is the built-in metrics plugin's now)
    file.write_text("[graphs]\nport = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    assert str(caught.value) == (
        f"{file}: graphs: unknown key (check the spelling; `roost config` shows the valid keys)"
    )


def test_roost_config_shows_plugin_tables_with_secrets_masked(
    with_plugin: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROOST_METRICS__PASSWORD", "s3cret")
    monkeypatch.setenv("ROOST_API__TOKEN", "t0ken")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["metrics"] == {"port": 9100, "labels": [], "password": "********"}
    assert shown["api"]["token"] == "********" and shown["api"]["port"] == 5001
    assert "s3cret" not in out and "t0ken" not in out
