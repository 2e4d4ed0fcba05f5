"""Benchmark of the gateway beside a plain Strawberry build: `python -m bench` (or scripts/bench).

Writes the sample store (or uses --data), builds the SQLite catalog, starts the local Personalize
and the server under test as separate processes on loopback, pinned to different cores, and
drives the standard query over varied userIds with wrk (or an asyncio client): a warm-up, a
measured phase at --concurrency, then a sequential phase (concurrency 1) for the CPU split.
The gateway (ours) and bench/plain.py (plain) are measured in turn against the same local
Personalize, and the table prints both with the ratio ours / plain.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bench.instrumented import GRAPHQL_PATH, STATS_PATH
from bench.load import LoadGenerator, LoadResult, PythonLoad, WrkLoad, request_bodies
from bench.plain import CLIENT_MODES, ClientMode, PlainConfig
from bench.processes import (
    HOST,
    BenchError,
    CorePlan,
    Server,
    child_env,
    cpu_seconds,
    free_port,
    gateway_command,
    interrupt,
    python_command,
    spawned,
    wait_ready,
)
from bench.report import CpuSplit, Report, TargetFigures, render
from gateway.catalog.load import load_catalog

ClientChoice = Literal["auto", "wrk", "python"]
CAMPAIGN = "user-personalization"
SEED = 2018
SETTLE_TIMEOUT_S = 15.0
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """One run's knobs; durations are seconds of each phase, per server under test."""

    duration_s: float = 10.0
    concurrency: int = 16
    users: int = 1000
    plain: bool = True
    plain_client: ClientMode = "per-request"
    client: ClientChoice = "auto"
    data: Path | None = None
    sequential_s: float | None = None  # default: half of duration_s, at most 5 s
    warmup_s: float | None = None  # default: a quarter of duration_s, at most 2 s

    @property
    def sequential_duration_s(self) -> float:
        return self.sequential_s if self.sequential_s is not None else min(5.0, self.duration_s / 2)

    @property
    def warmup_duration_s(self) -> float:
        return self.warmup_s if self.warmup_s is not None else min(2.0, self.duration_s / 4)


@dataclass(frozen=True)
class Target:
    """A server under test: how to start it."""

    name: str
    description: str
    factory: str  # module:function for uvicorn --factory
    env: dict[str, str]


def run(options: Options, progress: Progress | None = None) -> Report:
    """Run the whole benchmark and return its figures; processes are stopped whatever happens."""
    say = progress or _ignore
    plan = CorePlan.available()
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        work = Path(name)
        data_dir = options.data or _write_sample(work / "sample", say)
        catalog_path = work / "catalog.db"
        say(f"building the catalog from {data_dir / 'items.csv'} ...")
        items = load_catalog(data_dir / "items.csv", catalog_path)
        users = _read_user_ids(data_dir)
        if not users:
            raise BenchError(f"{data_dir} has no users (neither users.csv nor interactions.csv)")
        user_ids = choose_users(users, options.users)
        load = _load_generator(options.client, request_bodies(user_ids), plan, work)
        say("starting the local Personalize and the servers under test ...")
        with contextlib.ExitStack() as stack:
            emulator = stack.enter_context(_spawn_emulator(data_dir, work, plan))
            targets = _targets(options, emulator.base_url, catalog_path)
            servers = [stack.enter_context(_spawn(target, work, plan)) for target in targets]
            # Run first on the way out: every process shuts down at once, then each is awaited.
            for server in (emulator, *servers):
                stack.callback(interrupt, server)
            for server in (emulator, *servers):
                wait_ready(server)
            figures = [
                _measure(target, server, emulator, load, options, say)
                for target, server in zip(targets, servers, strict=True)
            ]
        return Report(
            sample=f"{items:,} items, {len(users):,} users "
            + (f"in {options.data}" if options.data else "(the sample store)"),
            load_generator=load.name,
            pinning=plan.describe(),
            concurrency=options.concurrency,
            duration_s=figures[0].loaded.duration_s,
            sequential_s=figures[0].sequential.duration_s,
            users=len(user_ids),
            targets=figures,
        )


def choose_users(users: list[str], count: int) -> list[str]:
    """`count` of the dataset's `users` (all when fewer), the same ones on every run."""
    if count >= len(users):
        return users
    return random.Random(SEED).sample(users, count)


def _read_user_ids(data_dir: Path) -> list[str]:
    for name in ("users.csv", "interactions.csv"):
        path = data_dir / name
        if not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file)
            header = [column.strip().upper() for column in next(reader, [])]
            if "USER_ID" not in header:
                continue
            column = header.index("USER_ID")
            return sorted({row[column] for row in reader if len(row) > column})
    return []


