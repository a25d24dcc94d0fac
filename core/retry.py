"""Retry policy: a value object and pure functions; the only place retries are decided."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .errors import PermanentError, RetryAfter

Strategy = Literal["exponential", "linear", "fixed"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how late a failed task runs again.

    ``exponential``: ``base_delay * factor**(attempt-1)`` capped at ``max_delay``, then
    spread by ``±jitter`` (a fraction) so failed tasks do not come back in lockstep.
    ``linear``: ``base_delay * attempt`` (60 s × attempts: the seed's behaviour), no jitter.
    ``fixed``: always ``base_delay``.
    """

    max_attempts: int = 3
    strategy: Strategy = "exponential"
    base_delay: float = 60.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.2

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before the run after ``attempt`` (1-based) failed."""
        attempt = max(1, attempt)
        if self.strategy == "linear":
            return min(self.base_delay * attempt, self.max_delay)
        if self.strategy == "fixed":
            return self.base_delay
        raw = min(self.base_delay * self.factor ** (attempt - 1), self.max_delay)
        return max(0.0, raw * (1 + self.jitter * (2 * rand() - 1)))


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to a task whose run raised: retry after ``delay`` or fail for good.

    ``charge`` is False when the attempt should not count (``RetryAfter`` by default).
    """

    retry: bool
    delay: float = 0.0
    charge: bool = True
    error: str = ""


def describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) and not str(exc):
        return "TimeoutError: the handler ran past its timeout"
    return f"{type(exc).__name__}: {exc}"[:2000]


def decide(policy: RetryPolicy, attempts: int, exc: BaseException) -> Decision:
    """Map a handler's exception and the attempts used so far to a :class:`Decision`."""
    error = describe(exc)
    if isinstance(exc, PermanentError):
        return Decision(retry=False, error=error)
    if isinstance(exc, RetryAfter):
        if exc.charge and attempts >= policy.max_attempts:
            return Decision(retry=False, error=error)
        return Decision(retry=True, delay=exc.seconds, charge=exc.charge, error=error)
    if attempts >= policy.max_attempts:
        return Decision(retry=False, error=error)
    return Decision(retry=True, delay=policy.delay(attempts), error=error)
