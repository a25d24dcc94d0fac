"""The retry policy is a pure function of the attempt and the error."""

from __future__ import annotations

import pytest
from roost.core.errors import PermanentError, RetryAfter
from roost.core.retry import RetryPolicy, decide


def test_linear_reproduces_the_seed() -> None:
    policy = RetryPolicy(strategy="linear", base_delay=60)
    assert [policy.delay(a) for a in (1, 2, 3)] == [60, 120, 180]


def test_exponential_doubles_within_the_jitter_and_caps() -> None:
    policy = RetryPolicy(base_delay=10, factor=2, max_delay=100, jitter=0.2)
    assert [policy.delay(a, rand=lambda: 0.5) for a in (1, 2, 3, 4, 5)] == [10, 20, 40, 80, 100]
    assert policy.delay(1, rand=lambda: 0.0) == pytest.approx(8)
    assert policy.delay(1, rand=lambda: 1.0) == pytest.approx(12)


def test_fixed_is_constant() -> None:
    assert {RetryPolicy(strategy="fixed", base_delay=5).delay(a) for a in range(1, 6)} == {5}


def test_ordinary_errors_retry_until_attempts_run_out() -> None:
    policy = RetryPolicy(max_attempts=3, strategy="linear", base_delay=60)
    first = decide(policy, 1, ValueError("bad"))
    assert (first.retry, first.delay, first.charge, first.error) == (
        True,
        60,
        True,
        "ValueError: bad",
    )
    assert decide(policy, 3, ValueError("bad")).retry is False


def test_permanent_error_never_retries() -> None:
    assert decide(RetryPolicy(max_attempts=5), 1, PermanentError("no such user")).retry is False


def test_retry_after_waits_as_told_without_charging() -> None:
    d = decide(RetryPolicy(max_attempts=1), 1, RetryAfter(900, "rate limit"))
    assert (d.retry, d.delay, d.charge) == (True, 900, False)
    charged = decide(RetryPolicy(max_attempts=1), 1, RetryAfter(5, charge=True))
    assert charged.retry is False


def test_timeouts_are_described() -> None:
    assert "timeout" in decide(RetryPolicy(), 1, TimeoutError()).error


def test_linear_and_exponential_are_capped_at_max_delay() -> None:
    assert RetryPolicy(strategy="linear", base_delay=60, max_delay=100).delay(3) == 100
    capped = RetryPolicy(base_delay=10, factor=10, max_delay=50, jitter=0.2)
    assert capped.delay(4, rand=lambda: 0.5) == 50
    assert capped.delay(4, rand=lambda: 1.0) == pytest.approx(60)  # the cap, then the jitter


def test_random_jitter_stays_within_its_bounds_and_varies() -> None:
    policy = RetryPolicy(base_delay=10, factor=2, jitter=0.2)
    samples = [policy.delay(2) for _ in range(1000)]
    assert all(16 <= s <= 24 for s in samples)
    assert len(set(samples)) > 100


def test_charged_retry_after_retries_while_attempts_are_left() -> None:
    d = decide(RetryPolicy(max_attempts=3), 2, RetryAfter(30, charge=True))
    assert (d.retry, d.delay, d.charge) == (True, 30, True)
