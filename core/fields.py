"""Field types for payload models that accept exactly what their JSON Schema documents.

Pydantic's lax mode turns ``"5"`` into 5, ``0`` into False and a number into a date;
the OpenAPI document says ``integer``, ``boolean`` and ``date``. These types make the
two agree, so a client reading the document is never surprised either way.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, StrictBool
from pydantic_core import PydanticCustomError


def _invalid(problem: str) -> PydanticCustomError:
    """A validation error whose message is ``problem`` as written (no "Value error, ")."""
    return PydanticCustomError("value_error", "{problem}", {"problem": problem})


def _json_number(value: Any) -> Any:
    if isinstance(value, str | bytes | bool):
        raise _invalid("must be a JSON integer (not text or a boolean)")
    return value


def _text_matching(pattern: str, what: str) -> BeforeValidator:
    regex = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, date):  # already a date/datetime (Python callers)
            return value
        if not isinstance(value, str) or not regex.match(value):
            raise _invalid(f"must be {what}")
        return value

    return BeforeValidator(check)


#: Put after constraints to keep them in the schema: ``Annotated[int, Field(ge=0), NOT_TEXT]``.
NOT_TEXT = BeforeValidator(_json_number)
#: An integer; ``20`` and ``20.0`` pass, ``"20"`` and ``true`` do not.
JsonInt = Annotated[int, NOT_TEXT]
#: ``true`` or ``false`` only.
JsonBool = StrictBool
#: ``"YYYY-MM-DD"`` only (not a timestamp).
JsonDate = Annotated[date, _text_matching(r"^\d{4}-\d\d-\d\d$", "a date YYYY-MM-DD")]
#: What :data:`JsonDateTime` says of a value that is not one.
TIME_RULE = "must be an ISO-8601 time with a timezone, e.g. 2026-01-31T12:00:00Z"
#: An RFC 3339 time with a timezone (``Z`` or ``+01:00``) only (not a timestamp).
JsonDateTime = Annotated[
    AwareDatetime,
    _text_matching(
        r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$",
        TIME_RULE.removeprefix("must be "),
    ),
]

__all__ = ["NOT_TEXT", "TIME_RULE", "JsonBool", "JsonDate", "JsonDateTime", "JsonInt"]
