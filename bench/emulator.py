"""Benchmark of the local Personalize's data and model: `python -m bench.emulator`.

Writes the sample store to a temporary directory, then times generation, loading and training,
reads the resident memory, measures call latencies of the model, and the hold-out hit rates.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from starlette.types import Message, Scope

from emulator.app import EmulatorState, create_emulator_app
from emulator.config import EmulatorConfig
from emulator.dataset import load_dataset
from emulator.evaluation import hit_rates
from emulator.model import Model
from emulator.sample import write_sample_dataset

CALLS = 5_000
RANK_SIZE = 100
NUM_RESULTS = 25
SEED = 2018


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="sample-") as name:
        directory = Path(name)
        started = time.perf_counter()
        write_sample_dataset(directory, seed=SEED)
        rows.append(("sample generation", _seconds(time.perf_counter() - started), "< 5 s"))

        started = time.perf_counter()
        dataset = load_dataset(directory)
        rows.append(("dataset load", _seconds(time.perf_counter() - started), "< 2 s"))

    started = time.perf_counter()
    model = Model.train(dataset)
    rows.append(("training", _seconds(time.perf_counter() - started), "< 10 s"))
    rows.append(("resident memory after training", f"{_resident_mb():.0f} MB", "< 500 MB"))

    rng = random.Random(SEED)
    users = sorted({interaction.user_id for interaction in dataset.interactions})
    items = list(model.items)

    def recommend() -> object:
        return model.recommend(rng.choice(users), NUM_RESULTS)

    def similar() -> object:
        return model.similar(rng.choice(items), NUM_RESULTS)

    def rank() -> object:
        return model.rank(rng.choice(users), rng.sample(items, RANK_SIZE))

    for label, call in (
        (f"recommend({NUM_RESULTS})", recommend),
        (f"similar({NUM_RESULTS})", similar),
        (f"rank({RANK_SIZE} items)", rank),
    ):
        p50, p99 = _latencies(call)
        rows.append((f"{label} p50 / p99", f"{p50:.3f} / {p99:.3f} ms", "p50 < 1 ms"))

    p50, p99 = _handler_latencies(model, users, rng)
    rows.append(
        (
            "GetRecommendations handler (in-process ASGI) p50 / p99",
            f"{p50:.3f} / {p99:.3f} ms",
            "p50 < 1 ms",
        )
    )
    categories = sorted({metadata["CATEGORY"] for metadata in model.items.values() if metadata})
    p50, p99 = _handler_latencies(model, users, rng, categories)
    rows.append(
        (
            f"... with the category filter ({len(categories)} categories) p50 / p99",
            f"{p50:.3f} / {p99:.3f} ms",
            "p99 <= 1 ms",
        )
    )

    started = time.perf_counter()
    rates = hit_rates(dataset, users=1_000, k=NUM_RESULTS, seed=SEED)
    elapsed = time.perf_counter() - started
    rows.append(
        (
            f"hit@{rates.k} recommend ({rates.users} users, seen items filtered out of both)",
            f"{rates.recommend:.3f}",
            "",
        )
    )
    rows.append((f"hit@{rates.k} popular", f"{rates.popular:.3f}", ""))
    rows.append(("hit-rate ratio recommend / popular", f"{rates.ratio:.2f}", ">= 4"))
    rows.append(("evaluation (hold-out, training, 2,000 calls)", _seconds(elapsed), ""))

    print(
        f"sample: {len(dataset.items):,} items, {len(dataset.users):,} users, "
        f"{len(dataset.interactions):,} interactions"
    )
    _print_table(("measure", "value", "goal"), rows)


def _latencies(call: Callable[[], object]) -> tuple[float, float]:
    for _ in range(200):
        call()
    timings: list[float] = []
    clock = time.perf_counter
    for _ in range(CALLS):
        started = clock()
        call()
        timings.append((clock() - started) * 1_000)
    percentiles = statistics.quantiles(timings, n=100)
    return statistics.median(timings), percentiles[98]


def _handler_latencies(
    model: Model, users: list[str], rng: random.Random, categories: list[str] | None = None
) -> tuple[float, float]:
    """GetRecommendations through the emulator's ASGI app with no socket: the handler's cost,
    with the sample's `category` filter on a random category when `categories` are given."""
    config = EmulatorConfig.default()
    app = create_emulator_app(EmulatorState(config=config, model=model))
    campaign = config.campaign_arn("user-personalization")
    category_filter = config.filter_arn("category")
    loop = asyncio.new_event_loop()

    async def call() -> None:
        request: dict[str, object] = {"campaignArn": campaign, "userId": rng.choice(users)}
        if categories:
            request["filterArn"] = category_filter
            request["filterValues"] = {"CATEGORY": f'"{rng.choice(categories)}"'}
        body = json.dumps(request).encode()
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/recommendations",
            "raw_path": b"/recommendations",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8001),
        }
        await app(scope, receive, send)
        assert sent[0]["status"] == 200, sent

    try:
        return _latencies(lambda: loop.run_until_complete(call()))
    finally:
        loop.close()


def _resident_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is the peak, in KiB on Linux (bytes on macOS): a fallback, not the same measure.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _print_table(header: tuple[str, str, str], rows: list[tuple[str, str, str]]) -> None:
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(3)]
    line = "+".join("-" * (width + 2) for width in widths)
    print(f"+{line}+")
    for index, row in enumerate([header, *rows]):
        cells = " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print(f"| {cells} |")
        if index == 0:
            print(f"+{line}+")
    print(f"+{line}+")


if __name__ == "__main__":
    main()
