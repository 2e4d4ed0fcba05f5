"""How the gateway's processes log: one line per record on stderr, with the request id, as text
or as one JSON object per line (GATEWAY_LOG_FORMAT=json) for log pipelines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, Final

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"

# Attributes a record may carry as `extra` that JSON lines show; nothing else of a record's
# dictionary is written, so a stray attribute can never leak a header or a token.
REQUEST_FIELDS: Final = (
    "method",
    "path",
    "status",
    "operation",
    "outcome",
    "duration_ms",
    "upstream_calls",
    "upstream_failures",
    "upstream_retries",
    "catalog_batches",
    "fallback",
    "cache",
    "user_id",
)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request and trace ids, the
    request summary fields when present, and the exception's traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        trace_id = getattr(record, "trace_id", None)
        if trace_id:
            line["trace_id"] = trace_id
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def build_log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the gateway's and uvicorn's loggers at `level`."""
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": log_format if log_format == "json" else "line",
        "filters": ["request_id"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "gateway.http.request_id.RequestIdLogFilter"}},
        "formatters": {
            "line": {"format": LOG_FORMAT},
            "json": {"()": "gateway.logs.JsonFormatter"},
        },
        "handlers": {"stderr": handler},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("gateway", "schema", "uvicorn", "uvicorn.access", "emulator")
        }
        | {"uvicorn.error": {"level": level.upper()}}
        # The gateway's own request line replaces uvicorn's, whose URL holds GET variables.
        | (
            {"uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False}}
            if log_format == "json"
            else {}
        ),
    }
