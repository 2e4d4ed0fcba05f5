"""The Lambda bundle, built by scripts/package-lambda from PyPI's wheels, serves a request when
unpacked alone: a clean interpreter, only the bundle on its path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.bundle import (
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    ROOT,
    BundleError,
    check_fits,
    invoke_unpacked,
    unpack,
)
from gateway.catalog.load import load_catalog_to
from gateway.catalog.source import DynamoDBSource
from gateway.settings import Settings
from tests.catalog_servers import dynamodb_server
from tests.gateway import lambda_events
from tests.gateway.conftest import Store

PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"
QUERY = '{ recommendations(userId: "u-02", numResults: 4) { items { itemId item { title } } } }'


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The zip for this interpreter's Python, built once a session by the script itself."""
    output = tmp_path_factory.mktemp("dist") / "personalize-gateway-lambda.zip"
    result = subprocess.run(
        [str(ROOT / "scripts" / "package-lambda"), "--python", PYTHON, "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith(f"{output}: "), result.stdout
    return output


@pytest.fixture(scope="session")
def unpacked(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle unpacked into an empty directory, as Lambda does into /var/task."""
    directory = tmp_path_factory.mktemp("task")
    unpack(bundle, directory)
    return directory


def function_environment(settings: Settings) -> dict[str, str]:
    """What a function's environment holds: its settings and the role's keys, nothing else."""
    assert settings.personalize_endpoint_url is not None
    assert settings.recommendations_arn is not None
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEWAY_PERSONALIZE_ENDPOINT_URL": settings.personalize_endpoint_url,
        "GATEWAY_RECOMMENDATIONS_ARN": settings.recommendations_arn,
        "GATEWAY_CATALOG_PATH": str(settings.catalog_path),
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def test_unpacked_bundle_serves_an_http_api_event_alone(
    unpacked: Path, settings: Settings, store: Store
) -> None:
    event = lambda_events.http_v2(
        "POST",
        "/graphql",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"query": QUERY}).encode(),
    )

    answer = invoke_unpacked(unpacked, event, function_environment(settings))

    response: dict[str, Any] = answer["response"]
    assert response["statusCode"] == 200, response
    items = json.loads(response["body"])["data"]["recommendations"]["items"]
    assert len(items) == 4, items
    for item in items:
        assert item["item"]["title"] == store.titles[item["itemId"]], item


def test_unpacked_bundle_reads_a_dynamodb_catalog(
    unpacked: Path, settings: Settings, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = function_environment(settings)
    del environment["GATEWAY_CATALOG_PATH"]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, environment[name])
    event = lambda_events.http_v2(
        "POST",
        "/graphql",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"query": QUERY}).encode(),
    )
    with dynamodb_server() as endpoint:
        load_catalog_to(
            DynamoDBSource("items", "us-east-1", endpoint), store.directory / "items.csv"
        )
        environment["GATEWAY_CATALOG_URL"] = (
            f"dynamodb://items?region=us-east-1&endpoint_url={endpoint}"
        )

        answer = invoke_unpacked(unpacked, event, environment)

    response: dict[str, Any] = answer["response"]
    assert response["statusCode"] == 200, response
    body = json.loads(response["body"])
    assert "errors" not in body, body
    items = body["data"]["recommendations"]["items"]
    assert len(items) == 4, items
    for item in items:
        assert item["item"]["title"] == store.titles[item["itemId"]], item


def test_unpacked_bundle_loads_nothing_of_the_local_personalize(
    unpacked: Path, settings: Settings
) -> None:
    answer = invoke_unpacked(
        unpacked, lambda_events.http_v2("GET", "/healthz"), function_environment(settings)
    )

    assert answer["response"]["statusCode"] == 200, answer["response"]
    loaded = {name.split(".")[0] for name in answer["modules"]}
    assert loaded & {"emulator", "numpy", "scipy", "uvicorn"} == set(), loaded


def test_bundle_carries_only_the_gateway_and_its_dependencies(unpacked: Path) -> None:
    present = {path.name for path in unpacked.iterdir()}

    assert {"gateway", "schema", "mangum", "aiobotocore"} <= present, sorted(present)
    assert present & {"emulator", "numpy", "scipy", "uvicorn", "tests"} == set(), sorted(present)


@pytest.mark.parametrize(
    ("zipped", "unzipped"),
    [(MAX_ZIPPED_BYTES + 1, 0), (0, MAX_UNZIPPED_BYTES + 1)],
    ids=["zipped", "unzipped"],
)
def test_bundle_just_over_a_lambda_limit_is_refused(zipped: int, unzipped: int) -> None:
    with pytest.raises(BundleError, match="over"):
        check_fits(zipped, unzipped)


def test_bundle_at_the_lambda_limits_fits() -> None:
    check_fits(MAX_ZIPPED_BYTES, MAX_UNZIPPED_BYTES)
