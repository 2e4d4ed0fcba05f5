"""A circuit breaker in front of Personalize: stop calling it while it keeps failing."""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Hashable
from contextvars import ContextVar

logger = logging.getLogger(__name__)

# The request a Personalize call is made for, set once per HTTP request by the app: the
# breaker counts a request's failures once, however many calls it makes.
current_request: ContextVar[Hashable | None] = ContextVar("breaker_request", default=None)


class BreakerState(enum.Enum):
    """Where the breaker stands; the value is what /readyz and the log show."""

    CLOSED = "closed"  # calls go through
    OPEN = "open"  # calls are skipped until the cool-down ends
    HALF_OPEN = "half-open"  # one probe call is in flight; the others are skipped


class CircuitBreaker:
    """Counts consecutive upstream failures and says whether the next call may go out.

    A failure is charged to the request and the user it was for; the breaker opens once the
    failures since the last success came from `failure_threshold` different requests *and*
    `failure_threshold` different users. So one request (aliases, `_entities`) or one user
    (repeating requests) cannot open it for everyone, however many calls fail; an outage seen
    by many users opens it as before. A failure that names neither counts as its own request
    and user. Then: `allow()` answers False for
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
        # Who failed since the last success; neither set grows past the threshold.
        self._failed_requests: set[Hashable] = set()
        self._failed_users: set[Hashable] = set()

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
        self._failed_requests.clear()
        self._failed_users.clear()
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED, "Personalize answered; calling it again")

    def record_failure(
        self, *, request: Hashable | None = None, user: Hashable | None = None
    ) -> None:
        """A call failed after its retries: throttled, timed out, 5xx or unreachable.

        `request` and `user` say whom the call was for; a user-less call is charged to its
        request as the user.
        """
        self._failures += 1
        request = object() if request is None else request
        self._note(self._failed_requests, request)
        self._note(self._failed_users, ("request", request) if user is None else ("user", user))
        if self._state is BreakerState.HALF_OPEN:
            self._open("the probe call failed")
        elif self._state is BreakerState.CLOSED and (
            len(self._failed_requests) >= self.failure_threshold
            and len(self._failed_users) >= self.failure_threshold
        ):
            self._open(
                f"{self._failures} consecutive Personalize calls failed, for at least "
                f"{self.failure_threshold} requests of {self.failure_threshold} users"
            )

    def _note(self, failed: set[Hashable], source: Hashable) -> None:
        if len(failed) < self.failure_threshold:
            failed.add(source)

    def record_abandoned(self) -> None:
        """A call ended with no verdict (cancelled): a probe's turn passes to the next call."""
        if self._state is BreakerState.HALF_OPEN:
            self._state = BreakerState.OPEN
            self._opened_at = self._clock() - self.cool_down

    def _open(self, reason: str) -> None:
        self._failed_requests.clear()
        self._failed_users.clear()
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN, f"{reason}; serving the fallback for {self.cool_down:g} s")

    def _move(self, state: BreakerState, reason: str) -> None:
        log = logger.warning if state is BreakerState.OPEN else logger.info
        log("Circuit breaker %s -> %s: %s", self._state.value, state.value, reason)
        self._state = state
