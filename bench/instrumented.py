"""Bench-only ASGI entry points, metered from the outside; the only module of bench/ that
imports `gateway` (so that its paths are fixed in one place when the gateway moves).

    uvicorn --factory bench.instrumented:create_gateway   # GATEWAY_* settings
    uvicorn --factory bench.instrumented:create_plain     # BENCH_PLAIN_* variables
    uvicorn --factory bench.instrumented:create_bare      # BENCH_BARE_ANSWERS

Each app counts the GraphQL requests it serves and answers `GET /_bench/stats` with running
totals. The product code carries no hook: what is metered is patched in the server process at
the library level (aiobotocore's API call, Strawberry's `Schema.execute`, `sqlite3.connect`) or
wrapped once the lifespan has opened it (the gateway's catalog, the plain build's batch
function).

CPU time is attributed this way, for the `cpu_split` of a phase with one query in flight:
- app: the process's CPU time while the ASGI app handles a POST /graphql (middleware, the
  view, parsing the body, the JSON answer) and everything below it;
- execution: the process's CPU time inside `Schema.execute` (parse and validation, or their
  caches, and the execution of the fields), with the calls below it;
- aiobotocore: the process's CPU time while an API call is in flight (serialising, signing,
  aiohttp, parsing the answer; the network wait costs nothing);
- catalog: the event loop thread's CPU time inside the catalog coroutine's own steps, plus the
  CPU time of the other threads (aiosqlite's) while a catalog call is in flight.
Only with one query in flight at a time does such CPU time belong to those calls alone; under
concurrency other requests run in the same windows. With BENCH_COUNT_SQL=1 every SQL statement
the process's SQLite connections run is counted (a trace callback): the catalog round trips.
A planned query (schema/plans.py) answers without `Schema.execute`'s machinery: `Plan.execute`
is metered into the same account (nested windows count once), so "execution" covers both.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, ParamSpec, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATS_PATH = "/_bench/stats"
GRAPHQL_PATH = "/graphql"
ENV_COUNT_SQL = "BENCH_COUNT_SQL"
ENV_BARE_ANSWERS = "BENCH_BARE_ANSWERS"
# The gateway's own entry points, as the benchmark starts them.
GATEWAY_CLI_MODULE = "gateway.cli"
CATALOG_STATE_KEY = "catalog"

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class Account:
    """Calls of one kind and the CPU seconds spent in them."""

    calls: int = 0
    failures: int = 0  # calls that raised or were cancelled (e.g. by the gateway's deadline)
    cpu_s: float = 0.0
    in_flight: int = 0
    opened_at: float = 0.0


class Meter:
    """The running totals of one server process, read at `/_bench/stats`."""

    def __init__(self) -> None:
        self.queries = 0
        self.queries_in_flight = 0
        self.sql_statements = 0
        self.app = Account()
        self.execution = Account()
        self.aiobotocore = Account()
        self.catalog = Account()

    def over_window(
        self, account: Account, function: Callable[P, Awaitable[T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]:
        """`function`, charging `account` with the process CPU time while a call is in flight."""

        @functools.wraps(function)
        async def metered(*args: P.args, **kwargs: P.kwargs) -> T:
            return await _charged(account, time.process_time, lambda: function(*args, **kwargs))

        return metered

    def over_steps(
        self, account: Account, function: Callable[P, Coroutine[Any, Any, T]]
    ) -> Callable[P, Coroutine[Any, Any, T]]:
        """`function`, charging `account` with the loop thread's CPU time in its own steps and
        the other threads' CPU time while a call is in flight."""

        @functools.wraps(function)
        async def metered(*args: P.args, **kwargs: P.kwargs) -> T:
            return await _charged(
                account, _other_threads_cpu, lambda: _Stepped(function(*args, **kwargs), account)
            )

        return metered

    def count_statement(self, statement: str) -> None:
        self.sql_statements += 1

    def snapshot(self) -> dict[str, Any]:
        """The totals as JSON: queries, CPU seconds of the process and of each kind of call."""
        return {
            "queries": self.queries,
            "queries_in_flight": self.queries_in_flight,
            "cpu_s": time.process_time(),
            "sql_statements": self.sql_statements,
            **{
                name: dataclasses.asdict(getattr(self, name))
                for name in ("app", "execution", "aiobotocore", "catalog")
            },
        }


