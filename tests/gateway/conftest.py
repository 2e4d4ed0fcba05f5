"""A small store in Personalize's CSV formats, the local Personalize trained on it, and the app.

The gateway runs with the real aiobotocore clients against the running local Personalize over
loopback; only the HTTP client side is in-process (httpx's ASGI transport), inside the app's
real lifespan.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from emulator import LocalPersonalize, start_local_personalize
from gateway.catalog.load import load_catalog
from gateway.http.app import GatewayState, create_app
from gateway.http.request_id import RequestIdLogFilter
from gateway.settings import Settings
from gateway.wiring import LOCAL_CREDENTIALS

CATEGORIES = {
    "shoes": ("Trail Runner", "Court Sneaker", "Loafer", "Sandal", "Hiking Shoe"),
    "hats": ("Wool Beanie", "Sun Hat", "Baseball Cap", "Fedora", "Bucket Hat"),
    "bags": ("Tote", "Backpack", "Duffel", "Messenger Bag", "Weekender"),
}
COLOURS = ("Red", "Blue", "Green", "Black")
ITEM_COUNT = 60
USER_COUNT = 30
START_TIME = 1_700_000_000


@dataclass(frozen=True)
class Store:
    """The small store's files and what tests need to know about them."""

    directory: Path
    catalog_path: Path
    titles: dict[str, str]  # item id -> title
    user_ids: list[str]
    item_ids: list[str]


@dataclass
class Gateway:
    """The app inside its lifespan, an HTTP client for it and the lifespan's state."""

    app: Starlette
    client: httpx.AsyncClient
    state: GatewayState

    async def query(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """POST a GraphQL query; the decoded JSON response."""
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        return response.json()


OpenGateway = Callable[..., AbstractAsyncContextManager[Gateway]]


def item_id(index: int) -> str:
    return f"i-{index:03d}"


def write_store(directory: Path) -> tuple[dict[str, str], list[str]]:
    """Write items.csv, users.csv and interactions.csv: users keep to one category each."""
    directory.mkdir(parents=True, exist_ok=True)
    titles: dict[str, str] = {}
    by_category: dict[str, list[str]] = {name: [] for name in CATEGORIES}
    with open(directory / "items.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ITEM_ID", "TITLE", "CATEGORY", "PRICE", "IMAGE_URL", "COLOUR"])
        for index in range(1, ITEM_COUNT + 1):
            category = list(CATEGORIES)[index % len(CATEGORIES)]
            nouns = CATEGORIES[category]
            colour = COLOURS[index % len(COLOURS)]
            title = f"{colour} {nouns[index % len(nouns)]} No. {index}"
            titles[item_id(index)] = title
            by_category[category].append(item_id(index))
            price = f"{10 + index * 1.5:.2f}"
            writer.writerow(
                [
                    item_id(index),
                    title,
                    category,
                    price,
                    f"/images/items/{item_id(index)}.svg",
                    colour,
                ]
            )
    user_ids = [f"u-{index:02d}" for index in range(1, USER_COUNT + 1)]
    with open(directory / "users.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["USER_ID", "AGE"])
        writer.writerows([user, str(20 + index)] for index, user in enumerate(user_ids))
    with open(directory / "interactions.csv", "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"])
        clock = START_TIME
        for index, user in enumerate(user_ids):
            shelf = by_category[list(CATEGORIES)[index % len(CATEGORIES)]]
            for step in range(12):
                clock += 60
                item = shelf[(index * 7 + step * 3) % len(shelf)]
                writer.writerow([user, item, clock, "purchase" if step % 5 == 4 else "view"])
    return titles, user_ids


def build_store(directory: Path) -> Store:
    """Write the small store into `directory` and build its catalog there."""
    titles, user_ids = write_store(directory)
    catalog_path = directory / "catalog.db"
    load_catalog(directory / "items.csv", catalog_path)
    return Store(directory, catalog_path, titles, user_ids, sorted(titles))


def settings_for(personalize: LocalPersonalize, catalog_path: Path, **changes: Any) -> Settings:
    """Settings for the gateway on `personalize`: every field and filter configured."""
    config = personalize.config
    return Settings(
        personalize_endpoint_url=personalize.endpoint_url,
        recommendations_arn=config.campaign_arn("user-personalization"),
        related_items_arn=config.campaign_arn("similar-items"),
        ranking_arn=config.campaign_arn("personalized-ranking"),
        filters=config.filter_arns,
        catalog_path=catalog_path,
        **changes,
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No GATEWAY_* or region variable of the developer's shell leaks into a test's Settings."""
    for name in list(os.environ):
        if name.upper().startswith("GATEWAY_") or name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="session")
def local_personalize(store: Store) -> Iterator[LocalPersonalize]:
    with start_local_personalize(store.directory) as personalize:
        yield personalize


@pytest.fixture
def personalize(local_personalize: LocalPersonalize) -> Iterator[LocalPersonalize]:
    """The shared local Personalize with its calls counted from zero; faults undone after."""
    local_personalize.stats.reset()
    yield local_personalize
    local_personalize.faults.update(
        {"latency_ms": 0.0, "jitter_ms": 0.0, "throttle_rate": 0.0, "error_rate": 0.0}
    )


@pytest.fixture
def settings(store: Store, personalize: LocalPersonalize) -> Settings:
    """Settings for the gateway on the local Personalize: every field and filter configured."""
    return settings_for(personalize, store.catalog_path, max_attempts=1)


class _RecordList(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def captured_records(logger_name: str) -> Iterator[list[logging.LogRecord]]:
    """What `logger_name` logs meanwhile, each record with its request id (as the app logs)."""
    handler = _RecordList()
    handler.addFilter(RequestIdLogFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


def with_state(app: Starlette, state: GatewayState) -> Callable[[Scope, Receive, Send], Any]:
    """The app as a server runs it: each request's scope carries a copy of the lifespan state."""

    async def serve(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return serve


@pytest.fixture
def open_gateway(settings: Settings) -> OpenGateway:
    """Opens the gateway for `settings` changed by keyword arguments, lifespan and all."""

    @asynccontextmanager
    async def open_(**changes: Any) -> AsyncIterator[Gateway]:
        app = create_app(Settings(**settings.model_dump() | changes), credentials=LOCAL_CREDENTIALS)
        async with app.router.lifespan_context(app) as opened:
            state = cast(GatewayState, opened)
            transport = httpx.ASGITransport(app=with_state(app, state))
            async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
                yield Gateway(app, client, state)

    return open_


@pytest.fixture
async def gateway(open_gateway: OpenGateway) -> AsyncIterator[Gateway]:
    async with open_gateway() as opened:
        yield opened


LOGGERS = ("gateway", "schema", "uvicorn", "uvicorn.access", "uvicorn.error", "emulator")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """The ASGI factory and the Lambda handler configure logging; other tests expect the default."""
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate)
        for name in LOGGERS
        for logger in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
