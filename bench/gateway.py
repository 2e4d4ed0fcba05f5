"""The gateway benchmark beside its peers, in one run: `python -m bench` (or scripts/bench).

Writes the sample store (or uses --data), builds one SQLite catalog from it, and starts on
loopback, each server pinned to one core and the load generator on the other:
- ours: the gateway (bench.instrumented:create_gateway, metered from the outside);
- plain: bench/plain.py, Strawberry + aiobotocore + an aiosqlite DataLoader written competently;
- apollo: bench/apollo/server.mjs, Apollo Server 5 + AWS SDK v3 + a better-sqlite3 DataLoader;
all three against one upstream: by default a canned Personalize (bench/canned.py) that replays
the local Personalize's answers at negligible CPU, so the upstream is never the bottleneck and
every server gets the same bytes for the same user. Before measuring, every server must answer
the standard query with the same JSON data, or the run stops.

Scenarios: cache-cold (distinct users, caches off), cache-hit (1,000 users repeating, the
response cache on, beside a bare Starlette endpoint returning the same bytes), connections-1000
(1,000 connections, 50 ms upstream latency) and workers (`serve --workers 2` against 1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from bench.canned import capture_answers, write_answers
from bench.instrumented import (
    ENV_BARE_ANSWERS,
    ENV_COUNT_SQL,
    GRAPHQL_PATH,
    STATS_PATH,
    load_catalog,
    settings_check,
)
from bench.load import LoadGenerator, LoadResult, PythonLoad, WrkLoad, request_bodies
from bench.plain import PlainConfig
from bench.processes import (
    HOST,
    ROOT,
    BenchError,
    CorePlan,
    Server,
    child_env,
    cpu_seconds,
    free_port,
    gateway_command,
    interrupt,
    post_json,
    put_json,
    python_command,
    spawned,
    stop,
    wait_ready,
)
from bench.report import CpuSplit, Measurement, Report, Section, render

ClientChoice = Literal["auto", "wrk", "python"]
Upstream = Literal["canned", "emulator"]
SERVERS = ("ours", "plain", "apollo")
SCENARIOS = ("cache-cold", "cache-hit", "connections-1000", "workers")
CAMPAIGN = "user-personalization"
NUM_RESULTS = 25
SEED = 2018
SETTLE_TIMEOUT_S = 15.0
CHECKED_USERS = 5
MANY_CONNECTIONS = 1000
UPSTREAM_LATENCY_MS = 50
UPSTREAM_POOL = 50  # connections each server keeps to Personalize (ours' default, the SDK's)
WORKERS = 2
RESPONSE_CACHE_SETTING = "GATEWAY_RESPONSE_CACHE_TTL"
WORKERS_SETTING = "GATEWAY_WORKERS"
APOLLO_DIR = ROOT / "bench" / "apollo"
APOLLO_STAMP = APOLLO_DIR / "node_modules" / ".personalize-gateway-installed"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """One run's knobs; durations are seconds per server and phase."""

    duration_s: float = 10.0
    concurrency: int = 32
    scenarios: tuple[str, ...] = SCENARIOS
    servers: tuple[str, ...] = SERVERS
    client: ClientChoice = "auto"
    upstream: Upstream = "canned"
    data: Path | None = None
    cold_users: int | None = None  # default: every user of the store
    hit_users: int = 1000
    warmup_s: float | None = None  # default: a fifth of duration_s, at most 2 s
    sequential_s: float | None = None  # default: 40% of duration_s, at most 4 s
    ours_env: tuple[tuple[str, str], ...] = ()

    @property
    def warmup_duration_s(self) -> float:
        return self.warmup_s if self.warmup_s is not None else min(2.0, self.duration_s / 5)

    @property
    def sequential_duration_s(self) -> float:
        return (
            self.sequential_s if self.sequential_s is not None else min(4.0, self.duration_s * 0.4)
        )


@dataclass
class _Run:
    """What the scenarios share: the options, the processes, the files, the load generators."""

    options: Options
    say: Progress
    plan: CorePlan
    work: Path
    stack: contextlib.ExitStack
    upstream: Server
    campaign_arn: str
    catalog_path: Path
    cold: LoadGenerator
    hit: LoadGenerator
    cold_bodies: list[bytes]
    hit_bodies: list[bytes]
    servers: dict[str, Server] = field(default_factory=dict)
    reference: dict[bytes, Any] = field(default_factory=dict)  # body -> the data every one gives
    answers: dict[str, list[Any]] = field(default_factory=dict)  # server -> data it gave


