"""Answers to HTTP requests refused before any GraphQL runs, shaped like GraphQL responses.

Per the GraphQL-over-HTTP spec a request that is not well-formed (not JSON, too large, a
batch) gets a 4xx status; so does one whose credentials fail. The body is still a GraphQL
response (`errors` with an `extensions.code`), so a client reads every failure the same way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import Response

from schema.errors import BAD_REQUEST, Forbidden, NotFound, Unauthenticated

_CODES_BY_STATUS = {401: Unauthenticated.code, 403: Forbidden.code, 404: NotFound.code}


def request_error_response(
    status_code: int, message: str, *, headers: Mapping[str, str] | None = None
) -> Response:
    """A `{"errors": [...]}` JSON response whose `extensions.code` is the one the status implies."""
    code = _CODES_BY_STATUS.get(status_code, BAD_REQUEST)
    error = {"message": message, "extensions": {"code": code}}
    return Response(
        json.dumps({"errors": [error]}, separators=(",", ":")),
        status_code=status_code,
        headers=headers,
        media_type="application/json",
    )
