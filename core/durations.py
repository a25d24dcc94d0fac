"""Durations as people write them: seconds (``3600``, ``"90"``) or a number with a unit
(``"30m"``, ``"12h"``, ``"7d"``, ``"1d12h"``). One parser for the ``[retention]`` settings
and the CLI's ``--older-than``, so both accept the same text and say the same when it is wrong.
"""

from __future__ import annotations

import math
import re

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
#: The longest duration accepted (about 1000 years): past it, a date cannot be computed.
MAX_SECONDS = 1000 * 365 * 86_400.0
HELP = "seconds (3600) or a number with a unit s, m, h, d or w (30m, 12h, 7d, 1d12h)"


def parse_duration(value: object) -> float:
    """``value`` in seconds; :class:`ValueError` with a message a person can act on when it
    is not a duration (the caller names the key or option)."""
    if isinstance(value, bool):  # a bool is an int to Python, never a duration to a person
        raise ValueError(f"{value!r} is not a duration: use {HELP}")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _from_text(value)
    else:
        raise ValueError(f"{type(value).__name__} is not a duration: use {HELP}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration: it must be 0 or more, {HELP}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"{value!r} is too long a duration: at most 1000 years")
    return seconds


def _from_text(text: str) -> float:
    cleaned = text.strip().lower().replace(" ", "")
    try:
        return float(cleaned)
    except ValueError:
        pass
    parts = _PART.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration: use {HELP}")
    return sum(float(number) * UNITS[unit] for number, unit in parts)


def format_duration(seconds: float) -> str:
    """``seconds`` in the largest unit that divides it (``7d``, ``12h``, ``90s``): for logs."""
    for unit, size in sorted(UNITS.items(), key=lambda item: -item[1]):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