def run(options: Options, progress: Progress | None = None) -> Report:
    """Run the chosen scenarios and return the figures; processes stop whatever happens."""
    say = progress or _ignore
    plan = CorePlan.available()
    with tempfile.TemporaryDirectory(prefix="bench-") as name, contextlib.ExitStack() as stack:
        work = Path(name)
        data_dir = options.data or _write_sample(work / "sample", say)
        catalog_path = work / "catalog.db"
        say(f"building the catalog from {data_dir / 'items.csv'} ...")
        items = load_catalog(data_dir / "items.csv", catalog_path)
        users = read_user_ids(data_dir)
        if not users:
            raise BenchError(f"{data_dir} has no users (neither users.csv nor interactions.csv)")
        cold_users = choose_users(users, options.cold_users or len(users))
        hit_users = cold_users[: options.hit_users]
        from emulator.config import EmulatorConfig

        campaign_arn = EmulatorConfig.default().campaign_arn(CAMPAIGN)
        upstream = _start_upstream(
            options, data_dir, cold_users, campaign_arn, work, plan, stack, say
        )
        cold_bodies, hit_bodies = request_bodies(cold_users), request_bodies(hit_users)
        state = _Run(
            options=options,
            say=say,
            plan=plan,
            work=work,
            stack=stack,
            upstream=upstream,
            campaign_arn=campaign_arn,
            catalog_path=catalog_path,
            cold=_load_generator(options.client, cold_bodies, plan, work / "cold.lua"),
            hit=_load_generator(options.client, hit_bodies, plan, work / "hit.lua"),
            cold_bodies=cold_bodies,
            hit_bodies=hit_bodies,
        )
        if set(options.scenarios) & {"cache-cold", "connections-1000"}:
            _start_servers(state)
        sections: list[Section] = []
        cold: Section | None = None
        for scenario in SCENARIOS:
            if scenario not in options.scenarios:
                continue
            if scenario == "cache-cold":
                cold = _cache_cold(state)
                sections.append(cold)
            elif scenario == "connections-1000":
                sections.append(_many_connections(state, cold))
            elif scenario == "workers":
                sections.append(_workers(state))
            else:
                sections.append(_cache_hit(state))
        setup = [
            f"store: {items:,} items, {len(users):,} users "
            + (f"in {options.data}" if options.data else "(the sample store)"),
            f"upstream: {_describe_upstream(options.upstream)}",
            f"load: {state.cold.name}; each phase {options.duration_s:g} s after a "
            f"{options.warmup_duration_s:g} s warm-up, one server at a time",
            f"pinning: {plan.describe()}",
            *(f"{name}: {DESCRIPTIONS[name]}" for name in state.servers),
        ]
        return Report(setup=setup, sections=sections, answers=state.answers)


DESCRIPTIONS = {
    "ours": "the gateway (bench.instrumented:create_gateway, metered), SQLite catalog",
    "plain": "bench/plain.py: Strawberry + one aiobotocore client per process + a per-request "
    "DataLoader on aiosqlite",
    "apollo": "bench/apollo: Apollo Server 5 standalone + AWS SDK v3 client per process + a "
    "per-request DataLoader on better-sqlite3 12",
}


def _describe_upstream(upstream: Upstream) -> str:
    if upstream == "canned":
        return (
            "canned Personalize (bench/canned.py): the local Personalize's answers, captured "
            "once per user, replayed at a few tens of µs of CPU per call"
        )
    return "the local Personalize (its recommender runs on every call)"


def choose_users(users: list[str], count: int) -> list[str]:
    """`count` of the dataset's `users` (all when fewer) in a fixed shuffled order."""
    chosen = list(users)
    random.Random(SEED).shuffle(chosen)
    return chosen[:count]


def read_user_ids(data_dir: Path) -> list[str]:
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
    choice: ClientChoice, bodies: Sequence[bytes], plan: CorePlan, script: Path
) -> LoadGenerator:
    wrk = WrkLoad.find()
    if choice == "wrk" and wrk is None:
        raise BenchError("--client wrk: wrk is not installed (apt-get install wrk)")
    if choice != "python" and wrk is not None:
        return WrkLoad(bodies, script, plan.load, wrk)
    return PythonLoad(bodies, plan.load)


# --- processes --------------------------------------------------------------------------------


