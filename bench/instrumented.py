"""Bench-only ASGI entry points: the gateway and the plain build, metered from the outside.

    uvicorn --factory bench.instrumented:create_gateway   # GATEWAY_* settings
    uvicorn --factory bench.instrumented:create_plain     # BENCH_PLAIN_* variables

Each app counts the GraphQL requests it serves, its aiobotocore calls and catalog round trips,
and the CPU time spent in them, and answers `GET /_bench/stats` with the running totals. The
product code carries no hook: the gateway's lifespan objects (the personalize-runtime client and
the catalog) are wrapped once its lifespan has opened them; the plain build's two functions are
replaced in its module.

CPU time is attributed this way:
- aiobotocore: the process's CPU time while a call is in flight (request signing, aiohttp,
  parsing the answer; the network wait costs nothing);
- catalog: the event loop thread's CPU time inside the catalog coroutines' own steps, plus the
  CPU time of the other threads (aiosqlite's) while a catalog call is in flight.
Only with one query in flight at a time (the benchmark's sequential phase) does this CPU time
belong to those calls alone; under concurrency other requests run in the same windows.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Generic, ParamSpec, TypeVar

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATS_PATH = "/_bench/stats"
GRAPHQL_PATH = "/graphql"
PERSONALIZE_OPERATIONS = ("get_recommendations", "get_personalized_ranking")

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
        self.aiobotocore = Account()
        self.catalog = Account()
        self.round_trips: Callable[[], int] = lambda: self.catalog.calls

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

    def snapshot(self) -> dict[str, Any]:
        """The totals as JSON: queries, CPU seconds of the process and of each kind of call."""
        return {
            "queries": self.queries,
            "queries_in_flight": self.queries_in_flight,
            "cpu_s": time.process_time(),
            "aiobotocore": dataclasses.asdict(self.aiobotocore),
            "catalog": dataclasses.asdict(self.catalog),
            "catalog_round_trips": self.round_trips(),
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
    """An app under test plus `GET /_bench/stats`, counting the GraphQL requests it serves.

    `on_startup` receives the lifespan state once the app's lifespan has opened it.
    """

    def __init__(
        self,
        app: ASGIApp,
        meter: Meter,
        on_startup: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.app = app
        self.meter = meter
        self.on_startup = on_startup

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.on_startup is not None:
            await self.app(scope, receive, self._watch_startup(scope, send))
        elif scope["type"] == "http" and scope["path"] == STATS_PATH:
            await JSONResponse(self.meter.snapshot())(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == GRAPHQL_PATH:
            self.meter.queries_in_flight += 1
            try:
                await self.app(scope, receive, send)
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


def create_gateway() -> ASGIApp:
    """The gateway from `GATEWAY_*` settings with local credentials, metered."""
    from gateway.http.app import create_app
    from gateway.settings import Settings
    from gateway.wiring import LOCAL_CREDENTIALS

    meter = Meter()

    def attach(state: dict[str, Any]) -> None:
        runtime: Any = state["personalize_runtime"]
        catalog: Any = state["catalog"]
        for name in PERSONALIZE_OPERATIONS:
            setattr(runtime, name, meter.over_window(meter.aiobotocore, getattr(runtime, name)))
        catalog.get_items = meter.over_steps(meter.catalog, catalog.get_items)
        if isinstance(getattr(catalog, "round_trips", None), int):
            meter.round_trips = lambda: int(catalog.round_trips)

    app: Starlette = create_app(Settings(), credentials=LOCAL_CREDENTIALS)
    return MeteredApp(app, meter, attach)


def create_plain() -> ASGIApp:
    """The plain Strawberry build (bench/plain.py), metered."""
    from bench import plain

    meter = Meter()
    plain.fetch_recommendations = meter.over_window(meter.aiobotocore, plain.fetch_recommendations)
    plain.fetch_item = meter.over_steps(meter.catalog, plain.fetch_item)
    return MeteredApp(plain.create_app(), meter)
