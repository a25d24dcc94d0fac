"""Settings precedence and errors, and the CLI as an operator uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from roost.core.cli import main
from roost.core.errors import ConfigError
from roost.core.settings import load_settings


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_match_the_seed(make_settings: Any) -> None:
    s = load_settings(None)
    assert (s.api.host, s.api.port, s.runtime.name) == ("127.0.0.1", 5001, "mock")
    assert (s.worker.max_concurrent, s.worker.lease, s.worker.recovery_interval) == (
        3,
        300,
        60,
    )
    assert (s.retry.max_attempts, s.retry.strategy, s.retry.base_delay) == (3, "exponential", 60)
    assert (s.store.database, s.store.collection) == ("crypto_analytics", "twittertasks")


def test_env_beats_file_and_arguments_beat_env(
    make_settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = write(
        tmp_path / "s.toml",
        '[api]\nport = 6000\nhost = "0.0.0.0"\n[store]\nurl = "sqlite:///f.db"\n',
    )
    monkeypatch.setenv("ROOST_API__PORT", "7000")
    s = load_settings(file)
    assert (s.api.port, s.api.host, s.store.url) == (7000, "0.0.0.0", "sqlite:///f.db")
    assert load_settings(file, api={"port": 8000}).api.port == 8000
    monkeypatch.setenv("ROOST_SETTINGS", str(file))
    monkeypatch.delenv("ROOST_API__PORT")
    assert load_settings(None).api.port == 6000


def test_settings_toml_in_the_working_folder_is_read(make_settings: Any, tmp_path: Path) -> None:
    write(tmp_path / "settings.toml", "[worker]\nmax_concurrent = 9\n")
    assert load_settings(None).worker.max_concurrent == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[api]\nprot = 1\n", "api.prot: unknown key"),
        ("[apii]\nport = 1\n", "apii: unknown key"),
        ('[api]\nport = "high"\n', "api.port: Input should be a valid integer"),
        ("[worker]\nmax_concurrent = 0\n", "worker.max_concurrent"),
        ('[retry]\nstrategy = "random"\n', "retry.strategy"),
        ("[api\nport = 1\n", "not valid TOML"),
        ('[runtime]\nname = "selenium"\n', "runtime.name = 'selenium' is not a registered runtime"),
        ("[runtime.mock]\nlatency = 5\n", "runtime.mock.latency: unknown key"),
        ("[runtime.other]\nx = 1\n", "runtime.other: no runtime named 'other'"),
        ('[store]\nurl = "postgres://x"\n', "unknown scheme 'postgres'"),
        ('[store]\nurl = "sqlite://relative.db"\n', "expected sqlite:///path"),
    ],
)
def test_a_broken_settings_file_names_the_file_key_and_problem(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    file = write(tmp_path / "broken.toml", text)
    assert main(["--config", str(file), "stats"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert err.startswith("roost: error:")
    if "TOML" in message or "unknown key" in message:
        assert "broken.toml" in err


def test_a_missing_settings_file_is_named(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", "nowhere.toml", "stats"]) == 2
    assert "nowhere.toml does not exist" in capsys.readouterr().err


def test_config_masks_secrets(
    make_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ROOST_API__TOKEN", "t0ps3cret")
    monkeypatch.setenv("ROOST_STORE__URL", "mongodb://admin:hunter2@db.example/crypto")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["api"]["token"] == "********" and "t0ps3cret" not in out
    assert data["store"]["url"] == "mongodb://admin:****@db.example/crypto" and "hunter2" not in out
    assert data["api"]["port"] == 5001


def test_cli_enqueue_stats_task_and_worker(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["worker", "--burst"]) == 0  # creates the database; enqueue does not
    assert (
        main(
            [
                "enqueue",
                "search",
                "bitcoin",
                "--filters",
                '{"lang": "en", "since": "2026-01-01", "exclude_replies": true}',
                "--limit",
                "5",
            ]
        )
        == 0
    )
    search = json.loads(capsys.readouterr().out)
    assert main(["enqueue", "account", "elonmusk", "--limit", "3", "--priority", "2"]) == 0
    account = json.loads(capsys.readouterr().out)
    assert main(["stats"]) == 0
    assert json.loads(capsys.readouterr().out)["pending"] == 2
    assert main(["worker", "--burst"]) == 0
    capsys.readouterr()
    assert main(["task", search["taskId"]]) == 0
    task = json.loads(capsys.readouterr().out)
    assert task["status"] == "DONE" and task["payload"]["filters"]["lang"] == "en"
    assert task["payload"]["filters"]["since"] == "2026-01-01"
    assert task["result"]["count"] == 5
    assert main(["task", account["taskId"]]) == 0
    assert json.loads(capsys.readouterr().out)["result"]["count"] == 3
    assert main(["recover"]) == 0
    assert json.loads(capsys.readouterr().out) == {"recovered": 0}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["enqueue", "search", ""], "query"),
        (["enqueue", "account", "not a handle"], "username"),
        (["enqueue", "account", "bob", "--limit", "0"], "limit"),
        (["enqueue", "nothing", "x"], "unknown task kind 'nothing'"),
        (["enqueue", "search", "x", "--run-at", "soon"], "--run-at"),
        (["enqueue", "search", "x", "stray"], "unexpected argument"),
        (["task", "123"], "24 hexadecimal"),
    ],
)
def test_cli_bad_input_is_a_message_not_a_traceback(
    make_settings: Any, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["worker", "--burst"]) == 0
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert main(["stats"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0


def test_unknown_task_id_exits_1(make_settings: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--burst"]) == 0
    assert main(["task", "a" * 24]) == 1
    assert "no task with id" in capsys.readouterr().err


def test_config_error_type_is_public() -> None:
    with pytest.raises(ConfigError):
        load_settings(None, api={"port": -1})


def test_an_unreachable_mongo_url_is_one_clear_line(
    make_settings: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROOST_STORE__URL", "mongodb://admin:hunter2@127.0.0.1:1/crypto")
    monkeypatch.setenv("ROOST_STORE__TIMEOUT", "0.3")
    assert main(["worker", "--burst"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("roost: the task store is unavailable: store.url mongodb://admin:****@")
    assert "Connection refused" in err and "hunter2" not in err
    assert "Traceback" not in err and len(err.splitlines()) == 1
