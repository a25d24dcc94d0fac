"""Validation problems as one short line a person can act on, the same at every entry point.

Settings, payloads (HTTP, CLI, Python) and request bodies all turn pydantic errors into text
here. At most :data:`MAX_PROBLEMS` are listed, then a count of the rest, and each key and line
is cut to a bounded length: a hostile input (6,000 unknown keys, a 50 KB key) cannot make a
response or a log line many times its own size.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

MAX_PROBLEMS = 20
MAX_KEY_CHARS = 80
MAX_LINE_CHARS = 300
SETTINGS_HINT = "unknown key (check the spelling; `roost config` shows the valid keys)"

Loc = tuple[int | str, ...]


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``...`` when cut."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def key_of(loc: Sequence[int | str]) -> str:
    """``filters.lang``; ``(top level)`` for the whole input; long keys cut."""
    return shorten(".".join(str(p) for p in loc), MAX_KEY_CHARS) or "(top level)"


def summary(lines: Sequence[str]) -> str:
    """The first :data:`MAX_PROBLEMS` lines joined with ``; `` and a count of the rest."""
    shown = "; ".join(shorten(line, MAX_LINE_CHARS) for line in lines[:MAX_PROBLEMS])
    rest = len(lines) - MAX_PROBLEMS
    if rest > 0:
        shown += f"; and {rest} more problem{'s' if rest > 1 else ''}"
    return shown


def message_of(err: Any) -> str:
    """pydantic's message without its ``Value error, `` prefix (our validators say it all)."""
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ") if err["type"] == "value_error" else msg


def format_errors(
    exc: ValidationError,
    *,
    fields_of: type[BaseModel] | None = None,
    at: Loc = (),
    label: Callable[[Loc], str] | None = None,
) -> str:
    """One ``key: message`` per problem (capped); ``at`` prefixes every key.

    An unknown key names the accepted fields of ``fields_of`` (a payload or request model:
    its user cannot run ``roost config``); without it, the settings hint. ``label(loc)``
    prefixes a line with where its value came from (settings: a file or a variable).
    """
    lines: list[str] = []
    hinted: set[Loc] = set()
    for err in exc.errors():
        loc: Loc = (*at, *err["loc"])
        msg = message_of(err)
        if err["type"] == "extra_forbidden":
            msg = (
                SETTINGS_HINT
                if fields_of is None
                else _unknown_field(fields_of, err["loc"], hinted)
            )
        line = f"{key_of(loc)}: {msg}"
        lines.append(f"{label(loc)}: {line}" if label else line)
    return summary(lines)


def _unknown_field(model: type[BaseModel], loc: Loc, hinted: set[Loc]) -> str:
    """``unknown field; accepted: a, b`` once per owning object, then ``unknown field``."""
    owner = owner_model(model, loc)
    if owner is None:
        return "unknown field (check the spelling)"
    if loc[:-1] in hinted:
        return "unknown field"
    hinted.add(loc[:-1])
    names = [f.alias or name for name, f in owner.model_fields.items()]
    return f"unknown field; accepted: {', '.join(names)}"


def owner_model(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model whose object holds the last key of ``loc``, walking nested models and lists."""
    current = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue  # an index into a list of models
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)), None
        )
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return None
        current = inner
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model in ``Model``, ``Model | None``, ``list[Model]``, ``Annotated[Model, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None or origin is dict:
        return None  # a plain type, or a mapping whose keys are data, not fields
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
