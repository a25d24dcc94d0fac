"""Settings errors name their real source, and a token that cannot work stops start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from roost.core.app import Roost
from roost.core.cli import main
from roost.core.errors import ConfigError, ValidationFailed
from roost.core.settings import load_settings


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.fixture
def good_file(make_settings: Any, tmp_path: Path) -> Path:
    """A valid ./settings.toml, so a message that blames it is visibly wrong."""
    file = tmp_path / "settings.toml"
    file.write_text("[worker]\nmax_concurrent = 2\n", encoding="utf-8")
    return file


# -- the token (item 3) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (" s3cret-value", "leading or trailing whitespace"),
        ("s3cret-value\n", "leading or trailing whitespace"),
        ("s3cret\nvalue", "not printable ASCII"),
        ("s3cret\x07value", "not printable ASCII"),
        ("s3cret-välue", "not printable ASCII"),
    ],
    ids=[
        "empty",
        "blank",
        "leading space",
        "trailing newline",
        "newline",
        "control character",
        "non-ASCII",
    ],
)
def test_a_token_no_client_can_send_stops_start_up_naming_the_variable(
    good_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    value: str,
    problem: str,
) -> None:
    monkeypatch.setenv("ROOST_API__TOKEN", value)
    code, err = run(["stats"], capsys)
    assert code == 2, err
    assert err.startswith("roost: error: environment variable ROOST_API__TOKEN: api.token: ")
    assert problem in err and "Traceback" not in err
    assert "s3cret" not in err  # the token itself is never shown


def test_a_bad_token_in_the_file_names_the_file(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "prod.toml"
    file.write_text('[api]\nhost = "0.0.0.0"\ntoken = ""\n', encoding="utf-8")
    code, err = run(["--config", str(file), "stats"], capsys)
    assert code == 2 and f"{file}: api.token: is empty" in err


def test_a_bad_token_from_python_is_a_config_error(make_settings: Any) -> None:
    with pytest.raises(ConfigError, match=r"^arguments: api\.token: has leading or trailing"):
        load_settings(None, api={"token": "abc "})


def test_a_good_token_is_kept(make_settings: Any) -> None:
    settings = load_settings(None, api={"token": "Zm9v.bar-baz_~+/= with space"})
    assert settings.api.token is not None
    assert settings.api.token.get_secret_value() == "Zm9v.bar-baz_~+/= with space"


# -- the source of a bad value (item 12) -------------------------------------------------------


ENV_CASES = [
    (
        "ROOST_WORKER__MAX_CONCURRENT",
        "abc",
        "environment variable ROOST_WORKER__MAX_CONCURRENT: worker.max_concurrent: "
        "Input should be a valid integer",
    ),
    (
        "ROOST_WORKER__MAX_CONCURENT",
        "3",
        "environment variable ROOST_WORKER__MAX_CONCURENT: worker.max_concurent: unknown key",
    ),
    (
        "ROOST_WROKER__MAX_CONCURRENT",
        "3",
        "environment variable ROOST_WROKER__MAX_CONCURRENT: wroker.max_concurrent: "
        "unknown settings table 'wroker'",
    ),
    (
        "ROOST_RUNTIME__NAME",
        "selenium",
        "environment variable ROOST_RUNTIME__NAME: runtime.name = 'selenium' is not a "
        "registered runtime",
    ),
    (
        "ROOST_RUNTIME__MOCK__LATENCY",
        "3",
        "environment variable ROOST_RUNTIME__MOCK__LATENCY: runtime.mock.latency: unknown key",
    ),
    (
        "ROOST_RUNTIME__MOCK",
        "5",
        "environment variable ROOST_RUNTIME__MOCK: runtime.mock: must be a table",
    ),
    (
        "ROOST_RUNTIME__OTHER__X",
        "1",
        "environment variable ROOST_RUNTIME__OTHER__X: runtime.other: no runtime named 'other'",
    ),
    (
        "ROOST_WORKER",
        "not json",
        "environment variable ROOST_WORKER: worker: not valid JSON",
    ),
    (
        "ROOST_PLUGINS__MODULES",
        "my_plugin",
        "environment variable ROOST_PLUGINS__MODULES: plugins.modules: not valid JSON",
    ),
    (
        "ROOST_STORE__URL",
        "postgres://admin:hunter2@db/x",
        "environment variable ROOST_STORE__URL: store.url 'postgres://admin:****@db/x': "
        "unknown scheme 'postgres'",
    ),
]


@pytest.mark.parametrize(("name", "value", "expected"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_an_environment_variable_is_named_not_the_settings_file(
    good_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(name, value)
    code, err = run(["stats"], capsys)
    assert code == 2, err
    assert err.startswith(f"roost: error: {expected}"), err
    assert "settings.toml" not in err and "Traceback" not in err
    assert "hunter2" not in err


def test_each_problem_names_its_own_source(
    make_settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = tmp_path / "mixed.toml"
    file.write_text('[worker]\nmax_concurrent = "x"\n[api]\nport = 80\n', encoding="utf-8")
    monkeypatch.setenv("ROOST_API__PORT", "99999")  # beats the file's valid port
    code, err = run(["--config", str(file), "stats"], capsys)
    assert code == 2
    assert f"{file}: worker.max_concurrent: Input should be a valid integer" in err
    assert "environment variable ROOST_API__PORT: api.port: Input should be less than" in err


def test_non_settings_roost_variables_are_left_alone(
    good_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROOST_TEST_SOMETHING", "1")  # no "__": not a settings key
    monkeypatch.setenv("ROOST_WORKER__LEASE", "15")
    assert load_settings(None).worker.lease == 15


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve", "--port", "70000"], "--port: api.port: Input should be less than or equal"),
        (
            ["worker", "--burst", "--concurrency", "0"],
            "--concurrency: worker.max_concurrent: Input should be greater than or equal to 1",
        ),
        (
            ["worker", "--burst", "--concurrency", "-3"],
            "--concurrency: worker.max_concurrent: Input should be greater than or equal to 1",
        ),
    ],
    ids=["port", "concurrency 0", "negative concurrency"],
)
def test_a_bad_flag_is_a_settings_error_naming_the_flag(
    good_file: Path, capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, err = run(argv, capsys)
    assert code == 2, err
    assert err.startswith(f"roost: error: {expected}"), err


def test_an_argument_overrides_one_key_and_keeps_the_rest_of_its_table(
    good_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``--concurrency 4`` does: the other worker keys still come from env and file."""
    monkeypatch.setenv("ROOST_WORKER__LEASE", "15")
    settings = load_settings(None, worker={"max_concurrent": 4})
    assert (settings.worker.max_concurrent, settings.worker.lease) == (4, 15)
    assert settings.source("worker", "max_concurrent") == "arguments"
    assert settings.source("worker", "lease") == "environment variable ROOST_WORKER__LEASE"


