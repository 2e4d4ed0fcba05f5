"""`python -m bench.observability`: the CPU that metrics and traces cost per standard query.

Three copies of the gateway's app run in this process (bench/in_process.py) against the local
Personalize (a process of its own, so its CPU is not counted) and a SQLite catalog: `off`
(no metrics, no traces: the default), `metrics` (GATEWAY_METRICS=true) and `tracing`
(GATEWAY_OTEL_ENABLED=true, every trace sampled, OTLP/HTTP to a sink process on loopback, the
SDK's batch exporter serialising in this process). Rounds alternate between them so that a
noisy neighbour hurts all three alike; each figure is the median of the rounds of this
process's CPU time per query (client side included, the same for all three).

    python -m bench.observability [--queries 300] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench.in_process import OpenApp, Upstream, local_personalize, open_app, say
from bench.processes import (
    child_env,
    free_port,
    get_json,
    python_command,
    spawned,
    wait_ready,
)
from gateway.catalog.load import load_catalog
from gateway.tracing import build_tracing

VARIANTS = ("off", "metrics", "tracing")
_SINK = """
import http.server, sys
posts = 0
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global posts
        self.rfile.read(int(self.headers.get("content-length", 0)))
        posts += 1
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def do_GET(self):
        body = str(posts).encode()
        self.send_response(200); self.send_header("content-length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


@contextlib.contextmanager
def otlp_sink(work: Path) -> Iterator[str]:
    """An OTLP/HTTP endpoint on loopback that takes spans and drops them (GET answers how
    many exports it took); its traces URL."""
    port = free_port()
    command = python_command("-c", _SINK, str(port))
    with spawned(
        "the OTLP sink",
        command,
        port=port,
        log=work / "sink.log",
        env=child_env({}),
        cores=None,
        ready_path="/",
    ) as sink:
        wait_ready(sink)
        yield f"{sink.base_url}/v1/traces"


async def cpu_per_query(app: OpenApp, users: list[str], queries: int, offset: int) -> float:
    """This process's CPU microseconds per standard query, over `queries` of them."""
    started = time.process_time()
    for number in range(queries):
        answer = await app.standard_query(users[(offset + number * 7919) % len(users)])
        if "errors" in answer:
            raise RuntimeError(f"the standard query failed: {answer['errors']}")
    return (time.process_time() - started) / queries * 1e6


async def measure(
    upstream: Upstream, catalog: Path, endpoint: str, queries: int, rounds: int
) -> dict[str, list[float]]:
    settings = upstream.settings(catalog_path=catalog)
    tracing = build_tracing(
        service_name="bench", sampling_ratio=1.0, endpoint=endpoint, exporter=None
    )
    figures: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    async with contextlib.AsyncExitStack() as stack:
        apps = {
            "off": await stack.enter_async_context(open_app(settings)),
            "metrics": await stack.enter_async_context(
                open_app(settings.model_copy(update={"metrics": True}))
            ),
            "tracing": await stack.enter_async_context(
                open_app(settings.model_copy(update={"otel_enabled": True}), tracing)
            ),
        }
        for variant, expected in (("off", 404), ("metrics", 200)):
            status = (await apps[variant].client.get("/metrics")).status_code
            if status != expected:
                raise RuntimeError(f"{variant}: GET /metrics answered {status}, not {expected}")
        for variant in VARIANTS:  # warm up: connections, documents, the exporter
            await cpu_per_query(apps[variant], upstream.users, max(queries // 10, 1), 0)
        for number in range(rounds):
            say(f"round {number + 1} of {rounds} ...")
            order = VARIANTS if number % 2 == 0 else tuple(reversed(VARIANTS))
            for variant in order:
                offset = number * queries
                figures[variant].append(
                    await cpu_per_query(apps[variant], upstream.users, queries, offset)
                )
    tracing.provider.shutdown()  # the last spans are sent before the sink is asked
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.observability", description=__doc__)
    parser.add_argument("--queries", type=int, default=300, help="queries per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per variant (median)")
    parser.add_argument("--data", type=Path, help="Personalize CSVs (default: the sample store)")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-observability-") as scratch:
        work = Path(scratch)
        with local_personalize(work, options.data) as upstream, otlp_sink(work) as endpoint:
            catalog = work / "catalog.db"
            load_catalog(upstream.data_dir / "items.csv", catalog)
            figures = asyncio.run(
                measure(upstream, catalog, endpoint, options.queries, options.rounds)
            )
            if get_json(endpoint) == 0:
                raise RuntimeError("tracing: no span reached the OTLP sink")
    baseline = statistics.median(figures["off"])
    print(
        f"CPU µs per standard query in process, median (min-max) of {options.rounds} "
        f"interleaved rounds of {options.queries}"
    )
    for variant in VARIANTS:
        rounds = figures[variant]
        median = statistics.median(rounds)
        print(
            f"{variant:8} {median:7.0f} ({min(rounds):5.0f}-{max(rounds):5.0f})"
            f"  {median - baseline:+6.0f} µs  {100 * (median - baseline) / baseline:+5.1f} %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
