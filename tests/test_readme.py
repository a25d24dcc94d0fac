"""The README keeps its promises to a new user: checked against the code, not by eye."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from roost.core import Exposure, TaskType
from roost.core.plugin_settings import registered_tables
from roost.core.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def settings_table_keys() -> set[str]:
    """Dotted keys named in the first column of the Settings table; ``a.b`, `c``` -> a.b, a.c."""
    keys = set()
    for row in section("Settings").splitlines():
        if not row.startswith("| `"):
            continue
        table = None
        for token in re.findall(r"`([^`]+)`", row.split("|")[1]):
            name = token.strip("[]")
            if "." in name:
                table, _, _ = name.partition(".")
                keys.add(name)
            elif table is not None:
                keys.add(f"{table}.{name}")
    return keys


def model_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel) and sub.model_fields:
            keys |= model_keys(sub, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_every_setting_is_in_the_settings_table() -> None:
    """Core's tables and those the built-in plugins own (``[api]``)."""
    keys = model_keys(Settings)
    for table, model in registered_tables(False, [], []).items():
        keys |= model_keys(model, f"{table}.")
    assert "api.port" in keys
    missing = keys - settings_table_keys()
    assert not missing, f"README settings table lacks {sorted(missing)}"


def test_the_settings_table_says_max_attempts_is_fixed_at_enqueue() -> None:
    row = next(
        r for r in section("Settings").splitlines() if r.startswith("| `retry.max_attempts`")
    )
    assert "enqueued" in row and "worker" in row


def test_the_task_type_example_runs_as_printed() -> None:
    code = section("Adding a task type").split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(
        compile(code, "README.md", "exec", dont_inherit=True), namespace
    )  # NameError: an import is missing
    registered: list[TaskType] = []
    namespace["register_task_types"](registered.append)
    assert [t.name for t in registered] == ["URL_CHECK"]
    assert registered[0].payload.model_validate({"url": "http://example.com"})
    exposures: list[Exposure] = []
    namespace["register_task_exposures"](exposures.append)
    assert [(e.task_type, e.name, e.positional) for e in exposures] == [
        ("URL_CHECK", "url-check", "url")
    ]


def test_the_quick_start_says_what_make_test_needs() -> None:
    quick = section("Quick start")
    assert "Python 3.11+" in quick
    assert "Python 3.13" in quick and "mongod" in quick  # the wire test server
    assert "sudo" in quick and "chromium" in quick


def test_the_seed_is_explained_where_it_is_first_named() -> None:
    first = README.lower().index("the seed")
    paragraph = README[README.rfind("\n\n", 0, first) : README.find("\n\n", first)]
    assert "P2.1 Mongo Task Queue Integration" in paragraph
