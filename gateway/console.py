"""What the commands tell the person at the terminal: progress, failures, exit codes."""

from __future__ import annotations

import sys
from typing import Any

from pydantic import ValidationError

from gateway.settings import Settings, describe_validation_error

PROG = "personalize-gateway"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def load_settings(**values: Any) -> Settings | None:
    """Settings from the environment and `values`; None, the problems printed, if invalid."""
    try:
        return Settings(**values)
    except ValidationError as error:
        fail(f"invalid configuration\n{describe_validation_error(error)}", EXIT_USAGE)
        return None


def count_progress(count: int) -> None:
    if sys.stderr.isatty():  # a running count only where it can overwrite itself
        print(f"\r  {count:,} items", end="", file=sys.stderr, flush=True)


def progress(message: str, *, after_count: bool = False) -> None:
    prefix = "\r\033[K" if after_count and sys.stderr.isatty() else ""
    print(prefix + message, file=sys.stderr, flush=True)


def fail(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return code
