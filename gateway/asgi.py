"""The app factory for ASGI servers: `uvicorn --factory gateway.asgi:create_app_from_env`."""

from __future__ import annotations

import logging.config
import sys

from pydantic import ValidationError
from starlette.applications import Starlette

from gateway.http.app import create_app
from gateway.logs import build_log_config
from gateway.settings import ConfigurationError, Settings, describe_validation_error


def create_app_from_env() -> Starlette:
    """The gateway configured from `GATEWAY_*` variables; exits with a message if they are wrong.

    Unlike `personalize-gateway serve`, this is how deployments start the gateway, so it runs in
    production mode (no introspection, no GraphiQL, masked errors) unless GATEWAY_ENVIRONMENT
    says development.
    """
    try:
        settings = Settings.for_deployment()
        logging.config.dictConfig(build_log_config(settings.log_level, settings.log_format))
        return create_app(settings)
    except ValidationError as error:
        problems = describe_validation_error(error)
    except ConfigurationError as error:
        problems = str(error)
    print(f"personalize-gateway: invalid configuration\n{problems}", file=sys.stderr)
    raise SystemExit(2)
