"""Personalize's failures as the ports' exceptions: what a client may read, the rest logged."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from botocore.exceptions import ClientError, ParamValidationError

from schema.ports import InvalidInput, PortError, ResourceNotFound, Throttled, Unavailable

logger = logging.getLogger(__name__)

FILTERS_HINT = "filters"  # the key of `hints` that says where filters are configured
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded"}
)
MAX_MESSAGE_LENGTH = 500
_ARN = re.compile(
    r"arn:aws[a-z-]*:personalize:[a-z0-9-]*:\d*:(?P<kind>[a-z-]+)/[A-Za-z0-9_-]+",
)


@dataclass(frozen=True, slots=True)
class RootField:
    """A GraphQL root field served by Personalize.

    `resource` is what a ResourceNotFoundException means for a field whose resource is not
    named by an ARN (an event tracker): Personalize's message then names no kind to go by.
    """

    name: str
    resource: str | None = None


def translate_error(
    field: RootField,
    error: Exception,
    *,
    production: bool = False,
    hints: Mapping[str, str] | None = None,
) -> PortError:
    """The port's exception for a failed Personalize call for `field`; details go to the log.

    In `production`, ResourceNotFound is generic (see `not_available`).
    """
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        upstream = _redact(str(details.get("Message", "")))
        request_id = error.response.get("ResponseMetadata", {}).get("RequestId")
        logger.warning(
            "Personalize call for %s failed: %s (HTTP %s, request id %s): %s",
            field.name,
            code,
            status,
            request_id,
            details.get("Message"),
        )
        if code == "InvalidInputException":
            return InvalidInput(f"Personalize refused the request: {upstream}")
        if code == "ResourceNotFoundException":
            detail = _not_found_message(field, str(details.get("Message", "")), hints or {})
            return not_available(field, detail, production=production)
        if code in THROTTLING_CODES or status == 429:
            return Throttled("Amazon Personalize is throttling requests; retry later.")
        return Unavailable(f"Amazon Personalize failed to answer ({code or status}).")
    if isinstance(error, ParamValidationError):
        logger.warning("Personalize call for %s refused by botocore: %s", field.name, error)
        return InvalidInput(f"Invalid request to Personalize: {_redact(str(error))}")
    logger.warning(
        "Personalize call for %s failed: %s: %s", field.name, type(error).__name__, error
    )
    return Unavailable(f"Amazon Personalize is unreachable ({type(error).__name__}); retry later.")


def not_available(field: RootField, detail: str, *, production: bool) -> ResourceNotFound:
    """ResourceNotFound for `field`, whose configuration is missing or wrong.

    In development the client reads `detail`, which may name the setting to fix. In production
    the client learns nothing about the configuration: a generic message, the detail logged.
    """
    if not production:
        return ResourceNotFound(detail)
    logger.warning("%s answered NOT_FOUND, its detail hidden in production: %s", field.name, detail)
    return ResourceNotFound(f"{field.name} is not available on this gateway.")


def unset_note(hint: str | None) -> str:
    """' (SETTING is not set)' for a message, when a hint names the setting; else nothing."""
    return f" ({hint} is not set)" if hint else ""


def _check(hint: str | None) -> str:
    return f" (check the gateway's {hint})" if hint else ""


def _not_found_message(field: RootField, upstream: str, hints: Mapping[str, str]) -> str:
    resource = field.resource
    if resource is None:
        match = _ARN.search(upstream)
        if match is None:
            return f"Personalize could not find a resource {field.name} uses: {_redact(upstream)}"
        if match["kind"] == "filter":
            return (
                "The filter named in the request does not exist in Personalize"
                f"{_check(hints.get(FILTERS_HINT))}."
            )
        resource = match["kind"]
    return (
        f"The {resource} configured for {field.name} does not exist in Personalize"
        f"{_check(hints.get(field.name))}."
    )


def _redact(message: str) -> str:
    """The upstream message without ARNs (account ids and resource names stay in the log)."""
    redacted = _ARN.sub(lambda match: f"<{match['kind']}>", message).strip()
    if len(redacted) > MAX_MESSAGE_LENGTH:
        redacted = redacted[: MAX_MESSAGE_LENGTH - 1] + "…"
    return redacted or "no details given"
