"""Exceptions that cross module boundaries.

Handlers raise :class:`RetryAfter` and :class:`PermanentError` to steer the retry
policy; everything else a handler raises is an ordinary, retryable failure.
"""

from __future__ import annotations


class RoostError(Exception):
    """Base class of roost's own errors."""


class ConfigError(RoostError):
    """Settings or plugin registration that cannot work; the message says what to fix."""


class PermanentError(RoostError):
    """Raised by a handler when retrying cannot help (a bad username, a banned account).

    The task goes straight to FAILED, whatever attempts are left.
    """


class RetryAfter(RoostError):
    """Raised by a handler to run the task again after ``seconds`` (e.g. a rate-limit reset).

    By default the attempt is not charged: waiting out a known limit is not a failure
    of the task. Pass ``charge=True`` when it should count against ``max_attempts``.
    """

    def __init__(self, seconds: float, reason: str = "", *, charge: bool = False) -> None:
        if not seconds >= 0:  # also refuses NaN, which no time can be computed from
            raise ValueError(f"RetryAfter seconds must be a number >= 0 (got {seconds!r})")
        self.seconds = float(seconds)
        self.reason = reason
        self.charge = charge
        super().__init__(reason or f"retry after {seconds:g}s")


class StoreUnavailable(RoostError):
    """The database cannot be reached or is locked; callers back off and try again."""


class StoreCorrupt(RoostError):
    """The database file is damaged: retrying cannot help, an operator must repair it.

    Not a :class:`StoreUnavailable`, so nothing backs off and retries it: workers stop,
    the CLI exits 4, the API answers 503 without ``Retry-After``. The message names the
    file and how to recover it.
    """


class StoreMissing(ConfigError):
    """A command that only reads or enqueues found no database where the settings point
    (it would otherwise create an empty one and report zeros)."""


class WorkerCrashed(RoostError):
    """The worker stopped on an error nobody handled (a bug); the cause is ``__cause__``."""


class NotFound(RoostError):
    """A task id that no task has."""


class WrongStatus(RoostError):
    """The task exists, but its status does not allow what was asked (``status`` says which
    it has): HTTP answers 409, the CLI exits 1."""

    def __init__(self, message: str, task_id: str, status: str) -> None:
        super().__init__(message)
        self.task_id, self.status = task_id, status


class NotCancellable(WrongStatus):
    """``cancel`` of a task that already ended (DONE, FAILED or CANCELLED)."""


class NotRetryable(WrongStatus):
    """``retry`` of a task that is not FAILED or CANCELLED."""


class ValidationFailed(RoostError):
    """Input that does not fit a task type's payload model; ``errors`` lists each problem."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class LeaseLost(RoostError):
    """The task's lease is no longer this worker's (it was recovered, maybe re-run elsewhere).

    The worker stops the run and discards its result: the newer run stands.
    """


class RoostDeprecationWarning(DeprecationWarning):
    """A setting or API roost still accepts under an old name; the message names the new one.
    ``roost`` shows these (Python hides plain DeprecationWarnings outside ``__main__``)."""


class RenamedSettingWarning(RoostDeprecationWarning):
    """A settings key given under its old name; ``roost`` prints it on stderr."""
