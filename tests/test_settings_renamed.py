"""``worker.lease`` is the lease length; its old name ``worker.stale_timeout`` still works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from roost.core.cli import main
from roost.core.errors import ConfigError
from roost.core.settings import RoostDeprecationWarning, load_settings


def test_the_old_key_in_a_file_still_sets_the_lease_with_a_warning_naming_the_new_key(
    make_settings: Any, tmp_path: Path
) -> None:
    file = tmp_path / "old.toml"
    file.write_text("[worker]\nstale_timeout = 12\n", encoding="utf-8")
    with pytest.warns(RoostDeprecationWarning) as caught:
        settings = load_settings(file)
    assert settings.worker.lease == 12
    assert str(caught[0].message) == (
        f"{file}: worker.stale_timeout is deprecated: rename it worker.lease (same meaning)"
    )


def test_the_old_environment_variable_still_sets_the_lease(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROOST_WORKER__STALE_TIMEOUT", "15")
    with pytest.warns(
        RoostDeprecationWarning,
        match="environment variable "
        "ROOST_WORKER__STALE_TIMEOUT: worker.stale_timeout is deprecated: rename "
        "it worker.lease",
    ):
        assert load_settings(None).worker.lease == 15


def test_the_new_key_is_read_without_a_warning(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch, recwarn: pytest.WarningsRecorder
) -> None:
    monkeypatch.setenv("ROOST_WORKER__LEASE", "9")
    settings = load_settings(None)
    assert settings.worker.lease == 9
    assert settings.source("worker", "lease") == "environment variable ROOST_WORKER__LEASE"
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_both_names_set_is_an_error_naming_both_sources(
    make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "both.toml"
    file.write_text("[worker]\nlease = 12\n", encoding="utf-8")
    monkeypatch.setenv("ROOST_WORKER__STALE_TIMEOUT", "15")
    with pytest.raises(ConfigError) as caught:
        load_settings(file)
    assert str(caught.value) == (
        "environment variable ROOST_WORKER__STALE_TIMEOUT: worker.stale_timeout and "
        f"{file}: worker.lease are both set: keep only worker.lease "
        "(worker.stale_timeout is its old name)"
    )


def test_the_cli_shows_the_warning_and_prints_the_new_key(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROOST_WORKER__STALE_TIMEOUT", "15")
    assert main(["config"]) == 0
    out, err = capsys.readouterr()
    assert '"lease": 15.0' in out and "stale_timeout" not in out
    assert (
        "roost: warning: environment variable ROOST_WORKER__STALE_TIMEOUT: "
        "worker.stale_timeout is deprecated: rename it worker.lease (same meaning)\n"
    ) in err