def _start_upstream(
    options: Options,
    data_dir: Path,
    users: list[str],
    campaign_arn: str,
    work: Path,
    plan: CorePlan,
    stack: contextlib.ExitStack,
    say: Progress,
) -> Server:
    say("starting the local Personalize (training on the store) ...")
    port = free_port()
    command = gateway_command(
        "emulator", "--data", str(data_dir), "--host", HOST, "--port", str(port)
    )
    context = spawned(
        "the local Personalize",
        command,
        port=port,
        log=work / "emulator.log",
        env=child_env({}),
        cores=plan.emulator,
        ready_path="/healthz",
    )
    if options.upstream == "emulator":
        emulator = stack.enter_context(context)
        stack.callback(interrupt, emulator)
        wait_ready(emulator)
        return emulator
    answers = work / "answers.jsonl"
    with context as emulator:
        wait_ready(emulator)
        say(f"capturing the local Personalize's answers for {len(users):,} users ...")
        started = time.monotonic()
        captured = asyncio.run(capture_answers(emulator.base_url, campaign_arn, users, NUM_RESULTS))
        write_answers(captured, NUM_RESULTS, answers)
        say(f"... in {time.monotonic() - started:.1f} s")
    port = free_port()
    canned = stack.enter_context(
        spawned(
            "the canned Personalize",
            python_command("-m", "bench.canned", "--answers", str(answers), "--port", str(port)),
            port=port,
            log=work / "canned.log",
            env=child_env({}),
            cores=plan.emulator,
            ready_path="/healthz",
        )
    )
    stack.callback(interrupt, canned)
    wait_ready(canned)
    return canned


def _ours_env(state: _Run, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "GATEWAY_PERSONALIZE_ENDPOINT_URL": state.upstream.base_url,
        "GATEWAY_RECOMMENDATIONS_ARN": state.campaign_arn,
        "GATEWAY_CATALOG_PATH": str(state.catalog_path),
        "GATEWAY_GRAPHIQL": "false",
        "GATEWAY_LOG_LEVEL": "warning",
        "GATEWAY_MAX_POOL_CONNECTIONS": str(UPSTREAM_POOL),
        ENV_COUNT_SQL: "1",
        **dict(state.options.ours_env),
        **(extra or {}),
    }


def _uvicorn(
    state: _Run, name: str, factory: str, env: dict[str, str]
) -> contextlib.AbstractContextManager[Server]:
    port = free_port()
    command = python_command(
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--lifespan",
        "on",
        "--no-access-log",
        "--log-level",
        "warning",
        "--backlog",
        "4096",
    )
    return spawned(
        name,
        command,
        port=port,
        log=state.work / f"{name}.log",
        env=child_env(env),
        cores=state.plan.server,
        ready_path=STATS_PATH,
    )


def _apollo(state: _Run) -> contextlib.AbstractContextManager[Server]:
    check_apollo_installed()
    port, stats_port = free_port(), free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "NODE_ENV": "production",
        "PORT": str(port),
        "BENCH_STATS_PORT": str(stats_port),
        "BENCH_ENDPOINT_URL": state.upstream.base_url,
        "BENCH_CAMPAIGN_ARN": state.campaign_arn,
        "BENCH_CATALOG_PATH": str(state.catalog_path),
    }
    return spawned(
        "apollo",
        ["node", str(APOLLO_DIR / "server.mjs")],
        port=port,
        log=state.work / "apollo.log",
        env=env,
        cores=state.plan.server,
        ready_path=STATS_PATH,
        stats_port=stats_port,
        cwd=APOLLO_DIR,
    )


def check_apollo_installed() -> None:
    """Raise BenchError, saying what to run, unless bench/apollo's packages are installed."""
    if not APOLLO_STAMP.is_file():
        raise BenchError(
            "the Apollo peer's npm packages are not installed: run scripts/node-deps "
            "(or pass --servers ours,plain)"
        )


def _enter(state: _Run, context: contextlib.AbstractContextManager[Server]) -> Server:
    server = state.stack.enter_context(context)
    state.stack.callback(interrupt, server)  # on the way out, all shut down at once
    return server


