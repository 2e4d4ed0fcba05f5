"""The benchmark's baseline: the standard query served the way Strawberry's docs write it.

The same types and fields as the gateway for `recommendations { items { itemId score item } }`,
with resolvers that do the work themselves: `recommendations` calls aiobotocore directly, opening
a new personalize-runtime client for every request as the original Lambda did, and each `item`
runs its own aiosqlite query (no DataLoader). `BENCH_PLAIN_CLIENT=shared` keeps one client for
the app's life instead, to separate the cost of the client from the cost of the lookups.

    uvicorn --factory bench.plain:create_app    # BENCH_PLAIN_* variables, read when built
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import aiosqlite
import strawberry
from aiobotocore.session import AioSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.scalars import JSON

ClientMode = Literal["per-request", "shared"]
CLIENT_MODES: tuple[ClientMode, ...] = ("per-request", "shared")
REGION = "us-east-1"
ENV_ENDPOINT_URL = "BENCH_PLAIN_ENDPOINT_URL"
ENV_CAMPAIGN_ARN = "BENCH_PLAIN_CAMPAIGN_ARN"
ENV_CATALOG_PATH = "BENCH_PLAIN_CATALOG_PATH"
ENV_CLIENT = "BENCH_PLAIN_CLIENT"
_ITEM_QUERY = (
    "SELECT id, title, description, image_url, price, category, attributes FROM items WHERE id = ?"
)


@dataclass(frozen=True, slots=True)
class PlainConfig:
    """Where the baseline finds the local Personalize and the catalog, passed in the environment."""

    endpoint_url: str
    campaign_arn: str
    catalog_path: Path
    client: ClientMode = "per-request"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PlainConfig:
        """Read the BENCH_PLAIN_* variables; a missing one is named in the error."""
        environ = os.environ if environ is None else environ
        missing = [
            name
            for name in (ENV_ENDPOINT_URL, ENV_CAMPAIGN_ARN, ENV_CATALOG_PATH)
            if not environ.get(name)
        ]
        if missing:
            raise RuntimeError(f"bench.plain needs {', '.join(missing)} in the environment")
        client = environ.get(ENV_CLIENT, "per-request")
        if client not in CLIENT_MODES:
            raise RuntimeError(
                f"{ENV_CLIENT}={client!r}: expected one of {', '.join(CLIENT_MODES)}"
            )
        return cls(
            endpoint_url=environ[ENV_ENDPOINT_URL],
            campaign_arn=environ[ENV_CAMPAIGN_ARN],
            catalog_path=Path(environ[ENV_CATALOG_PATH]),
            client="shared" if client == "shared" else "per-request",
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make `from_env` build this config in a server process."""
        return {
            ENV_ENDPOINT_URL: self.endpoint_url,
            ENV_CAMPAIGN_ARN: self.campaign_arn,
            ENV_CATALOG_PATH: str(self.catalog_path),
            ENV_CLIENT: self.client,
        }


@dataclass(frozen=True, slots=True)
class PlainContext:
    """What the resolvers reach: the config, the session, the catalog connection."""

    config: PlainConfig
    session: AioSession
    db: aiosqlite.Connection
    client: Any = None  # the shared client, when BENCH_PLAIN_CLIENT=shared


@strawberry.type
class Item:
    id: strawberry.ID
    title: str | None
    description: str | None
    image_url: str | None
    price: float | None
    category: str | None
    attributes: JSON | None


@strawberry.enum
class RecommendationSource(enum.Enum):
    PERSONALIZE = "PERSONALIZE"
    FALLBACK = "FALLBACK"


@strawberry.type
class RecommendedItem:
    item_id: strawberry.ID
    score: float | None
    promotion_name: str | None
    reasons: list[str]

    @strawberry.field
    async def item(self, info: strawberry.Info[PlainContext, None]) -> Item | None:
        return await fetch_item(info.context.db, self.item_id)


@strawberry.type
class RecommendationList:
    recommendation_id: str | None
    items: list[RecommendedItem]
    source: RecommendationSource


@strawberry.type
class Query:
    @strawberry.field
    async def recommendations(
        self,
        info: strawberry.Info[PlainContext, None],
        user_id: strawberry.ID,
        num_results: int = 25,
    ) -> RecommendationList:
        response = await fetch_recommendations(info.context, user_id, num_results)
        return RecommendationList(
            recommendation_id=response.get("recommendationId"),
            items=[
                RecommendedItem(
                    item_id=strawberry.ID(entry["itemId"]),
                    score=entry.get("score"),
                    promotion_name=entry.get("promotionName"),
                    reasons=list(entry.get("reason", [])),
                )
                for entry in response.get("itemList", [])
            ],
            source=RecommendationSource.PERSONALIZE,
        )


schema = strawberry.Schema(query=Query)


async def fetch_recommendations(
    context: PlainContext, user_id: str, num_results: int
) -> dict[str, Any]:
    """Personalize's GetRecommendations answer, through a client made for this call (or shared)."""
    params = {
        "campaignArn": context.config.campaign_arn,
        "userId": user_id,
        "numResults": num_results,
    }
    if context.client is not None:
        shared: dict[str, Any] = await context.client.get_recommendations(**params)
        return shared
    async with _create_client(context.session, context.config) as client:
        response: dict[str, Any] = await client.get_recommendations(**params)
    return response


async def fetch_item(db: aiosqlite.Connection, item_id: str) -> Item | None:
    """One catalog row by id, in its own query."""
    async with db.execute(_ITEM_QUERY, (item_id,)) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    id_, title, description, image_url, price, category, attributes = row
    return Item(
        id=strawberry.ID(id_),
        title=title,
        description=description,
        image_url=image_url,
        price=price,
        category=category,
        attributes=JSON(json.loads(attributes)),
    )


def _create_client(session: AioSession, config: PlainConfig) -> Any:
    return session.create_client(
        "personalize-runtime",
        region_name=REGION,
        endpoint_url=config.endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class State(TypedDict):
    """The lifespan's resources, read by `get_context` from `request.state`."""

    session: AioSession
    db: aiosqlite.Connection
    client: Any


class PlainGraphQL(GraphQL[PlainContext, None]):
    def __init__(self, config: PlainConfig) -> None:
        super().__init__(schema, graphql_ide=None)
        self.config = config

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> PlainContext:
        state = request.state
        return PlainContext(self.config, state.session, state.db, state.client)


def create_app() -> Starlette:
    """The baseline app, configured from the BENCH_PLAIN_* variables."""
    config = PlainConfig.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        session = AioSession()
        async with contextlib.AsyncExitStack() as stack:
            db = await stack.enter_async_context(aiosqlite.connect(config.catalog_path))
            client = None
            if config.client == "shared":
                client = await stack.enter_async_context(_create_client(session, config))
            yield State(session=session, db=db, client=client)

    return Starlette(routes=[Route("/graphql", PlainGraphQL(config))], lifespan=lifespan)
