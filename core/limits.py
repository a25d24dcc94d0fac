"""The bounds of a task's scheduling options, one rule for every entry point.

A priority is an integer from -1000 to 1000. A run-at time has a timezone and is dated,
in that timezone, from 1970-01-01 to 9999-12-30: its UTC value is then within a day of
those dates, which both engines store (SQLite as epoch milliseconds, MongoDB as a BSON
date) and Python reads back and renders with four-digit years. (9999-12-31 with an offset
of -01:00 or more can be in year 10000 in UTC. The bound is on the date as written, not
on the UTC value, so the OpenAPI document can state it exactly as a pattern: an offset
moves the UTC date by up to a day either way, which no pattern over the text can follow.)

``Roost.new_task``/``new_tasks`` apply these rules, so the Python API, the CLI and HTTP
refuse the same values with the same words; the entry points only name their own field
(``run_at``, ``--run-at``, ``runAt``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from .errors import ValidationFailed
from .fields import TIME_RULE, JsonDateTime, JsonInt

PRIORITY_MIN, PRIORITY_MAX = -1000, 1000
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9999, 12, 30)
#: The latest time a task can be rescheduled to (a handler's far-off RetryAfter).
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)

PRIORITY_RULE = f"must be an integer from {PRIORITY_MIN} to {PRIORITY_MAX}"
RANGE_RULE = f"must be dated from {FIRST_DAY} to {LAST_DAY} in its own timezone"
#: :data:`FIRST_DAY` .. :data:`LAST_DAY` over the text: what the OpenAPI document says.
RUN_AT_PATTERN = (
    r"^(?:(?:19[7-9]\d|[2-8]\d{3}|9[0-8]\d{2}|99[0-8]\d|999[0-8])-\d\d-\d\d"
    r"|9999-(?:0\d|1[01])-\d\d|9999-12-(?:[0-2]\d|30))[Tt]"
)


def priority_problem(value: object) -> str | None:
    """Why ``value`` is not a priority, or None when it is one."""
    integer = isinstance(value, int) and not isinstance(value, bool)
    if integer and PRIORITY_MIN <= value <= PRIORITY_MAX:  # type: ignore[operator]
        return None
    try:
        given = repr(value)
    except ValueError:  # an int too long to print (sys.get_int_max_str_digits)
        given = "a number of more than 4000 digits"
    return f"{PRIORITY_RULE} (got {_shown(given)})"


def run_at_problem(value: object) -> str | None:
    """Why ``value`` is not a run-at time, or None when it is one."""
    if not isinstance(value, datetime) or value.utcoffset() is None:
        return TIME_RULE
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        return f"{RANGE_RULE} (got {_shown(value.isoformat())})"
    return None


def check_priority(value: object, field: str = "priority") -> int:
    problem = priority_problem(value)
    if problem is not None:
        raise _failed(field, problem)
    return value  # type: ignore[return-value]


def check_run_at(value: object, field: str = "run_at") -> datetime | None:
    """``value`` as given (None stays None: run as soon as possible). Not turned to UTC
    here: the rule is on the date in its own timezone, so a check must see that one."""
    if value is None:
        return None
    problem = run_at_problem(value)
    if problem is not None:
        raise _failed(field, problem)
    return value  # type: ignore[return-value]


def parse_priority(text: str, field: str) -> int:
    """A priority given as text (the CLI)."""
    try:
        value: object = int(text)
    except ValueError:
        value = text
    return check_priority(value, field)


def parse_run_at(text: str, field: str) -> datetime:
    """A run-at time given as text (the CLI), read exactly as HTTP reads ``runAt``."""
    try:
        return _RUN_AT.validate_python(text)
    except ValidationError as exc:
        raise _failed(field, exc.errors()[0]["msg"]) from None


def after(seconds: float, now: datetime) -> datetime:
    """``now + seconds``, no later than :data:`LATEST` (a handler's ``RetryAfter(1e12)``)."""
    try:
        return min(now + timedelta(seconds=seconds), LATEST)
    except (OverflowError, ValueError):  # past datetime.max, or not a number at all
        return LATEST


def _shown(text: str) -> str:
    return text if len(text) <= 50 else text[:47] + "..."


def _failed(field: str, problem: str) -> ValidationFailed:
    return ValidationFailed(
        f"{field}: {problem}", [{"loc": (field,), "msg": problem, "type": "value_error"}]
    )


def _validator(problem_of: Any) -> AfterValidator:
    def check(value: Any) -> Any:
        problem = problem_of(value)
        if problem is not None:
            raise PydanticCustomError("value_error", "{problem}", {"problem": problem})
        return value

    return AfterValidator(check)


#: The request-model field types (HTTP): the rules above, as pydantic reports them.
Priority = Annotated[
    JsonInt,
    _validator(priority_problem),
    Field(json_schema_extra={"minimum": PRIORITY_MIN, "maximum": PRIORITY_MAX}),
]
RunAt = Annotated[
    JsonDateTime, _validator(run_at_problem), Field(json_schema_extra={"pattern": RUN_AT_PATTERN})
]
_RUN_AT: TypeAdapter[datetime] = TypeAdapter(RunAt)