def _write_sample(directory: Path, say: Progress) -> Path:
    from emulator.sample import write_sample_dataset

    say(f"writing the sample store to {directory} ...")
    write_sample_dataset(directory, seed=SEED)
    return directory


def _load_generator(
    choice: ClientChoice, bodies: Sequence[bytes], plan: CorePlan, work: Path
) -> LoadGenerator:
    wrk = WrkLoad.find()
    if choice == "wrk" and wrk is None:
        raise BenchError("--client wrk: wrk is not installed (apt-get install wrk)")
    if choice != "python" and wrk is not None:
        return WrkLoad(bodies, work / "standard-query.lua", plan.load, wrk)
    return PythonLoad(bodies, plan.load)


def _spawn_emulator(data_dir: Path, work: Path, plan: CorePlan) -> AbstractContextManager[Server]:
    port = free_port()
    command = gateway_command(
        "emulator", "--data", str(data_dir), "--host", HOST, "--port", str(port)
    )
    return spawned(
        "the local Personalize",
        command,
        port=port,
        log=work / "emulator.log",
        env=child_env({}),
        cores=plan.emulator,
        ready_path="/healthz",
    )


def _spawn(target: Target, work: Path, plan: CorePlan) -> AbstractContextManager[Server]:
    port = free_port()
    command = python_command(
        "-m",
        "uvicorn",
        "--factory",
        target.factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--lifespan",
        "on",
        "--no-access-log",
        "--log-level",
        "warning",
    )
    return spawned(
        target.name,
        command,
        port=port,
        log=work / f"{target.name}.log",
        env=child_env(target.env),
        cores=plan.server,
        ready_path=STATS_PATH,
    )


def _targets(options: Options, emulator_url: str, catalog_path: Path) -> list[Target]:
    from emulator.config import EmulatorConfig

    campaign_arn = EmulatorConfig.default().campaign_arn(CAMPAIGN)
    ours = Target(
        name="ours",
        description="the gateway (gateway.http.app.create_app): shared aiobotocore client, "
        "one DataLoader batch per query",
        factory="bench.instrumented:create_gateway",
        env={
            "GATEWAY_PERSONALIZE_ENDPOINT_URL": emulator_url,
            "GATEWAY_RECOMMENDATIONS_ARN": campaign_arn,
            "GATEWAY_CATALOG_PATH": str(catalog_path),
            "GATEWAY_GRAPHIQL": "false",
            "GATEWAY_LOG_LEVEL": "warning",
        },
    )
    if not options.plain:
        return [ours]
    client = (
        "a new aiobotocore client per request"
        if options.plain_client == "per-request"
        else "one shared aiobotocore client"
    )
    config = PlainConfig(emulator_url, campaign_arn, catalog_path, options.plain_client)
    plain = Target(
        name="plain",
        description=f"bench/plain.py as Strawberry's docs write it: {client}, "
        "one aiosqlite query per item",
        factory="bench.instrumented:create_plain",
        env=config.to_env(),
    )
    return [ours, plain]


def _measure(
    target: Target,
    server: Server,
    emulator: Server,
    load: LoadGenerator,
    options: Options,
    say: Progress,
) -> TargetFigures:
    url = server.base_url + GRAPHQL_PATH
    say(f"{target.name}: warm-up {options.warmup_duration_s:g} s ...")
    load.run(url, options.concurrency, options.warmup_duration_s)
    start = _snapshot(server, emulator)
    say(f"{target.name}: concurrency {options.concurrency} for {options.duration_s:g} s ...")
    loaded = load.run(url, options.concurrency, options.duration_s)
    middle = _snapshot(server, emulator)
    say(f"{target.name}: concurrency 1 for {options.sequential_duration_s:g} s ...")
    sequential = load.run(url, 1, options.sequential_duration_s)
    end = _snapshot(server, emulator)
    return _figures(target, loaded, sequential, start, middle, end)


@dataclass(frozen=True)
class _Snapshot:
    server: dict[str, Any]
    personalize_calls: int
    emulator_cpu_s: float | None


