"""The Lambda handler, invoked in-process with each front door's events, against the local
Personalize over loopback with the real aiobotocore clients."""

from __future__ import annotations

import base64
import contextlib
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
from aiobotocore.session import AioSession
from starlette.applications import Starlette

from gateway import lambda_handler
from gateway.http.app import create_app
from gateway.http.graphiql import STATIC_DIRECTORY
from gateway.lambda_handler import (
    MAX_RESPONSE_BYTES,
    LambdaGateway,
    handler,
    settings_for_lambda,
)
from gateway.settings import ConfigurationError, Settings
from tests.gateway import lambda_events
from tests.gateway.conftest import Store

QUERY = '{ recommendations(userId: "u-01", numResults: 3) { items { itemId item { title } } } }'
ORIGIN = "https://shop.example.com"


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """The variables a deployed function has: the gateway's settings and the role's keys."""
    variables = {
        "GATEWAY_PERSONALIZE_ENDPOINT_URL": settings.personalize_endpoint_url,
        "GATEWAY_RECOMMENDATIONS_ARN": settings.recommendations_arn,
        "GATEWAY_RELATED_ITEMS_ARN": settings.related_items_arn,
        "GATEWAY_RANKING_ARN": settings.ranking_arn,
        "GATEWAY_FILTERS": json.dumps(settings.filters),
        "GATEWAY_CATALOG_PATH": str(settings.catalog_path),
        "GATEWAY_MAX_ATTEMPTS": "1",
        "GATEWAY_CORS_ORIGINS": ORIGIN,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
    }
    for name, value in variables.items():
        assert value is not None, name
        monkeypatch.setenv(name, value)