# -- payload fields, not settings (item 13) ----------------------------------------------------


def test_the_cli_names_the_payload_fields_of_the_task_type(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(["enqueue", "search", "bitcoin", "--owner", "me"], capsys)
    assert code == 2
    assert "owner: unknown field; accepted: query, filters, limit" in err
    assert "roost config" not in err


def test_python_callers_get_the_payload_fields_too(make_settings: Any) -> None:
    roost = Roost.create(make_settings())
    with pytest.raises(ValidationFailed) as caught:
        roost.new_task("SEARCH", {"query": "x", "filters": {"langg": "en"}})
    message = str(caught.value)
    assert "filters.langg: unknown field; accepted: from, to, lang, since" in message
    assert "roost config" not in message


def test_settings_keep_the_settings_hint(
    make_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "s.toml"
    file.write_text("[api]\nprot = 1\n", encoding="utf-8")
    code, err = run(["--config", str(file), "stats"], capsys)
    assert code == 2 and "api.prot: unknown key (check the spelling; `roost config`" in err


def test_a_cli_message_lists_twenty_problems_and_counts_the_rest(
    make_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = [arg for i in range(50) for arg in (f"--field{i}", "1")]
    code, err = run(["enqueue", "search", "bitcoin", *extra], capsys)
    assert code == 2
    assert "field19: unknown field" in err and "field20" not in err
    assert err.rstrip().endswith("and 30 more problems")


# -- max_attempts is the task's, from when it was accepted (item 16) ---------------------------


def test_a_queued_task_keeps_the_max_attempts_it_was_enqueued_with(
    make_roost: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_roost()  # the database, so the CLI below finds it
    assert main(["enqueue", "search", "bitcoin"]) == 0
    task_id = json.loads(capsys.readouterr().out)["taskId"]
    monkeypatch.setenv("ROOST_RETRY__MAX_ATTEMPTS", "1")  # the worker's own budget
    monkeypatch.setenv("ROOST_RUNTIME__MOCK__FAILURE_RATE", "1")
    assert main(["worker", "--burst"]) == 0
    capsys.readouterr()
    assert main(["task", task_id]) == 0
    task = json.loads(capsys.readouterr().out)
    assert (task["status"], task["attempts"], task["maxAttempts"]) == ("PENDING", 1, 3)
    assert "simulated failure" in task["lastError"]