def _snapshot(server: Server, emulator: Server) -> _Snapshot:
    """The totals once every request sent has been answered (a load generator that stops at
    its deadline may leave requests in flight on the server)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while True:
        stats = server.get_json(STATS_PATH)
        if stats["queries_in_flight"] == 0:
            break
        if time.monotonic() > deadline:
            raise BenchError(
                f"{server.name} still has {stats['queries_in_flight']} queries in flight "
                f"{SETTLE_TIMEOUT_S:.0f} s after the load stopped"
            )
        time.sleep(0.05)
    calls = emulator.get_json("/_emulator/stats")["calls"]
    return _Snapshot(stats, sum(calls.values()), cpu_seconds(emulator.pid))


def _figures(
    target: Target,
    loaded: LoadResult,
    sequential: LoadResult,
    start: _Snapshot,
    middle: _Snapshot,
    end: _Snapshot,
) -> TargetFigures:
    """Per-query figures: counts over both measured phases, the CPU split over the sequential
    one, and the CPU time under load over the loaded one."""

    def delta(before: _Snapshot, after: _Snapshot, *keys: str) -> float:
        old: Any = before.server
        new: Any = after.server
        for key in keys:
            old, new = old[key], new[key]
        return float(new - old)

    loaded_queries = delta(start, middle, "queries")
    sequential_queries = delta(middle, end, "queries")
    if loaded_queries == 0 or sequential_queries == 0:
        raise BenchError(f"{target.name} served no queries in a measured phase")
    queries = loaded_queries + sequential_queries
    aiobotocore_ms = delta(middle, end, "aiobotocore", "cpu_s") * 1000 / sequential_queries
    catalog_ms = delta(middle, end, "catalog", "cpu_s") * 1000 / sequential_queries
    total_ms = delta(middle, end, "cpu_s") * 1000 / sequential_queries
    loaded_calls = middle.personalize_calls - start.personalize_calls
    emulator_ms = None
    if start.emulator_cpu_s is not None and middle.emulator_cpu_s is not None and loaded_calls:
        emulator_ms = (middle.emulator_cpu_s - start.emulator_cpu_s) * 1000 / loaded_calls
    return TargetFigures(
        name=target.name,
        description=target.description,
        loaded=loaded,
        sequential=sequential,
        queries=int(queries),
        personalize_calls_per_query=(end.personalize_calls - start.personalize_calls) / queries,
        personalize_failures=int(delta(start, end, "aiobotocore", "failures")),
        catalog_failures=int(delta(start, end, "catalog", "failures")),
        catalog_round_trips_per_query=delta(start, end, "catalog_round_trips") / queries,
        cpu=CpuSplit(
            aiobotocore_ms=aiobotocore_ms,
            catalog_ms=catalog_ms,
            rest_ms=total_ms - aiobotocore_ms - catalog_ms,
            total_ms=total_ms,
        ),
        server_cpu_per_query_loaded_ms=delta(start, middle, "cpu_s") * 1000 / loaded_queries,
        emulator_cpu_per_call_ms=emulator_ms,
    )


def _ignore(message: str) -> None:
    pass


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the gateway beside a plain Strawberry build, on loopback.",
    )
    parser.add_argument(
        "--duration",
        type=_positive(float),
        default=Options.duration_s,
        metavar="SECONDS",
        help=f"measured seconds at --concurrency, per server (default: {Options.duration_s:g})",
    )
    parser.add_argument(
        "--sequential",
        type=_positive(float),
        default=None,
        metavar="SECONDS",
        help="measured seconds at concurrency 1, per server (default: half of --duration, "
        "at most 5)",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive(int),
        default=Options.concurrency,
        help=f"connections kept busy (default: {Options.concurrency})",
    )
    parser.add_argument(
        "--users",
        type=_positive(int),
        default=Options.users,
        help=f"distinct userIds cycled through (default: {Options.users})",
    )
    parser.add_argument("--no-plain", action="store_true", help="measure the gateway only")
    parser.add_argument(
        "--plain-client",
        choices=CLIENT_MODES,
        default=Options.plain_client,
        help="plain build's aiobotocore client: a new one per request, as the original Lambda "
        "(default), or one shared",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default=Options.client,
        help="load generator: wrk if installed, else an asyncio client (default: auto)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="Personalize CSV files to use, e.g. var/sample (default: a fresh sample store in "
        "a temporary directory)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the figures as JSON on stdout (the table goes to stderr)",
    )
    return parser


def _positive(kind: Callable[[str], float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not above 0")
        return value

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    """Run from the command line; exit code 1 if anything failed or any request erred."""
    args = build_parser().parse_args(argv)
    if args.data is not None and not (args.data / "items.csv").is_file():
        print(f"bench: --data {args.data}: no items.csv there", file=sys.stderr)
        return EXIT_USAGE
    options = Options(
        duration_s=args.duration,
        concurrency=args.concurrency,
        users=args.users,
        plain=not args.no_plain,
        plain_client=args.plain_client,
        client=args.client,
        data=args.data,
        sequential_s=args.sequential,
    )
    try:
        report = run(options, _progress)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    table = render(report)
    if args.json:
        print(table, file=sys.stderr)
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(table)
    if report.errors:
        print(f"bench: {report.errors} requests failed", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