async def _charged(
    account: Account, clock: Callable[[], float], call: Callable[[], Awaitable[T]]
) -> T:
    """Awaits `call()`, counted in `account`, which is charged with how far `clock` advances
    while any of its calls is in flight."""
    account.calls += 1
    if account.in_flight == 0:
        account.opened_at = clock()
    account.in_flight += 1
    try:
        return await call()
    except BaseException:
        account.failures += 1
        raise
    finally:
        account.in_flight -= 1
        if account.in_flight == 0:
            account.cpu_s += clock() - account.opened_at


def _other_threads_cpu() -> float:
    """CPU seconds of every thread but the calling one (the event loop's)."""
    return time.process_time() - time.thread_time()


class _Stepped(Generic[T]):
    """Awaits a coroutine, adding the calling thread's CPU time of each of its steps to an
    account; what it awaits (futures, sleeps) passes through unchanged."""

    def __init__(self, coroutine: Coroutine[Any, Any, T], account: Account) -> None:
        self._coroutine = coroutine
        self._account = account

    def __await__(self) -> Generator[Any, Any, T]:
        coroutine, account, clock = self._coroutine, self._account, time.thread_time
        value: Any = None
        error: BaseException | None = None
        while True:
            started = clock()
            try:
                awaited = coroutine.send(value) if error is None else coroutine.throw(error)
            except StopIteration as stop:
                result: T = stop.value
                return result
            finally:
                account.cpu_s += clock() - started
            try:
                value, error = (yield awaited), None
            except BaseException as thrown:  # cancellation goes on into the coroutine
                value, error = None, thrown


