"""The `personalize-gateway` command: serve the gateway, build its catalog, run the emulator."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gateway.catalog.load import CatalogLoadError, build_column_map, load_catalog_to
from gateway.catalog.source import CatalogUrlError, SqliteSource, parse_catalog_url
from gateway.catalog.sqlite import CatalogError, check_catalog_file
from gateway.cli.embedded import DEFAULT_DATA_DIR, serve_embedded
from gateway.console import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    count_progress,
    fail,
    load_settings,
    progress,
)
from gateway.http.app import create_app
from gateway.http.auth import hash_api_key
from gateway.server import bind, print_banner, run_server, run_workers
from gateway.settings import ConfigurationError, Settings
from gateway.wiring.catalog import catalog_source

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code is 2 for a usage or configuration error, 1 for a failure."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


def build_parser() -> argparse.ArgumentParser:
    """The command line: `serve`, `catalog load`, and the emulator's commands when installed."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="A GraphQL gateway for Amazon Personalize."
    )
    subparsers = _subcommands(parser)

    serve = subparsers.add_parser(
        "serve",
        help="serve the GraphQL API",
        description="Serve the gateway. With Personalize ARNs configured (GATEWAY_*_ARN) it "
        "calls Amazon Personalize; with none, it starts the local Personalize trained on the "
        "sample store (or on --data) and serves that: one process, no AWS account needed.",
    )
    serve.add_argument("--host", help="interface to listen on (default: GATEWAY_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: GATEWAY_PORT, 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="server processes, one per core (default: GATEWAY_WORKERS, 1); with Amazon "
        "Personalize (ARNs set) only",
    )
    serve.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="local Personalize only: Personalize CSV files to train on (items.csv, "
        f"interactions.csv, users.csv); the sample store is written there if missing "
        f"(default: {DEFAULT_DATA_DIR})",
    )
    serve.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="local Personalize only: TOML file of campaigns, recommenders and filters "
        "(default: emulator/default.toml)",
    )
    serve.set_defaults(func=run_serve)

    catalog_commands = _subcommands(
        subparsers.add_parser("catalog", help="manage the item catalog")
    )
    load = catalog_commands.add_parser(
        "load",
        help="fill the catalog from a Personalize items CSV",
        description="Fill the catalog from a Personalize items CSV (the file you import "
        "as the Items dataset): a SQLite file (written aside and renamed into place; a running "
        "gateway reads the new one within a second), a DynamoDB table or a PostgreSQL table "
        "(created if need be). TITLE, DESCRIPTION, IMAGE_URL, PRICE and CATEGORY become the "
        "item's fields; every other column goes into `attributes`.",
    )
    load.add_argument("items_csv", type=Path, metavar="ITEMS_CSV")
    target = load.add_mutually_exclusive_group()
    target.add_argument(
        "--to",
        metavar="URL",
        help="catalog to fill: sqlite:///FILE, dynamodb://TABLE?region=REGION or "
        "postgresql://USER@HOST/DATABASE?table=items (default: GATEWAY_CATALOG_URL, else "
        "the GATEWAY_CATALOG_PATH file, else var/catalog.db)",
    )
    target.add_argument("--db", type=Path, metavar="FILE", help="a SQLite catalog file")
    load.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="take a field from another column, e.g. --map NAME=title (repeatable)",
    )
    load.set_defaults(func=run_catalog_load)

    auth_commands = _subcommands(subparsers.add_parser("auth", help="manage API keys"))
    hash_key = auth_commands.add_parser(
        "hash-key",
        help="print the digest of an API key, for GATEWAY_AUTH_API_KEYS",
        description="Read an API key from standard input (prompted for without echo on a "
        "terminal) and print its SHA-256 digest. The gateway stores only digests: put them, "
        "comma-separated, in GATEWAY_AUTH_API_KEYS with GATEWAY_AUTH_MODE=api-key.",
    )
    hash_key.set_defaults(func=run_auth_hash_key)

    schema_commands = _subcommands(
        subparsers.add_parser("schema", help="the GraphQL schema as a file")
    )
    export = schema_commands.add_parser(
        "export",
        help="print the schema's SDL",
        description="Print the GraphQL schema in SDL, as the Apollo Federation v2 subgraph "
        "SDL that `_service { sdl }` serves (it is the whole schema), e.g. for `rover "
        "supergraph compose` or for code generators. Regenerate the committed file with: "
        f"{PROG} schema export > schema.graphql",
    )
    export.set_defaults(func=run_schema_export)

    _add_emulator_commands(subparsers)
    return parser


def _subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any]:
    """Where the commands under `parser` go (one of them is required)."""
    return parser.add_subparsers(title="commands", required=True, metavar="COMMAND")


