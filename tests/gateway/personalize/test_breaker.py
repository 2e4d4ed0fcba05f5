"""The circuit breaker on a hand-moved clock."""

import logging

import pytest

from gateway.personalize.breaker import BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def open_breaker(clock: Clock, threshold: int = 3, cool_down: float = 10.0) -> CircuitBreaker:
    breaker = CircuitBreaker(failure_threshold=threshold, cool_down=cool_down, clock=clock)
    for _ in range(threshold):
        breaker.allow()
        breaker.record_failure()
    return breaker


def test_breaker_stays_closed_below_the_threshold() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    breaker.record_failure()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED, breaker.state
    assert breaker.allow() is True


def test_breaker_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    for outcome in ("failure", "failure", "success", "failure", "failure"):
        getattr(breaker, f"record_{outcome}")()

    assert breaker.state is BreakerState.CLOSED, breaker.state
    assert breaker.consecutive_failures == 2, breaker.consecutive_failures


def test_breaker_opens_at_the_threshold_and_refuses_calls() -> None:
    breaker = open_breaker(Clock())

    assert breaker.state is BreakerState.OPEN, breaker.state
    assert breaker.allow() is False


def test_breaker_refuses_calls_until_the_cool_down_ends() -> None:
    clock = Clock()
    breaker = open_breaker(clock, cool_down=10.0)
    clock.now += 9.9

    assert breaker.allow() is False


def test_breaker_lets_one_probe_through_after_the_cool_down() -> None:
    clock = Clock()
    breaker = open_breaker(clock, cool_down=10.0)
    clock.now += 10.0

    assert breaker.allow() is True
    assert breaker.allow() is False
    assert breaker.state is BreakerState.HALF_OPEN, breaker.state


def test_breaker_probe_success_closes_it() -> None:
    clock = Clock()
    breaker = open_breaker(clock)
    clock.now += 10.0
    breaker.allow()

    breaker.record_success()

    assert breaker.state is BreakerState.CLOSED, breaker.state
    assert breaker.allow() is True


def test_breaker_probe_failure_opens_it_for_another_cool_down() -> None:
    clock = Clock()
    breaker = open_breaker(clock, cool_down=10.0)
    clock.now += 10.0
    breaker.allow()

    breaker.record_failure()
    clock.now += 9.9

    assert breaker.state is BreakerState.OPEN, breaker.state
    assert breaker.allow() is False


def test_breaker_abandoned_probe_lets_the_next_call_probe() -> None:
    clock = Clock()
    breaker = open_breaker(clock)
    clock.now += 10.0
    breaker.allow()

    breaker.record_abandoned()
    state_after_abandon = breaker.state
    next_call_allowed = breaker.allow()

    assert state_after_abandon is BreakerState.OPEN, state_after_abandon
    assert next_call_allowed is True
    assert breaker.state is BreakerState.HALF_OPEN, breaker.state


def test_breaker_one_request_failing_many_times_counts_once() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    request = object()
    for index in range(100):  # one request's aliases or _entities, each for another user
        breaker.record_failure(request=request, user=f"u-{index}")

    assert breaker.state is BreakerState.CLOSED, breaker.consecutive_failures


def test_breaker_one_user_failing_in_many_requests_counts_once() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    for _ in range(100):
        breaker.record_failure(request=object(), user="u-1")

    assert breaker.state is BreakerState.CLOSED, breaker.consecutive_failures


def test_breaker_opens_when_as_many_requests_of_as_many_users_fail() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    for _ in range(50):
        breaker.record_failure(request=object(), user="u-1")
    breaker.record_failure(request=object(), user="u-2")
    state_at_two_users = breaker.state
    breaker.record_failure(request=object(), user="u-3")

    assert state_at_two_users is BreakerState.CLOSED, state_at_two_users
    assert breaker.state is BreakerState.OPEN, breaker.state


def test_breaker_user_less_failures_count_per_request() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    request = object()
    for _ in range(10):
        breaker.record_failure(request=request, user=None)
    state_for_one_request = breaker.state
    breaker.record_failure(request=object(), user=None)
    breaker.record_failure(request=object(), user=None)

    assert state_for_one_request is BreakerState.CLOSED, state_for_one_request
    assert breaker.state is BreakerState.OPEN, breaker.state


def test_breaker_success_forgets_who_failed() -> None:
    breaker = CircuitBreaker(failure_threshold=3, cool_down=10.0, clock=Clock())
    breaker.record_failure(request=object(), user="u-1")
    breaker.record_failure(request=object(), user="u-2")
    breaker.record_success()
    breaker.record_failure(request=object(), user="u-3")

    assert breaker.state is BreakerState.CLOSED, breaker.state


def test_breaker_logs_every_transition(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    caplog.set_level(logging.INFO, logger="gateway.personalize.breaker")
    breaker = open_breaker(clock, threshold=2, cool_down=5.0)
    clock.now += 5.0
    breaker.allow()
    breaker.record_success()

    assert [record.getMessage() for record in caplog.records] == [
        "Circuit breaker closed -> open: 2 consecutive Personalize calls failed, for at least 2 "
        "requests of 2 users; serving the fallback for 5 s",
        "Circuit breaker open -> half-open: letting one probe call through",
        "Circuit breaker half-open -> closed: Personalize answered; calling it again",
    ]


@pytest.mark.parametrize(
    ("threshold", "cool_down", "message"),
    [
        (0, 1.0, "failure_threshold must be 1 or more, got 0"),
        (1, 0.0, "cool_down must be more than 0 seconds, got 0.0"),
    ],
)
def test_breaker_refuses_unusable_settings(threshold: int, cool_down: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker(failure_threshold=threshold, cool_down=cool_down)