class MeteredApp:
    """An app under test plus `GET /_bench/stats`, counting (and metering) the GraphQL
    requests it serves. `on_startup` receives the lifespan state once it is open."""

    def __init__(
        self,
        app: ASGIApp,
        meter: Meter,
        on_startup: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.app = app
        self.meter = meter
        self.on_startup = on_startup
        self._serve = meter.over_window(meter.app, app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.on_startup is not None:
            await self.app(scope, receive, self._watch_startup(scope, send))
        elif scope["type"] == "http" and scope["path"] == STATS_PATH:
            await JSONResponse(self.meter.snapshot())(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == GRAPHQL_PATH:
            self.meter.queries_in_flight += 1
            try:
                await self._serve(scope, receive, send)
            finally:
                self.meter.queries_in_flight -= 1
                self.meter.queries += 1
        else:
            await self.app(scope, receive, send)

    def _watch_startup(self, scope: Scope, send: Send) -> Send:
        on_startup = self.on_startup

        async def watched(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete" and on_startup is not None:
                on_startup(scope["state"])
            await send(message)

        return watched


def install_meters(meter: Meter) -> None:
    """Meter, in this process, every aiobotocore API call, every Strawberry `Schema.execute`
    and (with BENCH_COUNT_SQL=1) every SQL statement of SQLite connections opened from now on."""
    import strawberry
    from aiobotocore.client import AioBaseClient

    # setattr: mypy refuses an assignment to a method.
    call = AioBaseClient._make_api_call
    setattr(AioBaseClient, "_make_api_call", meter.over_window(meter.aiobotocore, call))  # noqa: B010
    execute = strawberry.Schema.execute
    setattr(strawberry.Schema, "execute", meter.over_window(meter.execution, execute))  # noqa: B010
    if os.environ.get(ENV_COUNT_SQL) == "1":
        connect = sqlite3.connect

        def counted(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection: sqlite3.Connection = connect(*args, **kwargs)
            connection.set_trace_callback(meter.count_statement)
            return connection

        setattr(sqlite3, "connect", counted)  # noqa: B010


def create_gateway() -> ASGIApp:
    """The gateway from `GATEWAY_*` settings with local credentials, metered."""
    from gateway.http.app import create_app
    from gateway.settings import Settings
    from gateway.wiring import LOCAL_CREDENTIALS
    from schema.plans import Plan

    meter = Meter()
    install_meters(meter)
    planned = Plan.execute
    setattr(Plan, "execute", meter.over_window(meter.execution, planned))  # noqa: B010

    def attach(state: dict[str, Any]) -> None:
        catalog: Any = state[CATALOG_STATE_KEY]
        catalog.get_items = meter.over_steps(meter.catalog, catalog.get_items)

    app: Starlette = create_app(Settings(), credentials=LOCAL_CREDENTIALS)
    return MeteredApp(app, meter, attach)


def create_plain() -> ASGIApp:
    """The plain Strawberry peer (bench/plain.py), metered."""
    from bench import plain

    meter = Meter()
    install_meters(meter)
    plain.load_items = meter.over_steps(meter.catalog, plain.load_items)
    return MeteredApp(plain.create_app(), meter)


def create_bare() -> ASGIApp:
    """A bare Starlette endpoint answering each request body with bytes captured from the
    gateway (BENCH_BARE_ANSWERS: JSON lines of `body` and `response`): what a response cache
    could at best cost."""
    answers: dict[bytes, bytes] = {}
    with open(os.environ[ENV_BARE_ANSWERS], encoding="utf-8") as file:
        for line in file:
            entry = json.loads(line)
            answers[entry["body"].encode()] = entry["response"].encode()

    async def graphql(request: Request) -> Response:
        return Response(answers[await request.body()], media_type="application/json")

    app = Starlette(routes=[Route(GRAPHQL_PATH, graphql, methods=["POST"])])
    return MeteredApp(app, Meter())


def load_catalog(items_csv: Path, catalog_path: Path) -> int:
    """Build the SQLite catalog from a Personalize items CSV; the number of items."""
    from gateway.catalog.load import load_catalog as load

    return load(items_csv, catalog_path)


def gateway_cli_fallback() -> list[str]:
    """`python -c` arguments running the gateway's CLI when its script is not installed."""
    return ["-c", f"from {GATEWAY_CLI_MODULE} import main; raise SystemExit(main())"]


def offline_gateway(
    directory: Path, item_ids: list[str], schema_builder: Callable[..., Any]
) -> Starlette:
    """The gateway's app with its schema from `schema_builder`, on a small catalog of
    `item_ids` written to `directory` and an ARN it never calls (bench/graphql_cpu.py replaces
    the ports)."""
    from unittest import mock

    import gateway.http.app
    from gateway.catalog.load import load_catalog as load
    from gateway.settings import Settings
    from gateway.wiring import LOCAL_CREDENTIALS

    items = directory / "items.csv"
    items.write_text("ITEM_ID,TITLE\n" + "".join(f"{item},{item}\n" for item in item_ids))
    load(items, directory / "catalog.db")
    settings = Settings(
        catalog_path=directory / "catalog.db",
        recommendations_arn="arn:aws:personalize:us-east-1:000000000000:campaign/bench",
        personalize_endpoint_url="http://127.0.0.1:9",
        graphiql=False,
    )
    with mock.patch.object(gateway.http.app, "build_schema", schema_builder):
        return gateway.http.app.create_app(settings, credentials=LOCAL_CREDENTIALS)


def settings_check() -> list[str]:
    """`python -c` arguments that exit 0 when the gateway accepts its environment's settings."""
    return ["-c", "from gateway.settings import Settings; Settings()"]
