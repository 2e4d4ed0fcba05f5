"""A circuit breaker in front of Personalize: stop calling it while it keeps failing."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class BreakerState(enum.Enum):
    """Where the breaker stands; the value is what /readyz and the log show."""

    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are skipped until the cool-down ends
    HALF_OPEN = "half-open"  # one probe call is in flight; the others are skipped


class CircuitBreaker:
    """Counts consecutive upstream failures and says whether the next call may go out.

    After `failure_threshold` failures in a row the breaker opens: `allow()` answers False for
    `cool_down` seconds, so requests go straight to the fallback and a struggling (or
    throttling) Personalize gets no traffic from this process. Then one call is let through as
    a probe (half-open): its success closes the breaker, its failure opens it for another
    cool-down. Any answer from Personalize is a success, a client error included: the service
    answered. `clock` is for tests.
    """

    def __init__(
        self,
        *,
        failure_threshold: int,
        cool_down: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be 1 or more, got {failure_threshold}")
        if cool_down <= 0:
            raise ValueError(f"cool_down must be more than 0 seconds, got {cool_down}")
        self.failure_threshold = failure_threshold
        self.cool_down = cool_down
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go to Personalize now; True in the open state makes it the probe."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.cool_down:
            self._move(BreakerState.HALF_OPEN, "letting one probe call through")
            return True
        return False

    def record_success(self) -> None:
        """Personalize answered."""
        self._failures = 0
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED, "Personalize answered; calling it again")

    def record_failure(self) -> None:
        """A call failed after its retries: throttled, timed out, 5xx or unreachable."""
        self._failures += 1
        if self._state is BreakerState.HALF_OPEN:
            self._open("the probe call failed")
        elif self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold:
            self._open(f"{self._failures} consecutive Personalize calls failed")

    def record_abandoned(self) -> None:
        """A call ended with no verdict (cancelled): a probe's turn passes to the next call."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock() - self.cool_down

    def _open(self, reason: str) -> None:
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN, f"{reason}; serving the fallback for {self.cool_down:g} s")

    def _move(self, state: BreakerState, reason: str) -> None:
        log = logger.warning if state is BreakerState.OPEN else logger.info
        log("Circuit breaker %s -> %s: %s", self._state.value, state.value, reason)
        self._state = state
