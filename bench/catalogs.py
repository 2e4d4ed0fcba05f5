"""`python -m bench.catalogs`: catalog round trips per query, and latency, for each source.

The standard query runs through the gateway's app in this process (bench/in_process.py)
against the local Personalize, with its catalog in each source the machine can run, each
filled from the same items CSV by `catalog load` (or serving it): SQLite; DynamoDB on moto's
server; PostgreSQL, a throwaway cluster of Debian's package; a product API (a small service on
loopback, `GET ?ids=`); and `personalize:`, where the details come with Personalize's answer.
Round trips are counted at the source's adapter (the product API: at the service); a source
that cannot run here is reported as such. The latency is the whole query's, one at a time, so
it includes the Personalize call; the difference between sources is the catalog's.

    python -m bench.catalogs [--queries 300] [--seconds 20] [--sources sqlite,dynamodb,...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.in_process import OpenApp, Upstream, local_personalize, open_app, say
from gateway.catalog.load import load_catalog_to
from gateway.catalog.source import DynamoDBSource, PostgresqlSource, SqliteSource
from tests.catalog_servers import dynamodb_server, postgres_server
from tests.gateway.catalog.product_service import ProductService
from tests.servers import serve

SOURCES = ("sqlite", "dynamodb", "postgresql", "product-api", "personalize")
REGION = "us-east-1"


@dataclass
class Source:
    settings: dict[str, Any]
    lookups: Callable[[OpenApp], int]


def _adapter_lookups(app: OpenApp) -> int:
    return int(app.state["catalog"].round_trips)


@contextlib.contextmanager
def source_of(name: str, items_csv: Path, work: Path) -> Iterator[Source]:
    """The catalog `name`, filled from `items_csv`, for as long as the block runs."""
    if name == "sqlite":
        path = work / "catalog.db"
        load_catalog_to(SqliteSource(path), items_csv)
        yield Source({"catalog_url": f"sqlite:///{path}"}, _adapter_lookups)
    elif name == "dynamodb":
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        with dynamodb_server() as endpoint:
            load_catalog_to(DynamoDBSource("items", REGION, endpoint), items_csv)
            url = f"dynamodb://items?region={REGION}&endpoint_url={endpoint}"
            yield Source({"catalog_url": url}, _adapter_lookups)
    elif name == "postgresql":
        with postgres_server() as url:
            load_catalog_to(PostgresqlSource(url, "items"), items_csv)
            yield Source({"catalog_url": f"{url}?table=items"}, _adapter_lookups)
    elif name == "product-api":
        service = ProductService(items_csv)
        with serve(service.app) as base_url:
            settings = {
                "catalog_url": f"{base_url}/products",
                "catalog_items_path": "data.products",
            }
            yield Source(settings, lambda app: service.requests)
    elif name == "personalize":
        yield Source({"catalog_url": "personalize:"}, _adapter_lookups)
    else:
        raise ValueError(f"unknown source {name}")


@dataclass(frozen=True)
class Figures:
    queries: int
    round_trips: float
    p50_ms: float
    p99_ms: float
    items_found: float  # items with details per query, to show the answers are whole


async def measure(upstream: Upstream, source: Source, queries: int, seconds: float) -> Figures:
    async with open_app(upstream.settings(**source.settings)) as app:
        await app.standard_query(upstream.users[0])  # warm up: connections, the document
        before = source.lookups(app)
        timings: list[float] = []
        found = 0
        stop_at = time.monotonic() + seconds
        for number in range(queries):
            if time.monotonic() > stop_at:
                break
            user = upstream.users[(number * 7919) % len(upstream.users)]
            started = time.perf_counter()
            answer = await app.standard_query(user)
            timings.append(time.perf_counter() - started)
            if "errors" in answer:
                raise RuntimeError(f"the standard query failed: {answer['errors']}")
            items = answer["data"]["recommendations"]["items"]
            found += sum(1 for item in items if item["item"] is not None)
        lookups = source.lookups(app) - before
    timings.sort()
    count = len(timings)
    return Figures(
        queries=count,
        round_trips=lookups / count,
        p50_ms=statistics.median(timings) * 1000,
        p99_ms=timings[min(count - 1, int(count * 0.99))] * 1000,
        items_found=found / count,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalogs", description=__doc__)
    parser.add_argument("--queries", type=int, default=300, help="queries per source")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most, per source")
    parser.add_argument("--data", type=Path, help="Personalize CSVs (default: the sample store)")
    parser.add_argument(
        "--sources",
        default=",".join(SOURCES),
        help=f"comma list of {', '.join(SOURCES)} (default: all)",
    )
    options = parser.parse_args(argv)
    names = [name.strip() for name in options.sources.split(",") if name.strip()]
    unknown = sorted(set(names) - set(SOURCES))
    if unknown:
        parser.error(f"unknown source {', '.join(unknown)}")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server: a line a call
    results: dict[str, Figures | str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-catalogs-") as scratch:
        work = Path(scratch)
        with local_personalize(work, options.data) as upstream:
            items_csv = upstream.data_dir / "items.csv"
            for name in names:
                say(f"{name}: filling the catalog and running the standard query ...")
                directory = work / name
                directory.mkdir()
                try:
                    with source_of(name, items_csv, directory) as source:
                        results[name] = asyncio.run(
                            measure(upstream, source, options.queries, options.seconds)
                        )
                except (pytest.skip.Exception, pytest.fail.Exception) as missing:
                    results[name] = f"not available here: {missing.msg}"
    print(
        "The standard query (25 recommendations x 5 item fields), one at a time, in process, "
        "against the local Personalize"
    )
    print(
        f"{'source':12} {'queries':>7} {'round trips/query':>17} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'items/query':>11}"
    )
    for name, figures in results.items():
        if isinstance(figures, str):
            print(f"{name:12} {figures}")
        else:
            print(
                f"{name:12} {figures.queries:7d} {figures.round_trips:17.2f} "
                f"{figures.p50_ms:7.2f} {figures.p99_ms:7.2f} {figures.items_found:11.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
