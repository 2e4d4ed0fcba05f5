"""Fault injection for tests and benchmarks: added latency, throttling and server errors."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_RATES = ("throttle_rate", "error_rate")
_DURATIONS = ("latency_ms", "jitter_ms")
SETTINGS = (*_DURATIONS, *_RATES)


@dataclass(frozen=True, slots=True)
class InjectedError:
    """An error response to send instead of the operation's answer."""

    status: int
    code: str
    message: str


THROTTLED = InjectedError(400, "ThrottlingException", "Rate exceeded")
INTERNAL_ERROR = InjectedError(500, "InternalServerError", "Internal server error (injected)")
UNAVAILABLE = InjectedError(503, "ServiceUnavailable", "Service unavailable (injected)")


@dataclass
class Faults:
    """What goes wrong on each Personalize call; change the fields while the server runs.

    Every call waits `latency_ms` plus a uniform 0..`jitter_ms`; then a `throttle_rate` share
    of calls is answered with ThrottlingException (which botocore retries as throttling) and an
    `error_rate` share of the rest with 500 InternalServerError and 503 ServiceUnavailable in
    turn. Pass `seed` for a repeatable sequence.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    throttle_rate: float = 0.0
    error_rate: float = 0.0
    seed: int | None = None
    _random: random.Random = field(init=False, repr=False, compare=False)
    _errors: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in SETTINGS:
            value = _checked(name, value)
        super().__setattr__(name, value)

    def update(self, changes: Mapping[str, Any]) -> None:
        """Change several settings at once; nothing changes if one of them is invalid."""
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown fault setting {unknown[0]!r} (known: {', '.join(SETTINGS)})")
        checked = {name: _checked(name, value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in SETTINGS}

    def reset(self) -> None:
        """Back to no faults at all."""
        self.update(dict.fromkeys(SETTINGS, 0.0))

    async def apply(self) -> InjectedError | None:
        """Wait the configured latency, then draw this call's fate: an error, or None."""
        delay_ms = self.latency_ms
        if self.jitter_ms:
            delay_ms += self._random.uniform(0.0, self.jitter_ms)
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)
        if self.throttle_rate and self._random.random() < self.throttle_rate:
            return THROTTLED
        if self.error_rate and self._random.random() < self.error_rate:
            self._errors += 1
            return INTERNAL_ERROR if self._errors % 2 else UNAVAILABLE
        return None


def _checked(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if name in _RATES and not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    if name in _DURATIONS and value < 0:
        raise ValueError(f"{name} must be 0 or more milliseconds, got {value!r}")
    return float(value)