def _start_servers(state: _Run) -> None:
    state.say(f"starting {', '.join(state.options.servers)} ...")
    plain = PlainConfig(state.upstream.base_url, state.campaign_arn, state.catalog_path)
    contexts = {
        "ours": lambda: _uvicorn(
            state, "ours", "bench.instrumented:create_gateway", _ours_env(state)
        ),
        "plain": lambda: _uvicorn(
            state,
            "plain",
            "bench.instrumented:create_plain",
            {**plain.to_env(), ENV_COUNT_SQL: "1"},
        ),
        "apollo": lambda: _apollo(state),
    }
    for name in state.options.servers:
        state.servers[name] = _enter(state, contexts[name]())
    for server in state.servers.values():
        wait_ready(server)
    _check_same_data(state, state.servers.values())


def _check_same_data(state: _Run, servers: Any) -> None:
    """Fail unless every server answers the checked users with the same data as the first."""
    bodies = state.cold_bodies[:: max(1, len(state.cold_bodies) // CHECKED_USERS)][:CHECKED_USERS]
    for server in servers:
        for body in bodies:
            answer = json.loads(post_json(server.base_url + GRAPHQL_PATH, body))
            if answer.get("errors") or not answer.get("data"):
                raise BenchError(f"{server.name} failed the standard query: {str(answer)[:800]}")
            data = answer["data"]
            if state.options.upstream == "emulator":  # a fresh id on every call
                data["recommendations"].pop("recommendationId", None)
            state.answers.setdefault(server.name, []).append(data)
            expected = state.reference.setdefault(body, data)
            if data != expected:
                raise BenchError(
                    f"{server.name} answers {body.decode()} with other data than the first "
                    f"server:\n{_first_difference(expected, data)}"
                )
    state.say(f"checked: {len(bodies)} users get the same data from every server")


def _first_difference(expected: Any, got: Any, path: str = "data") -> str:
    if isinstance(expected, dict) and isinstance(got, dict):
        for key in sorted(set(expected) | set(got)):
            if expected.get(key, "<absent>") != got.get(key, "<absent>"):
                return _first_difference(expected.get(key), got.get(key), f"{path}.{key}")
    if isinstance(expected, list) and isinstance(got, list) and len(expected) == len(got):
        for index, (left, right) in enumerate(zip(expected, got, strict=True)):
            if left != right:
                return _first_difference(left, right, f"{path}[{index}]")
    return f"{path}: expected {expected!r}, got {got!r}"


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    at: float
    stats: dict[str, Any] | None
    upstream_calls: int
    server_cpu_s: float | None
    upstream_cpu_s: float | None


def _snapshot(server: Server, upstream: Server, metered: bool = True) -> _Snapshot:
    """The totals once every request sent has been answered (a load generator that stops at
    its deadline may leave requests in flight on the server)."""
    stats = None
    if metered:
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
    calls = upstream.get_json("/_emulator/stats")["calls"]
    return _Snapshot(
        time.monotonic(),
        stats,
        sum(calls.values()),
        server.cpu_seconds(),
        cpu_seconds(upstream.pid),
    )


def _measure(
    state: _Run,
    server: Server,
    load: LoadGenerator,
    connections: int,
    *,
    metered: bool = True,
    cores: frozenset[int] | Literal["default"] | None = "default",
) -> tuple[Measurement, _Snapshot, _Snapshot]:
    url = server.base_url + GRAPHQL_PATH
    options = state.options
    state.say(f"  {server.name}: warm-up {options.warmup_duration_s:g} s ...")
    load.run(url, connections, options.warmup_duration_s, cores)
    before = _snapshot(server, state.upstream, metered)
    state.say(f"  {server.name}: {connections} connections for {options.duration_s:g} s ...")
    result = load.run(url, connections, options.duration_s, cores)
    after = _snapshot(server, state.upstream, metered)
    return _figures(server, connections, result, before, after), before, after


def _figures(
    server: Server, connections: int, result: LoadResult, before: _Snapshot, after: _Snapshot
) -> Measurement:
    def stat(*keys: str) -> float:
        old: Any = before.stats
        new: Any = after.stats
        for key in keys:
            old, new = old[key], new[key]
        return float(new - old)

    metered = before.stats is not None and after.stats is not None
    queries = int(stat("queries")) if metered else result.requests
    if queries == 0:
        raise BenchError(f"{server.name} served no queries in a measured phase")
    round_trips: float | None = None
    failures = 0
    if metered:
        key = "sql_statements" if "sql_statements" in (after.stats or {}) else "catalog_statements"
        round_trips = stat(key) / queries
        if "aiobotocore" in (after.stats or {}):
            failures = int(stat("aiobotocore", "failures") + stat("catalog", "failures"))
    cpu_ms = cores = None
    if before.server_cpu_s is not None and after.server_cpu_s is not None:
        used = after.server_cpu_s - before.server_cpu_s
        cpu_ms = used * 1000 / queries
        cores = used / (after.at - before.at)
    rss = server.rss_bytes()
    return Measurement(
        server=server.name,
        connections=connections,
        load=result,
        queries=queries,
        personalize_calls_per_query=(after.upstream_calls - before.upstream_calls) / queries,
        catalog_round_trips_per_query=round_trips,
        upstream_failures=failures,
        server_cpu_ms_per_query=cpu_ms,
        server_cores=cores,
        rss_mb=None if rss is None else rss / 2**20,
    )


def _cpu_split(state: _Run, server: Server) -> CpuSplit:
    """CPU per query by part, from a phase with one query in flight (bench/instrumented.py)."""
    state.say(f"  {server.name}: 1 connection for {state.options.sequential_duration_s:g} s ...")
    before = server.get_json(STATS_PATH)
    state.cold.run(server.base_url + GRAPHQL_PATH, 1, state.options.sequential_duration_s)
    after = _snapshot(server, state.upstream).stats or {}
    queries = int(after["queries"] - before["queries"])
    if queries == 0:
        raise BenchError(f"{server.name} served no queries with one connection")

    def ms(*keys: str) -> float:
        old: Any = before
        new: Any = after
        for key in keys:
            old, new = old[key], new[key]
        return float(new - old) * 1000 / int(queries)

    total, app, execution = ms("cpu_s"), ms("app", "cpu_s"), ms("execution", "cpu_s")
    aiobotocore, catalog = ms("aiobotocore", "cpu_s"), ms("catalog", "cpu_s")
    return CpuSplit(
        http_view_ms=app - execution,
        execution_ms=execution - aiobotocore - catalog,
        aiobotocore_ms=aiobotocore,
        catalog_ms=catalog,
        rest_ms=total - app,
        total_ms=total,
        queries=queries,
    )


# --- scenarios --------------------------------------------------------------------------------


def _cache_cold(state: _Run) -> Section:
    users = len(state.cold_bodies)
    section = Section(
        "cache-cold",
        f"{users:,} distinct users cycled, caches off, {state.options.concurrency} connections",
    )
    state.say(f"cache-cold: {state.options.concurrency} connections ...")
    for name, server in state.servers.items():
        measurement, _, _ = _measure(state, server, state.cold, state.options.concurrency)
        section.measurements.append(measurement)
        if name in ("ours", "plain"):
            section.cpu_splits[name] = _cpu_split(state, server)
    section.ratios = [("ours", "plain"), ("ours", "apollo")]
    section.notes.append(
        "CPU split: with one query in flight, the CPU time while each part runs belongs to it "
        "alone (bench/instrumented.py says how each part is counted)."
    )
    return section


def _many_connections(state: _Run, cold: Section | None) -> Section:
    section = Section(
        "connections-1000",
        f"{MANY_CONNECTIONS:,} connections, {UPSTREAM_LATENCY_MS} ms upstream latency, "
        "distinct users",
    )
    state.say(f"connections-1000: upstream latency {UPSTREAM_LATENCY_MS} ms ...")
    put_json(state.upstream.base_url + "/_emulator/faults", {"latency_ms": UPSTREAM_LATENCY_MS})
    try:
        for server in state.servers.values():
            measurement, _, _ = _measure(state, server, state.cold, MANY_CONNECTIONS)
            section.measurements.append(measurement)
    finally:
        put_json(state.upstream.base_url + "/_emulator/faults", {"latency_ms": 0})
    section.ratios = [("ours", "plain"), ("ours", "apollo")]
    for measurement in section.measurements:
        before = cold.find(measurement.server) if cold is not None else None
        if before is not None:
            section.notes.append(
                f"{measurement.server}: {measurement.requests_per_s:,.0f} req/s = "
                f"{measurement.requests_per_s / before.requests_per_s:.0%} of its "
                f"{before.connections}-connection cache-cold figure "
                f"({before.requests_per_s:,.0f}); RSS {measurement.rss_mb or 0:.0f} MB"
            )
    section.notes.append(
        f"Each server keeps at most {UPSTREAM_POOL} connections to Personalize: at "
        f"{UPSTREAM_LATENCY_MS} ms a call, at most "
        f"{UPSTREAM_POOL * 1000 // UPSTREAM_LATENCY_MS:,} req/s."
    )
    return section


def _cache_hit(state: _Run) -> Section:
    users = len(state.hit_bodies)
    section = Section(
        "cache-hit",
        f"{users:,} users repeating, ours with {RESPONSE_CACHE_SETTING}=60, beside a bare "
        "Starlette endpoint returning the same bytes",
    )
    state.say("cache-hit: starting ours with the response cache ...")
    ours: Server | None = None
    if "ours" in state.options.servers:
        context = _uvicorn(
            state,
            "ours-cached",
            "bench.instrumented:create_gateway",
            _ours_env(state, {RESPONSE_CACHE_SETTING: "60"}),
        )
        ours = state.stack.enter_context(context)
        try:
            wait_ready(ours)
        except BenchError as error:
            if RESPONSE_CACHE_SETTING not in str(error):
                raise
            section.notes.append(
                f"ours: response cache not available (the gateway refuses {RESPONSE_CACHE_SETTING})"
            )
            stop(ours)
            ours = None
    source = ours or next(iter(state.servers.values()), None)
    if source is None:
        section.notes.append("no server to take the answers from: --servers is empty")
        return section
    if ours is not None:
        _check_same_data(state, [ours])
    state.say(f"  priming: each of the {users:,} users once, through {source.name} ...")
    answers = state.work / "bare-answers.jsonl"
    with open(answers, "w", encoding="utf-8") as file:
        for body in state.hit_bodies:
            response = post_json(source.base_url + GRAPHQL_PATH, body)
            file.write(json.dumps({"body": body.decode(), "response": response.decode()}) + "\n")
    bare = state.stack.enter_context(
        _uvicorn(state, "bare", "bench.instrumented:create_bare", {ENV_BARE_ANSWERS: str(answers)})
    )
    wait_ready(bare)
    for server in (ours, bare):
        if server is not None:
            measurement, _, _ = _measure(state, server, state.hit, state.options.concurrency)
            section.measurements.append(replace(measurement, server=server.name))
    for server in (ours, bare):
        if server is not None:
            stop(server)
    section.ratios = [("ours-cached", "bare")]
    return section


def _workers(state: _Run) -> Section:
    section = Section(
        "workers",
        f"ours through `personalize-gateway serve`, {WORKERS} workers against 1, "
        f"{state.options.concurrency} connections",
    )
    how = _workers_support()
    if how is None:
        section.notes.append(
            f"workers: not available (neither `serve --workers` nor {WORKERS_SETTING})"
        )
        return section
    state.say(f"workers: `serve` with 1 and {WORKERS} workers ...")
    one_core = state.plan.server
    figures: dict[int, tuple[Measurement, float]] = {}
    for workers in (1, WORKERS):
        with _serve(state, how, workers, one_core if workers == 1 else None) as server:
            wait_ready(server)
            if workers > 1 and len(server.pids()) <= workers:
                section.notes.append(
                    f"workers: `serve` with {workers} workers started {len(server.pids())} "
                    "processes in all; measured anyway"
                )
            cores: frozenset[int] | Literal["default"] | None = "default" if workers == 1 else None
            measurement, before, after = _measure(
                state, server, state.cold, state.options.concurrency, metered=False, cores=cores
            )
            wall = after.at - before.at
            upstream = (after.upstream_cpu_s or 0) - (before.upstream_cpu_s or 0)
            others = ((measurement.load.client_cpu_s or 0) + upstream) / wall
            section.measurements.append(replace(measurement, server=f"ours x{workers}"))
            figures[workers] = (measurement, others)
    (single, _), (many, others) = figures[1], figures[WORKERS]
    all_cores = os.cpu_count() or WORKERS
    raw = many.requests_per_s / single.requests_per_s
    section.notes += [
        f"1 worker: pinned to one core, the load generator and upstream on another. "
        f"{WORKERS} workers: nothing pinned, so the load generator ({others:.2f} cores busy with "
        f"it and the upstream) shares the {all_cores} cores with the workers.",
        f"raw: {many.requests_per_s:,.0f} / {single.requests_per_s:,.0f} req/s = {raw:.2f}x",
    ]
    if many.server_cores and single.server_cores:
        per_core_many = many.requests_per_s / many.server_cores
        per_core_single = single.requests_per_s / single.server_cores
        scaled = per_core_many * WORKERS / per_core_single
        section.notes.append(
            f"accounted: req/s per core the server used: {per_core_many:,.0f} ({WORKERS} workers) "
            f"and {per_core_single:,.0f} (1); {WORKERS} workers on {WORKERS} whole cores, the "
            f"load generator elsewhere, would give {per_core_many * WORKERS:,.0f} req/s = "
            f"{scaled:.2f}x one worker"
        )
    return section


def _workers_support() -> list[str] | None:
    """How to ask `serve` for workers: ["--workers"], [WORKERS_SETTING], or None."""
    helped = subprocess.run(
        gateway_command("serve", "--help"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    if "--workers" in helped.stdout:
        return ["--workers"]
    checked = subprocess.run(
        python_command(*settings_check()),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=child_env({WORKERS_SETTING: "1"}),
    )
    return [WORKERS_SETTING] if checked.returncode == 0 else None


@contextlib.contextmanager
def _serve(
    state: _Run, how: list[str], workers: int, cores: frozenset[int] | None
) -> Iterator[Server]:
    port = free_port()
    env = {
        **_ours_env(state),
        "GATEWAY_HOST": HOST,
        "GATEWAY_PORT": str(port),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_REGION": "us-east-1",
    }
    env.pop(ENV_COUNT_SQL)
    arguments = ["serve"]
    if how == ["--workers"]:
        arguments += ["--workers", str(workers)]
    else:
        env[WORKERS_SETTING] = str(workers)
    with spawned(
        f"ours x{workers}",
        gateway_command(*arguments),
        port=port,
        log=state.work / f"serve-{workers}.log",
        env=child_env(env),
        cores=cores,
        ready_path="/healthz",
    ) as server:
        yield server


def _ignore(message: str) -> None:
    pass


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- command line -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the gateway beside a plain Strawberry build and Apollo Server, "
        "on loopback, in one run.",
    )
    parser.add_argument(
        "--duration",
        type=_positive(float),
        default=Options.duration_s,
        metavar="SECONDS",
        help=f"measured seconds per server and scenario (default: {Options.duration_s:g})",
    )
    parser.add_argument(
        "--concurrency",
        type=_positive(int),
        default=Options.concurrency,
        help=f"connections kept busy (default: {Options.concurrency}; "
        f"connections-1000 uses {MANY_CONNECTIONS:,})",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="a scenario to run; repeat for several (default: all)",
    )
    parser.add_argument(
        "--servers",
        type=_server_list,
        default=SERVERS,
        help=f"comma list of the servers to run, of {','.join(SERVERS)} (default: all)",
    )
    parser.add_argument(
        "--upstream",
        choices=("canned", "emulator"),
        default=Options.upstream,
        help="canned: the local Personalize's answers replayed at negligible CPU (default); "
        "emulator: the local Personalize itself",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default=Options.client,
        help="load generator: wrk if installed, else an asyncio client (default: auto)",
    )
    parser.add_argument(
        "--ours-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a GATEWAY_* setting for ours in every scenario (repeatable)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="Personalize CSV files to use (default: a fresh sample store)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the figures as JSON on stdout (the tables go to stderr)",
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


def _server_list(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in SERVERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown server {', '.join(unknown)}")
    return names


def main(argv: Sequence[str] | None = None) -> int:
    """Run from the command line; exit code 1 if anything failed or any request erred."""
    args = build_parser().parse_args(argv)
    if args.data is not None and not (args.data / "items.csv").is_file():
        print(f"bench: --data {args.data}: no items.csv there", file=sys.stderr)
        return EXIT_USAGE
    ours_env = []
    for pair in args.ours_env:
        name, equals, value = pair.partition("=")
        if not equals or not name.startswith("GATEWAY_"):
            print(f"bench: --ours-env {pair}: expected GATEWAY_NAME=VALUE", file=sys.stderr)
            return EXIT_USAGE
        ours_env.append((name, value))
    options = Options(
        duration_s=args.duration,
        concurrency=args.concurrency,
        scenarios=tuple(args.scenario or SCENARIOS),
        servers=args.servers,
        client=args.client,
        upstream=args.upstream,
        data=args.data,
        ours_env=tuple(ours_env),
    )
    if options.client == "auto" and WrkLoad.find() is None:
        _progress("note: wrk is not installed; the asyncio load generator is used instead")
    try:
        report = run(options, _progress)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    text = render(report)
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(text)
    if report.errors:
        print(f"bench: {report.errors} requests or upstream calls failed", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
