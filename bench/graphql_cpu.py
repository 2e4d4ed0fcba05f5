"""CPU per GraphQL request in process, with and without the document caches and the plans.

The standard benchmark query runs through `schema.execute` and through the gateway's ASGI app
(httpx's ASGITransport, the app's real lifespan) with the ports replaced by the in-memory fakes
of tests/schema/fakes.py, so only the GraphQL work is measured: no network, no Personalize, no
SQLite. Variants, interleaved round by round so that a noisy neighbour hurts them alike:
`none` (no cache), `validation` (ValidationCache only), `both` (both caches, no execution
plans: graphql-core executes) and `planned` (the schema as built: the query's plan answers).
`ports` is what the fakes themselves cost per query (the Personalize call and the item batch
through the request's loader): subtract it for the GraphQL work alone.

    python -m bench.graphql_cpu [--runs 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import strawberry
from strawberry.extensions import ParserCache, ValidationCache

from bench.instrumented import offline_gateway
from schema import DOCUMENT_CACHE_SIZE, Context, build_schema
from tests.schema.fakes import FILTERS, ITEM_IDS, FakeCatalog, FakeRecommender, catalog_item

QUERY = """
query Bench($u: ID!) {
  recommendations(userId: $u, numResults: 25) {
    items { itemId score item { title description imageUrl price category } }
  }
}
"""
VARIANTS = ("none", "validation", "both", "planned")
SchemaBuilder = Callable[..., strawberry.Schema]


def builder(variant: str) -> SchemaBuilder:
    """`build_schema`, its document caches as `variant` says."""

    def build(**options: Any) -> strawberry.Schema:
        if variant == "planned":
            return build_schema(**options)
        schema = build_schema(plan_cache_size=0, **options)
        if variant != "both":
            kept = [extension for extension in schema.extensions if not _is_cache(extension)]
            if variant == "validation":
                kept.append(partial(ValidationCache, maxsize=DOCUMENT_CACHE_SIZE))
            schema.extensions = tuple(kept)
        return schema

    return build


def _is_cache(extension: Any) -> bool:
    made = extension.func if isinstance(extension, partial) else extension
    return isinstance(made, type) and issubclass(made, (ParserCache, ValidationCache))


def fake_context() -> Context:
    """A Context over the fakes: build it once, and `dataclasses.replace` it per request.

    Building the fakes (40 catalog items) would add a tenth of a millisecond to each request
    measured; the gateway makes only a fresh Context and its loader per request.
    """
    return Context(
        recommender=FakeRecommender(item_ids=ITEM_IDS),
        catalog=FakeCatalog({item: catalog_item(item) for item in ITEM_IDS}),
        filters=FILTERS,
    )


async def schema_round(schema: strawberry.Schema, context: Context, runs: int) -> float:
    """CPU microseconds per `schema.execute` of the query, each with a fresh copy of `context`."""
    started = time.process_time()
    for n in range(runs):
        result = await schema.execute(
            QUERY, variable_values={"u": f"u-{n % 50}"}, context_value=replace(context)
        )
        if result.errors:
            raise RuntimeError(f"the benchmark query failed: {result.errors}")
    return (time.process_time() - started) / runs * 1e6


async def ports_round(context: Context, runs: int) -> float:
    """CPU microseconds per query of the fakes alone: one recommendation call of 25 items and
    their catalog batch through a fresh Context's loader, as the root field makes them."""
    started = time.process_time()
    for n in range(runs):
        fresh = replace(context)
        answer = await fresh.recommender.recommend(
            user_id=f"u-{n % 50}",
            num_results=25,
            filter=None,
            personalize_context={},
            promotion=None,
        )
        ids = [item.item_id for item in answer.items]
        await fresh.load_items(ids, [["recommendations", "items", i, "item"] for i in range(25)])
    return (time.process_time() - started) / runs * 1e6


async def app_round(client: httpx.AsyncClient, runs: int) -> float:
    """CPU microseconds per POST /graphql of the query."""
    started = time.process_time()
    for n in range(runs):
        response = await client.post(
            "/graphql", json={"query": QUERY, "variables": {"u": f"u-{n % 50}"}}
        )
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"the benchmark query failed: {response.text}")
    return (time.process_time() - started) / runs * 1e6


@contextlib.asynccontextmanager
async def app_client(variant: str, directory: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the gateway's app built with `variant`, its ports the fakes."""
    (directory / variant).mkdir()
    app = offline_gateway(directory / variant, list(ITEM_IDS), builder(variant))
    async with app.router.lifespan_context(app) as state:
        fake = fake_context()
        served = {**(state or {}), "recommender": fake.recommender, "catalog": fake.catalog}

        async def serve(scope: Any, receive: Any, send: Any) -> None:
            await app({**scope, "state": dict(served)}, receive, send)

        transport = httpx.ASGITransport(app=serve)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def measure(runs: int, rounds: int) -> dict[tuple[str, str], list[float]]:
    """CPU µs per request, per (path, variant), one figure per round."""
    figures: dict[tuple[str, str], list[float]] = {}
    schemas = {variant: builder(variant)() for variant in VARIANTS}
    context = fake_context()
    with tempfile.TemporaryDirectory() as directory:
        async with contextlib.AsyncExitStack() as stack:
            clients = {
                variant: await stack.enter_async_context(app_client(variant, Path(directory)))
                for variant in VARIANTS
            }
            for variant in VARIANTS:  # warm up
                await schema_round(schemas[variant], context, runs // 10 or 1)
                await app_round(clients[variant], runs // 10 or 1)
            for _ in range(rounds):
                figures.setdefault(("ports", "fakes"), []).append(await ports_round(context, runs))
                for variant in VARIANTS:
                    in_schema = await schema_round(schemas[variant], context, runs)
                    figures.setdefault(("schema.execute", variant), []).append(in_schema)
                    over_asgi = await app_round(clients[variant], runs)
                    figures.setdefault(("ASGI app", variant), []).append(over_asgi)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.graphql_cpu", description=__doc__)
    parser.add_argument("--runs", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per variant")
    args = parser.parse_args(argv)
    figures = asyncio.run(measure(args.runs, args.rounds))
    print(f"CPU µs per request, median (min) of {args.rounds} rounds of {args.runs} requests")
    ports = figures[("ports", "fakes")]
    print(f"{'ports':15} {'fakes':11} {statistics.median(ports):7.0f} ({min(ports):5.0f})")
    for path in ("schema.execute", "ASGI app"):
        baseline = statistics.median(figures[(path, "none")])
        for variant in VARIANTS:
            rounds = figures[(path, variant)]
            median = statistics.median(rounds)
            print(
                f"{path:15} {variant:11} {median:7.0f} ({min(rounds):5.0f})"
                f"  {100 * (median - baseline) / baseline:+5.0f} %"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
