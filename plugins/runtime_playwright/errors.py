"""Typed failures of the X runtime, each mapped to what the task queue should do.

Slot-level errors (:class:`SessionExpired`, :class:`AccountUnusable`,
:class:`RateLimited`) are caught by the runtime, which retires or cools the slot and
carries on with another one; they only reach the worker when no slot is left, and
then as the core's :class:`PermanentError` / :class:`RetryAfter`.
"""

from __future__ import annotations

import time
from pathlib import Path

from roost.core.errors import PermanentError, RetryAfter, RoostError


class SessionExpired(PermanentError):
    """X sent the session to ``/login``: its cookies are no longer valid."""

    def __init__(self, slot: str, detail: str = "redirected to /login") -> None:
        self.slot = slot
        super().__init__(
            f"session {slot!r} expired ({detail}); export fresh cookies or storage state for it"
        )


class AccountUnusable(PermanentError):
    """The logged-in account is locked, suspended or refused: stop using it."""

    def __init__(self, slot: str, detail: str) -> None:
        self.slot = slot
        super().__init__(f"session {slot!r} is unusable: {detail}")


class RateLimited(RetryAfter):
    """X refused (429, code 88) or will refuse (``remaining: 0``) until ``reset`` (unix s)."""

    def __init__(self, slot: str, reset: float, op: str, *, refused: bool = True) -> None:
        self.slot = slot
        self.reset = reset
        self.op = op
        self.refused = refused
        what = "rate limited" if refused else "rate budget used up"
        super().__init__(
            max(0.0, reset - time.time()),
            f"session {slot!r} {what} on {op} until {_clock(reset)}",
        )


def _clock(epoch: float) -> str:
    return time.strftime("%H:%M:%SZ", time.gmtime(epoch))


class NoUsableSession(PermanentError):
    """Every configured session is expired or unusable; a person must refresh them."""


class SchemaChanged(PermanentError):
    """X's response no longer has the shape this parser knows; the raw body is on disk."""

    def __init__(self, op: str, detail: str, dump: Path | None = None) -> None:
        self.op = op
        self.dump = dump
        where = f"; raw response saved to {dump}" if dump else ""
        super().__init__(f"X API schema changed ({op}): {detail}{where}")


class TargetUnavailable(PermanentError):
    """The account asked for does not exist, is suspended or is protected."""


class CloudflareBlocked(RoostError):
    """Cloudflare answered with its HTML block page; retried later by the policy."""


class XUnavailable(RoostError):
    """A transient failure (5xx, timeout, crashed browser); the retry policy decides."""


class BrowserCrashed(XUnavailable):
    """The browser or the page died under us; the runtime restarts it and resumes."""
