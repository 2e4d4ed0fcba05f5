"""The embedded default: `serve` with no ARNs runs the local Personalize, trained on the sample
store, and a SQLite catalog built from the same items, in one process."""

from __future__ import annotations

import csv
import importlib
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.catalog.load import CatalogLoadError, load_catalog
from gateway.catalog.source import SqliteSource
from gateway.console import EXIT_FAILURE, EXIT_USAGE, count_progress, fail, load_settings, progress
from gateway.http.app import create_app
from gateway.server import print_banner, run_server
from gateway.settings import ConfigurationError, Settings
from gateway.wiring import LOCAL_CREDENTIALS
from gateway.wiring.catalog import catalog_source

DEFAULT_DATA_DIR = Path("var/sample")  # where the sample store is written

if TYPE_CHECKING:
    from emulator import LocalPersonalize


def serve_embedded(
    settings: Settings, data: Path | None, config_path: Path | None, sock: socket.socket
) -> int:
    try:
        from emulator import ConfigError, start_local_personalize
        from emulator.cli import ensure_sample_data
        from emulator.dataset import DatasetError
        from emulator.images import image_routes
        from emulator.sample import write_sample_dataset

        # The recommender is imported when it trains; its numpy and scipy come from the
        # [local] extra, so their absence is found here, before anything starts.
        importlib.import_module("emulator.model")
    except ImportError as error:
        return fail(
            f"the local Personalize is not installed ({error.name} is missing): "
            "pip install 'personalize-gateway[local]', or set GATEWAY_RECOMMENDATIONS_ARN "
            "(and the other ARNs) to use Amazon Personalize",
            EXIT_USAGE,
        )

    try:
        if data is None:
            data_dir = ensure_sample_data(DEFAULT_DATA_DIR)
        else:
            # A directory of the user's own files is never written over: the sample goes
            # only where there is no dataset at all.
            data_dir = data
            if not any((data_dir / name).exists() for name in ("items.csv", "interactions.csv")):
                progress(f"writing the sample store to {data_dir} ...")
                write_sample_dataset(data_dir, progress=progress)
        source = catalog_source(settings)
        if isinstance(source, SqliteSource):
            _ensure_catalog(data_dir / "items.csv", source.path)
        progress(f"training the local Personalize on {data_dir} ...")
        local = start_local_personalize(data_dir, config_path)
    except (ConfigError, DatasetError, CatalogLoadError, ConfigurationError, OSError) as error:
        return fail(str(error), EXIT_FAILURE)
    try:
        served = load_settings(**settings.model_dump() | local_settings(local))
        if served is None:
            return EXIT_USAGE
        try:
            app = create_app(
                served,
                routes=image_routes(lambda: local.model.items),
                credentials=LOCAL_CREDENTIALS,
            )
        except ConfigurationError as error:
            return fail(f"invalid configuration\n{error}", EXIT_USAGE)
        print_banner(
            served, f"the local Personalize at {local.endpoint_url}", _first_user(data_dir)
        )
        return run_server(app, served, sock)
    finally:
        local.stop()


def local_settings(local: LocalPersonalize) -> dict[str, Any]:
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
    progress(f"building the catalog {catalog_path} from {items_csv} ...")
    count = load_catalog(items_csv, catalog_path, progress=count_progress)
    progress(f"built the catalog {catalog_path}: {count:,} items", after_count=True)


def _first_user(data_dir: Path) -> str:
    """A user of the dataset, for the example query (the first of interactions.csv)."""
    try:
        with open(data_dir / "interactions.csv", newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [name.strip().upper() for name in next(reader)]
            return next(reader)[header.index("USER_ID")]
    except (OSError, StopIteration, ValueError, IndexError):
        return "USER_ID"