@pytest.fixture
def created_clients(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many aiobotocore clients were created, by service."""
    created: Counter[str] = Counter()
    create_client = AioSession.create_client

    def counting(self: AioSession, service_name: str, *args: Any, **kwargs: Any) -> Any:
        created[service_name] += 1
        return create_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(AioSession, "create_client", counting)
    return created


@pytest.fixture
def open_lambda(lambda_environment: None) -> Iterator[Callable[..., LambdaGateway]]:
    """Starts an execution environment from the environment variables; closes them all after."""
    opened: list[LambdaGateway] = []

    def open_(**variables: str) -> LambdaGateway:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in variables.items():
                patch.setenv(name, value)
            gateway = LambdaGateway(create_app(settings_for_lambda()))
        opened.append(gateway)
        return gateway

    yield open_
    for gateway in opened:
        gateway.close()


@pytest.fixture
def environment(open_lambda: Callable[..., LambdaGateway]) -> LambdaGateway:
    return open_lambda()


def graphql_body(query: str = QUERY, **variables: Any) -> bytes:
    return json.dumps({"query": query, "variables": variables}).encode()


def body_of(response: dict[str, Any]) -> bytes:
    body: str = response["body"]
    return base64.b64decode(body) if response["isBase64Encoded"] else body.encode()


def assert_recommendations(response: dict[str, Any], store: Store) -> None:
    assert response["statusCode"] == 200, response
    items = json.loads(body_of(response))["data"]["recommendations"]["items"]
    assert len(items) == 3, items
    for item in items:
        assert item["item"]["title"] == store.titles[item["itemId"]], item


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            lambda_events.rest_v1("POST", "/graphql", headers=JSON, body=graphql_body()),
            id="rest-v1",
        ),
        pytest.param(
            lambda_events.http_v2("POST", "/graphql", headers=JSON, body=graphql_body()),
            id="http-v2",
        ),
        pytest.param(
            lambda_events.http_v2(
                "POST", "/graphql", stage="prod", headers=JSON, body=graphql_body()
            ),
            id="http-v2-named-stage",
        ),
        pytest.param(
            lambda_events.function_url(
                "POST", "/graphql", headers=JSON, body=graphql_body(), base64_encoded=True
            ),
            id="function-url-base64",
        ),
        pytest.param(
            lambda_events.alb("POST", "/graphql", headers=JSON, body=graphql_body()), id="alb"
        ),
        pytest.param(
            lambda_events.alb(
                "POST",
                "/graphql",
                headers=JSON,
                body=graphql_body(),
                base64_encoded=True,
                multi_value=True,
            ),
            id="alb-multi-value-base64",
        ),
    ],
)
def test_handler_answers_a_post_from_each_front_door(
    environment: LambdaGateway, store: Store, event: dict[str, Any]
) -> None:
    response = environment(event, None)

    assert_recommendations(response, store)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            lambda_events.rest_v1("GET", "/graphql", query={"query": QUERY}), id="rest-v1"
        ),
        pytest.param(
            lambda_events.http_v2("GET", "/graphql", query=f"query={quote(QUERY)}"), id="http-v2"
        ),
        pytest.param(
            lambda_events.function_url("GET", "/graphql", query=f"query={quote(QUERY)}"),
            id="function-url",
        ),
        pytest.param(lambda_events.alb("GET", "/graphql", query={"query": QUERY}), id="alb"),
    ],
)
def test_handler_answers_a_cacheable_get_from_each_front_door(
    environment: LambdaGateway, store: Store, event: dict[str, Any]
) -> None:
    response = environment(event, None)

    assert_recommendations(response, store)
    assert response["headers"]["etag"].startswith('"'), response["headers"]


def test_handler_answers_a_cors_preflight(environment: LambdaGateway) -> None:
    event = lambda_events.http_v2(
        "OPTIONS",
        "/graphql",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    response = environment(event, None)

    assert response["statusCode"] == 200, response
    assert response["headers"]["access-control-allow-origin"] == ORIGIN, response["headers"]


def test_handler_adds_cors_headers_to_an_answer(environment: LambdaGateway, store: Store) -> None:
    event = lambda_events.rest_v1(
        "POST", "/graphql", headers=JSON | {"Origin": ORIGIN}, body=graphql_body()
    )

    response = environment(event, None)

    assert_recommendations(response, store)
    assert response["headers"]["access-control-allow-origin"] == ORIGIN, response["headers"]


def test_handler_answers_health_checks_under_the_stage(environment: LambdaGateway) -> None:
    response = environment(lambda_events.rest_v1("GET", "/healthz", stage="prod"), None)

    assert response["statusCode"] == 200, response
    assert json.loads(response["body"]) == {"status": "ok"}, response


def test_handler_serves_graphiql_and_its_assets_under_the_stage(
    open_lambda: Callable[..., LambdaGateway],
) -> None:
    environment = open_lambda(GATEWAY_GRAPHIQL="true")
    page = environment(
        lambda_events.rest_v1("GET", "/graphql", stage="prod", headers={"Accept": "text/html"}),
        None,
    )
    assert page["statusCode"] == 200, page
    script = next(
        line.split('"')[1] for line in page["body"].splitlines() if "graphiql.min.js" in line
    )
    assert script.startswith("/prod/graphiql-static/graphiql.min.js?v="), script
    path, _, version = script.removeprefix("/prod").partition("?v=")

    asset = environment(
        lambda_events.rest_v1("GET", path, stage="prod", query={"v": version}), None
    )

    assert asset["statusCode"] == 200, asset
    assert "javascript" in asset["headers"]["content-type"], asset["headers"]
    assert body_of(asset) == (STATIC_DIRECTORY / "graphiql.min.js").read_bytes()


def test_handler_answers_an_oversized_response_with_a_clear_error(
    open_lambda: Callable[..., LambdaGateway],
) -> None:
    # 50 rankings of 500 items with 256-character ids: about 6.6 MB of JSON.
    environment = open_lambda(
        GATEWAY_MAX_QUERY_ALIASES="50", GATEWAY_MAX_UPSTREAM_CALLS_PER_REQUEST="50"
    )
    items = [f"{index:03d}".ljust(256, "x") for index in range(500)]
    fields = " ".join(
        f"r{index}: ranking(userId: $user, items: $items) {{ items {{ itemId }} }}"
        for index in range(50)
    )
    query = f"query Big($user: ID!, $items: [ID!]!) {{ {fields} }}"
    event = lambda_events.http_v2(
        "POST",
        "/graphql",
        headers=JSON | {"Origin": ORIGIN},
        body=graphql_body(query, user="u-01", items=items),
    )

    response = environment(event, None)

    assert response["statusCode"] == 500, response["statusCode"]
    error = json.loads(response["body"])["errors"][0]
    assert error["extensions"]["code"] == "RESPONSE_TOO_LARGE", error
    assert f"limit of {MAX_RESPONSE_BYTES:,} bytes" in error["message"], error
    assert response["headers"]["access-control-allow-origin"] == ORIGIN, response["headers"]
    assert len(json.dumps(response)) < 1000, len(json.dumps(response))


def test_handler_keeps_a_response_at_the_limit(
    lambda_environment: None, environment: LambdaGateway, store: Store
) -> None:
    event = lambda_events.http_v2("POST", "/graphql", headers=JSON, body=graphql_body())
    size = len(json.dumps(environment(event, None)))
    at_limit = LambdaGateway(create_app(settings_for_lambda()), max_response_bytes=size)
    try:
        response = at_limit(event, None)
    finally:
        at_limit.close()

    assert_recommendations(response, store)


def test_lifespan_runs_once_per_execution_environment(
    lambda_environment: None, store: Store
) -> None:
    app = create_app(settings_for_lambda())
    entered: list[str] = []
    lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def counted(app: Starlette) -> AsyncIterator[Any]:
        entered.append("start")
        async with lifespan(app) as state:
            yield state
        entered.append("stop")

    app.router.lifespan_context = counted
    environment = LambdaGateway(app)
    event = lambda_events.http_v2("POST", "/graphql", headers=JSON, body=graphql_body())
    try:
        for _ in range(3):
            assert_recommendations(environment(event, None), store)
        assert entered == ["start"], entered
    finally:
        environment.close()

    assert entered == ["start", "stop"], entered


@pytest.fixture
def module_handler(lambda_environment: None, restore_logging: None) -> Iterator[None]:
    """The module's own `handler`, started afresh and closed after, as in a new environment."""
    lambda_handler.close()
    yield
    lambda_handler.close()


def test_two_invocations_create_the_personalize_clients_once(
    module_handler: None, created_clients: Counter[str], store: Store
) -> None:
    event = lambda_events.http_v2("POST", "/graphql", headers=JSON, body=graphql_body())

    assert_recommendations(handler(event, None), store)
    assert_recommendations(handler(event, None), store)

    assert created_clients == {"personalize-runtime": 1, "personalize-events": 1}, created_clients


def test_handler_refuses_buffered_events(
    module_handler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_EVENTS_DELIVERY", "buffered")
    event = lambda_events.http_v2("GET", "/healthz")

    with pytest.raises(ConfigurationError, match=r"GATEWAY_EVENTS_DELIVERY=buffered does not"):
        handler(event, None)


def test_handler_names_the_variable_of_a_bad_setting(
    module_handler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "-1")

    with pytest.raises(ConfigurationError) as caught:
        handler(lambda_events.http_v2("GET", "/healthz"), None)

    assert str(caught.value) == (
        "invalid configuration\nGATEWAY_READ_TIMEOUT: Input should be greater than 0"
    ), str(caught.value)