def _add_emulator_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    try:
        from emulator.cli import add_commands
    except ImportError:  # a production install without the [local] extra
        return
    add_commands(subparsers)


def run_serve(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C: real Personalize when ARNs are configured, else the local one."""
    overrides = {
        name: getattr(args, name)
        for name in ("host", "port", "workers")
        if getattr(args, name) is not None
    }
    settings = load_settings(**overrides)
    if settings is None:
        return EXIT_USAGE
    if (problem := _fallback_items_problem(settings)) is not None:
        return fail(problem, EXIT_USAGE)
    if settings.arns_configured and (args.data or args.config):
        return fail(
            "--data and --config are for the local Personalize; Personalize ARNs are set "
            "(GATEWAY_*_ARN), so the gateway calls Amazon Personalize",
            EXIT_USAGE,
        )
    if settings.workers > 1 and not settings.arns_configured:
        return fail(
            "--workers (GATEWAY_WORKERS) needs Personalize ARNs (GATEWAY_*_ARN): the local "
            "Personalize and its gateway run in one process",
            EXIT_USAGE,
        )
    try:
        sock = bind(settings.host, settings.port)
    except OSError as error:
        return fail(
            f"cannot listen on {settings.host}:{settings.port} ({error.strerror}); "
            "pass --port or set GATEWAY_PORT",
            EXIT_USAGE,
        )
    with sock:
        if settings.arns_configured:
            try:
                source = catalog_source(settings)
                if isinstance(source, SqliteSource):
                    check_catalog_file(source.path)
            except (CatalogError, ConfigurationError) as error:
                return fail(str(error), EXIT_USAGE)
            try:
                app = create_app(settings)
            except ConfigurationError as error:
                return fail(f"invalid configuration\n{error}", EXIT_USAGE)
            print_banner(settings, "Amazon Personalize", user_id="USER_ID")
            if settings.workers > 1:
                return run_workers(settings, sock)
            return run_server(app, settings, sock)
        return serve_embedded(settings, args.data, args.config, sock)


def _fallback_items_problem(settings: Settings) -> str | None:
    """What is wrong with the fallback items file, before a server starts and fails on it."""
    if settings.fallback_items_file is None:
        return None
    from gateway.wiring import fallback_items

    try:
        fallback_items(settings)
    except ConfigurationError as error:
        return str(error)
    return None


def run_catalog_load(args: argparse.Namespace) -> int:
    """Fill the catalog from an items CSV, reporting progress on stderr."""
    url: str
    if args.db is not None:
        url = f"sqlite:///{args.db}"
    elif args.to is not None:
        url = args.to
    else:
        settings = load_settings()
        if settings is None:
            return EXIT_USAGE
        url = settings.catalog
    try:
        source = parse_catalog_url(url)
    except CatalogUrlError as error:
        return fail(str(error), EXIT_USAGE)
    try:
        overrides = dict(_column_pair(pair) for pair in args.map)
        mapping = build_column_map(overrides)
        count = load_catalog_to(source, args.items_csv, mapping, progress=count_progress)
    except CatalogLoadError as error:
        return fail(str(error), EXIT_FAILURE)
    except OSError as error:
        return fail(f"{error.filename or url}: {error.strerror or error}", EXIT_FAILURE)
    except Exception as error:  # the target's own refusal: credentials, a missing database…
        return fail(f"{_redacted(url)}: {type(error).__name__}: {error}", EXIT_FAILURE)
    where = source.path if isinstance(source, SqliteSource) else _redacted(url)
    progress(f"wrote {count:,} items to {where}", after_count=True)
    return EXIT_OK


def _redacted(url: str) -> str:
    """`url` without a password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def run_auth_hash_key(args: argparse.Namespace) -> int:
    """Print the SHA-256 digest of the API key on standard input."""
    text = getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.read()
    key = text.strip()
    if "\n" in key:
        return fail("give one API key per run (standard input has several lines)", EXIT_USAGE)
    try:
        print(hash_api_key(key))
    except ValueError as error:
        return fail(str(error), EXIT_USAGE)
    return EXIT_OK


def run_schema_export(args: argparse.Namespace) -> int:
    """Print the schema's SDL on standard output."""
    from schema import export_sdl

    sys.stdout.write(export_sdl())
    return EXIT_OK


def _column_pair(text: str) -> tuple[str, str]:
    column, equals, field = text.partition("=")
    if not equals or not column.strip() or not field.strip():
        raise CatalogLoadError(f"--map {text}: write COLUMN=FIELD, e.g. --map NAME=title")
    return column.strip(), field.strip()
