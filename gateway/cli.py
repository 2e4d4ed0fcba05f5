"""The `personalize-gateway` command: serve the gateway, build its catalog, run the emulator."""

from __future__ import annotations

import argparse
import contextlib
import csv
import getpass
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from gateway.auth import hash_api_key
from gateway.catalog import (
    CatalogError,
    CatalogLoadError,
    build_column_map,
    check_catalog_file,
    load_catalog,
)
from gateway.settings import Settings, describe_validation_error

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from emulator import LocalPersonalize

PROG = "personalize-gateway"
DEFAULT_DATA_DIR = Path("var/sample")
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
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
        help="build the catalog from a Personalize items CSV",
        description="Build the SQLite catalog from a Personalize items CSV (the file you import "
        "as the Items dataset). TITLE, DESCRIPTION, IMAGE_URL, PRICE and CATEGORY become the "
        "item's fields; every other column goes into `attributes`.",
    )
    load.add_argument("items_csv", type=Path, metavar="ITEMS_CSV")
    load.add_argument(
        "--db",
        type=Path,
        metavar="FILE",
        help="catalog file (default: GATEWAY_CATALOG_PATH, else var/catalog.db)",
    )
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
        name: getattr(args, name) for name in ("host", "port") if getattr(args, name) is not None
    }
    settings = _load_settings(**overrides)
    if settings is None:
        return EXIT_USAGE
    if (problem := _fallback_items_problem(settings)) is not None:
        return _fail(problem, EXIT_USAGE)
    if settings.arns_configured and (args.data or args.config):
        return _fail(
            "--data and --config are for the local Personalize; Personalize ARNs are set "
            "(GATEWAY_*_ARN), so the gateway calls Amazon Personalize",
            EXIT_USAGE,
        )
    try:
        sock = _bind(settings.host, settings.port)
    except OSError as error:
        return _fail(
            f"cannot listen on {settings.host}:{settings.port} ({error.strerror}); "
            "pass --port or set GATEWAY_PORT",
            EXIT_USAGE,
        )
    with sock:
        if settings.arns_configured:
            try:
                check_catalog_file(settings.catalog_path)
            except CatalogError as error:
                return _fail(str(error), EXIT_USAGE)
            from gateway.app import create_app

            _print_banner(settings, "Amazon Personalize", user_id="USER_ID")
            return _run_server(create_app(settings), settings, sock)
        return _serve_embedded(settings, args.data, args.config, sock)


def _serve_embedded(
    settings: Settings, data: Path | None, config_path: Path | None, sock: socket.socket
) -> int:
    try:
        from emulator import ConfigError, start_local_personalize
        from emulator.cli import ensure_sample_data
        from emulator.dataset import DatasetError
        from emulator.images import image_routes
        from emulator.sample import write_sample_dataset
    except ImportError as error:
        return _fail(
            f"the local Personalize is not installed ({error.name} is missing): install "
            "personalize-gateway[local], or set GATEWAY_RECOMMENDATIONS_ARN (and the other "
            "ARNs) to use Amazon Personalize",
            EXIT_USAGE,
        )
    from gateway.app import LOCAL_CREDENTIALS, create_app

    try:
        if data is None:
            data_dir = ensure_sample_data(DEFAULT_DATA_DIR)
        else:
            # A directory of the user's own files is never written over: the sample goes
            # only where there is no dataset at all.
            data_dir = data
            if not any((data_dir / name).exists() for name in ("items.csv", "interactions.csv")):
                _progress(f"writing the sample store to {data_dir} ...")
                write_sample_dataset(data_dir, progress=_progress)
        _ensure_catalog(data_dir / "items.csv", settings.catalog_path)
        _progress(f"training the local Personalize on {data_dir} ...")
        local = start_local_personalize(data_dir, config_path)
    except (ConfigError, DatasetError, CatalogLoadError, OSError) as error:
        return _fail(str(error), EXIT_FAILURE)
    try:
        served = _load_settings(**settings.model_dump() | _local_settings(local))
        if served is None:
            return EXIT_USAGE
        app = create_app(
            served,
            routes=image_routes(lambda: local.model.items),
            credentials=LOCAL_CREDENTIALS,
        )
        _print_banner(
            served, f"the local Personalize at {local.endpoint_url}", _first_user(data_dir)
        )
        return _run_server(app, served, sock)
    finally:
        local.stop()


def _fallback_items_problem(settings: Settings) -> str | None:
    """What is wrong with the fallback items file, before a server starts and fails on it."""
    if settings.fallback_items_file is None:
        return None
    from gateway.fallback import FallbackItemsError, load_fallback_items

    try:
        load_fallback_items(settings.fallback_items_file)
    except FallbackItemsError as error:
        return str(error)
    return None


