"""`python -m bench.lambda`: the Lambda bundle's size, its cold start and a warm invocation.

Builds the bundle for this interpreter's Python (or takes --bundle), unpacks it into an empty
directory as Lambda does into /var/task, starts the local Personalize on the sample store, and
in fresh isolated interpreters (only the bundle on the path) times the handler's import, the
first invocation (settings, clients, catalog, the standard query) and warm invocations.
Goals: at most 30 MiB zipped, a cold start (import + first invocation) of at most 1.5 s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench.gateway import SEED
from deploy.bundle import build, invoke_unpacked, unpack
from emulator import start_local_personalize
from emulator.sample import write_sample_dataset
from gateway.catalog.load import load_catalog

GOAL_ZIPPED_BYTES = 30 * 2**20
GOAL_COLD_START_SECONDS = 1.5
STANDARD_QUERY = (
    "query Standard($user: ID!) { recommendations(userId: $user, numResults: 25) "
    "{ items { itemId score item { title description imageUrl price category } } } }"
)


def standard_event(user: str) -> dict[str, object]:
    """The standard query as an HTTP API (payload 2.0) event."""
    body = json.dumps({"query": STANDARD_QUERY, "variables": {"user": user}})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/graphql",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "host": "bench.example.com"},
        "requestContext": {
            "http": {"method": "POST", "path": "/graphql", "sourceIp": "203.0.113.7"},
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.lambda", description=__doc__)
    parser.add_argument("--bundle", type=Path, help="a zip built for this Python (default: build)")
    parser.add_argument("--data", type=Path, help="Personalize CSVs (default: the sample store)")
    parser.add_argument("--cold", type=int, default=5, help="cold starts to time (median)")
    parser.add_argument("--warm", type=int, default=50, help="warm invocations to time")
    options = parser.parse_args(argv)
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    with tempfile.TemporaryDirectory(prefix="bench-lambda-") as scratch:
        work = Path(scratch)
        bundle = options.bundle
        if bundle is None:
            print(f"building the bundle for Python {python} ...", file=sys.stderr)
            bundle = build(work / "bundle.zip", python=python).path
        task = work / "task"
        task.mkdir()
        unpack(bundle, task)
        data = options.data
        if data is None:
            print("writing the sample store ...", file=sys.stderr)
            data = work / "sample"
            write_sample_dataset(data, seed=SEED)
        catalog = work / "catalog.db"
        load_catalog(data / "items.csv", catalog)
        print("training the local Personalize ...", file=sys.stderr)
        with start_local_personalize(data) as personalize:
            environ = {
                "GATEWAY_PERSONALIZE_ENDPOINT_URL": personalize.endpoint_url,
                "GATEWAY_RECOMMENDATIONS_ARN": personalize.config.campaign_arn(
                    "user-personalization"
                ),
                "GATEWAY_CATALOG_PATH": str(catalog),
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_CONFIG_FILE": "/dev/null",
                "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            }
            event = standard_event("u-00001")
            runs = [invoke_unpacked(task, event, environ) for _ in range(options.cold)]
            warm_run = invoke_unpacked(task, event, environ, warm_invocations=options.warm)
    status = warm_run["response"]["statusCode"]
    if status != 200:
        print(f"the handler answered {status}: {warm_run['response']}", file=sys.stderr)
        return 1
    imports = statistics.median(run["import_seconds"] for run in runs)
    firsts = statistics.median(run["first_seconds"] for run in runs)
    cold = statistics.median(run["import_seconds"] + run["first_seconds"] for run in runs)
    warm = sorted(warm_run["warm_seconds"])
    zipped = bundle.stat().st_size
    print(
        f"bundle         {zipped / 2**20:6.1f} MiB zipped"
        f"   (goal <= {GOAL_ZIPPED_BYTES / 2**20:.0f})"
    )
    print(
        f"cold start     {cold * 1000:6.0f} ms   (goal <= {GOAL_COLD_START_SECONDS * 1000:.0f};"
        f" import {imports * 1000:.0f} ms + first invocation {firsts * 1000:.0f} ms,"
        f" median of {len(runs)} fresh processes)"
    )
    print(
        f"warm           {statistics.median(warm) * 1000:6.1f} ms   median "
        f"(p90 {warm[int(len(warm) * 0.9)] * 1000:.1f} ms of {len(warm)}; standard query)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
