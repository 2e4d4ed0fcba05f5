"""Serving the app with uvicorn on a socket bound before start-up, and the start-up banner."""

from __future__ import annotations

import contextlib
import os
import socket

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from gateway.console import EXIT_FAILURE, EXIT_OK
from gateway.http_protocol import RequestLimits, ServerConfig
from gateway.logs import build_log_config
from gateway.settings import Settings


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run_server(app: Starlette, settings: Settings, sock: socket.socket) -> int:
    config = ServerConfig(
        app,
        limits=RequestLimits.from_settings(settings),
        host=settings.host,
        port=settings.port,
        log_config=build_log_config(settings.log_level, settings.log_format),
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    server = uvicorn.Server(config)
    # uvicorn raises Ctrl-C again once it has shut down gracefully: that is a clean exit.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return EXIT_OK if server.started else EXIT_FAILURE


# The app factory each worker process calls; it reads the settings from the environment.
APP_FACTORY = "gateway.asgi:create_app_from_env"


def run_workers(settings: Settings, sock: socket.socket) -> int:
    """Serve with `settings.workers` processes sharing `sock`, each building the app from the
    environment, where `settings` are put first (the parent's own values win over defaults)."""
    os.environ.update(settings.as_environment())
    config = ServerConfig(
        APP_FACTORY,
        limits=RequestLimits.from_settings(settings),
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=build_log_config(settings.log_level),
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(config, sockets=[sock]).run()
    return EXIT_OK


def print_banner(settings: Settings, upstream: str, user_id: str) -> None:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)
    base = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"
    query = (
        f'{{ recommendations(userId: "{user_id}", numResults: 5) '
        "{ items { itemId score item { title price } } } }"
    )
    lines = [
        f"Personalize gateway on {upstream}, catalog {settings.catalog}",
        f"  GraphQL:  {base}/graphql",
    ]
    if settings.graphiql:
        lines.append(f"  GraphiQL: {base}/graphql  (open it in a browser)")
    if settings.storefront:
        lines.append(f"  Storefront: {base}/demo")
    if settings.metrics:
        lines.append(f"  Metrics:  {base}/metrics")
    lines += [
        f"  A first query: {query}",
        f"  curl -s {base}/graphql -H 'content-type: application/json' \\",
        "    -d '" + '{"query": "' + query.replace('"', '\\"') + '"}' + "'",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)
