"""The `emulator` and `sample-data` commands of the personalize-gateway CLI.

Only argparse and pathlib are imported here; the commands import what they run, so the gateway's
CLI can register them without loading numpy or the server.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_DATA_DIR = Path("var/sample")
DEFAULT_PORT = 8001


def add_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Register `emulator` and `sample-data`; each sets `func(args) -> exit code` as default."""
    emulator = subparsers.add_parser(
        "emulator",
        help="run the local Amazon Personalize alone",
        description="Serve the local Amazon Personalize (Personalize's own wire protocol) "
        "trained on Personalize CSV files, until Ctrl-C.",
    )
    emulator.add_argument(
        "--data",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory with items.csv, interactions.csv and optionally users.csv "
        f"(default: the sample store, written to {DEFAULT_DATA_DIR} if missing)",
    )
    emulator.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML file declaring campaigns, recommenders, filters and tracking ids "
        "(default: the sample's emulator/default.toml)",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    emulator.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    emulator.add_argument("--latency-ms", type=float, default=0.0, help="added latency per call")
    emulator.add_argument("--jitter-ms", type=float, default=0.0, help="extra random latency")
    emulator.add_argument(
        "--throttle-rate", type=float, default=0.0, help="share of calls throttled (0..1)"
    )
    emulator.add_argument(
        "--error-rate", type=float, default=0.0, help="share of calls failing with 5xx (0..1)"
    )
    emulator.set_defaults(func=run_emulator)

    sample = subparsers.add_parser(
        "sample-data",
        help="write the sample store's CSV files",
        description="Write items.csv, users.csv and interactions.csv of the deterministic "
        "sample store in Personalize's CSV formats.",
    )
    sample.add_argument("directory", type=Path, metavar="DIR", help="where to write the files")
    sample.add_argument("--seed", type=int, default=None, help="random seed (default: fixed)")
    sample.set_defaults(func=write_sample_data)


def run_emulator(args: argparse.Namespace) -> int:
    """Serve until interrupted; print the endpoint, ARNs and tracking id first."""
    import threading

    from emulator import Faults, LocalPersonalize
    from emulator.config import ConfigError
    from emulator.dataset import DatasetError

    try:
        faults = Faults(
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
            throttle_rate=args.throttle_rate,
            error_rate=args.error_rate,
        )
        data_dir = args.data or ensure_sample_data(DEFAULT_DATA_DIR)
        _progress(f"training on {data_dir} ...")
        personalize = LocalPersonalize.from_directory(
            data_dir, args.config, host=args.host, port=args.port, faults=faults
        )
        personalize.start()
    except (ConfigError, DatasetError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        print(describe(personalize), flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        personalize.stop()
    return 0


def describe(personalize: Any) -> str:
    """What a client needs: the endpoint, every ARN and the tracking ids."""
    config = personalize.config
    lines = [f"Local Amazon Personalize at {personalize.endpoint_url} (region {config.region})"]
    for name, recipe in config.campaigns.items():
        lines.append(f"  campaign     {config.campaign_arn(name)}  ({recipe})")
    for name, recipe in config.recommenders.items():
        lines.append(f"  recommender  {config.recommender_arn(name)}  ({recipe})")
    for name, expression in config.filters.items():
        lines.append(f"  filter       {config.filter_arn(name)}  {expression.text}")
    for dataset_type in ("ITEMS", "USERS"):
        lines.append(f"  dataset      {config.dataset_arn(dataset_type)}")
    for tracking_id in config.tracking_ids:
        lines.append(f"  tracking id  {tracking_id}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def write_sample_data(args: argparse.Namespace) -> int:
    """Write the sample store into args.directory, reporting progress on stderr."""
    from emulator.sample import DEFAULT_SEED, write_sample_dataset

    seed = DEFAULT_SEED if args.seed is None else args.seed
    write_sample_dataset(args.directory, seed=seed, progress=_progress)
    _progress(f"wrote the sample store to {args.directory}")
    return 0


def ensure_sample_data(directory: Path) -> Path:
    """The sample store in `directory`, written there first if it is not complete."""
    from emulator.sample import write_sample_dataset

    if not all((directory / name).is_file() for name in _SAMPLE_FILES):
        _progress(f"writing the sample store to {directory} ...")
        write_sample_dataset(directory, progress=_progress)
    return directory


_SAMPLE_FILES = ("items.csv", "users.csv", "interactions.csv")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
