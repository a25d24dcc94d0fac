"""Durations as people write them (``[retention]`` settings, ``roost purge --older-than``)."""

from __future__ import annotations

import pytest
from roost.core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (3600, 3600.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("45s", 45.0),
        ("30m", 1800.0),
        ("12h", 43_200.0),
        ("7d", 604_800.0),
        ("2w", 1_209_600.0),
        ("1d12h", 129_600.0),
        ("1.5h", 5400.0),
        (" 7D ", 604_800.0),
    ],
)
def test_seconds_and_unit_strings_are_read(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["", "7x", "d7", "7 days", "-1", -5, "nan", "inf", True, None, [7], "1d-2h"]
)
def test_anything_else_is_a_clear_error(value: object) -> None:
    with pytest.raises(ValueError, match="duration") as caught:
        parse_duration(value)
    assert "7d" in str(caught.value) or "0 or more" in str(caught.value)


def test_an_absurdly_long_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration("100000w")


def test_format_picks_the_largest_whole_unit() -> None:
    assert [format_duration(s) for s in (604_800, 43_200, 1800, 90, 1.5)] == [
        "1w",
        "12h",
        "30m",
        "90s",
        "1.5s",
    ]
