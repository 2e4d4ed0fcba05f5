"""How the gateway's processes log: one line per record on stderr, with the request id."""

from __future__ import annotations

from typing import Any

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"


def build_log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the gateway's and uvicorn's loggers at `level`."""
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": "line",
        "filters": ["request_id"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "gateway.http.request_id.RequestIdLogFilter"}},
        "formatters": {"line": {"format": LOG_FORMAT}},
        "handlers": {"stderr": handler},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("gateway", "schema", "uvicorn", "uvicorn.access", "emulator")
        }
        | {"uvicorn.error": {"level": level.upper()}},
    }