def _local_settings(local: LocalPersonalize) -> dict[str, Any]:
    from emulator.config import Recipe

    config = local.config
    campaigns: dict[Recipe, str] = {}
    for name, recipe in config.campaigns.items():
        campaigns.setdefault(recipe, config.campaign_arn(name))
    recommenders: dict[Recipe, str] = {}
    for name, recipe in config.recommenders.items():
        recommenders.setdefault(recipe, config.recommender_arn(name))

    def deployment(recipe: Recipe) -> str | None:
        return campaigns.get(recipe) or recommenders.get(recipe)

    return {
        "aws_region": config.region,
        "personalize_endpoint_url": local.endpoint_url,
        "events_endpoint_url": None,
        "recommendations_arn": deployment(Recipe.USER_PERSONALIZATION)
        or deployment(Recipe.POPULARITY_COUNT),
        "related_items_arn": deployment(Recipe.SIMILAR_ITEMS),
        "ranking_arn": campaigns.get(Recipe.PERSONALIZED_RANKING),
        "fallback_arn": deployment(Recipe.POPULARITY_COUNT),
        "filters": config.filter_arns,
        "event_tracking_id": config.tracking_ids[0] if config.tracking_ids else None,
    }


def _ensure_catalog(items_csv: Path, catalog_path: Path) -> None:
    """Build the catalog from `items_csv` unless it exists and is newer."""
    if catalog_path.is_file() and catalog_path.stat().st_mtime >= items_csv.stat().st_mtime:
        return
    _progress(f"building the catalog {catalog_path} from {items_csv} ...")
    count = load_catalog(items_csv, catalog_path, progress=_count_progress)
    _progress(f"built the catalog {catalog_path}: {count:,} items", after_count=True)


def run_catalog_load(args: argparse.Namespace) -> int:
    """Build the catalog file from an items CSV, reporting progress on stderr."""
    db_path: Path | None = args.db
    if db_path is None:
        settings = _load_settings()
        if settings is None:
            return EXIT_USAGE
        db_path = settings.catalog_path
    try:
        overrides = dict(_column_pair(pair) for pair in args.map)
        mapping = build_column_map(overrides)
        count = load_catalog(args.items_csv, db_path, mapping, progress=_count_progress)
    except CatalogLoadError as error:
        return _fail(str(error), EXIT_FAILURE)
    except OSError as error:
        return _fail(f"{error.filename}: {error.strerror}", EXIT_FAILURE)
    _progress(f"wrote {count:,} items to {db_path}", after_count=True)
    return EXIT_OK


def run_auth_hash_key(args: argparse.Namespace) -> int:
    """Print the SHA-256 digest of the API key on standard input."""
    text = getpass.getpass("API key: ") if sys.stdin.isatty() else sys.stdin.read()
    key = text.strip()
    if "\n" in key:
        return _fail("give one API key per run (standard input has several lines)", EXIT_USAGE)
    try:
        print(hash_api_key(key))
    except ValueError as error:
        return _fail(str(error), EXIT_USAGE)
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


def _load_settings(**values: Any) -> Settings | None:
    try:
        return Settings(**values)
    except ValidationError as error:
        _fail(f"invalid configuration\n{describe_validation_error(error)}", EXIT_USAGE)
        return None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _run_server(app: Starlette, settings: Settings, sock: socket.socket) -> int:
    import uvicorn

    from gateway.logs import build_log_config

    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=build_log_config(settings.log_level),
        server_header=False,
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    server = uvicorn.Server(config)
    # uvicorn raises Ctrl-C again once it has shut down gracefully: that is a clean exit.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    return EXIT_OK if server.started else EXIT_FAILURE


def _print_banner(settings: Settings, upstream: str, user_id: str) -> None:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)
    base = f"http://{f'[{host}]' if ':' in host else host}:{settings.port}"
    query = (
        f'{{ recommendations(userId: "{user_id}", numResults: 5) '
        "{ items { itemId score item { title price } } } }"
    )
    lines = [
        f"Personalize gateway on {upstream}, catalog {settings.catalog_path}",
        f"  GraphQL:  {base}/graphql",
    ]
    if settings.graphiql:
        lines.append(f"  GraphiQL: {base}/graphql  (open it in a browser)")
    lines += [
        f"  A first query: {query}",
        f"  curl -s {base}/graphql -H 'content-type: application/json' \\",
        "    -d '" + '{"query": "' + query.replace('"', '\\"') + '"}' + "'",
        "Press Ctrl-C to stop.",
    ]
    print("\n".join(lines), flush=True)


def _first_user(data_dir: Path) -> str:
    """A user of the dataset, for the example query (the first of interactions.csv)."""
    try:
        with open(data_dir / "interactions.csv", newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip().upper() for name in next(reader)]
            return next(reader)[header.index("USER_ID")]
    except (OSError, StopIteration, ValueError, IndexError):
        return "USER_ID"


def _count_progress(count: int) -> None:
    if sys.stderr.isatty():  # a running count only where it can overwrite itself
        print(f"\r  {count:,} items", end="", file=sys.stderr, flush=True)


def _progress(message: str, *, after_count: bool = False) -> None:
    prefix = "\r\033[K" if after_count and sys.stderr.isatty() else ""
    print(prefix + message, file=sys.stderr, flush=True)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)
    return code
