"""The benchmark's plain peer: the standard query written as Strawberry's and aiobotocore's docs
show, by someone who knows them.

One aiobotocore client for the process's life, opened in the lifespan (with as many pooled
connections as the gateway and the AWS SDK keep by default); one aiosqlite connection
likewise; a Strawberry DataLoader made per request in `get_context`, so the 25 `item` fields of a
query cost one `SELECT … WHERE id IN (…)`. Nothing else: no limits, auth or fallbacks.

    uvicorn --factory bench.plain:create_app    # BENCH_PLAIN_* variables, read when built
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
import strawberry
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader

REGION = "us-east-1"
MAX_POOL_CONNECTIONS = 50  # the gateway's default and the AWS SDK v3's, instead of botocore's 10
ENV_ENDPOINT_URL = "BENCH_PLAIN_ENDPOINT_URL"
ENV_CAMPAIGN_ARN = "BENCH_PLAIN_CAMPAIGN_ARN"
ENV_CATALOG_PATH = "BENCH_PLAIN_CATALOG_PATH"


@dataclass(frozen=True, slots=True)
class PlainConfig:
    """Where the peer finds Personalize and the catalog, passed in the environment."""

    endpoint_url: str
    campaign_arn: str
    catalog_path: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PlainConfig:
        """Read the BENCH_PLAIN_* variables; a missing one is named in the error."""
        environ = os.environ if environ is None else environ
        names = (ENV_ENDPOINT_URL, ENV_CAMPAIGN_ARN, ENV_CATALOG_PATH)
        missing = [name for name in names if not environ.get(name)]
        if missing:
            raise RuntimeError(f"bench.plain needs {', '.join(missing)} in the environment")
        return cls(
            environ[ENV_ENDPOINT_URL], environ[ENV_CAMPAIGN_ARN], Path(environ[ENV_CATALOG_PATH])
        )

    def to_env(self) -> dict[str, str]:
        """The variables that make `from_env` build this config in a server process."""
        return {
            ENV_ENDPOINT_URL: self.endpoint_url,
            ENV_CAMPAIGN_ARN: self.campaign_arn,
            ENV_CATALOG_PATH: str(self.catalog_path),
        }


@strawberry.type
class Item:
    id: strawberry.ID
    title: str | None
    description: str | None
    image_url: str | None
    price: float | None
    category: str | None


@dataclass(slots=True)
class PlainContext:
    campaign_arn: str
    personalize: Any
    items: DataLoader[str, Item | None]


@strawberry.type
class RecommendedItem:
    item_id: strawberry.ID
    score: float | None

    @strawberry.field
    async def item(self, info: strawberry.Info[PlainContext, None]) -> Item | None:
        return await info.context.items.load(self.item_id)


@strawberry.type
class RecommendationList:
    recommendation_id: str | None
    items: list[RecommendedItem]


@strawberry.type
class Query:
    @strawberry.field
    async def recommendations(
        self,
        info: strawberry.Info[PlainContext, None],
        user_id: strawberry.ID,
        num_results: int = 25,
    ) -> RecommendationList:
        response = await info.context.personalize.get_recommendations(
            campaignArn=info.context.campaign_arn, userId=user_id, numResults=num_results
        )
        return RecommendationList(
            recommendation_id=response.get("recommendationId"),
            items=[
                RecommendedItem(item_id=strawberry.ID(entry["itemId"]), score=entry.get("score"))
                for entry in response.get("itemList", [])
            ],
        )


schema = strawberry.Schema(query=Query)


async def load_items(db: aiosqlite.Connection, ids: Sequence[str]) -> list[Item | None]:
    """The DataLoader's batch function: the items of `ids`, in order, in one query."""
    sql = (
        "SELECT id, title, description, image_url, price, category FROM items WHERE id IN ("
        + ",".join("?" * len(ids))
        + ")"
    )
    found = {
        id_: Item(
            id=strawberry.ID(id_),
            title=title,
            description=description,
            image_url=image_url,
            price=price,
            category=category,
        )
        for id_, title, description, image_url, price, category in await db.execute_fetchall(
            sql, ids
        )
    }
    return [found.get(item_id) for item_id in ids]


class State(TypedDict):
    """The lifespan's resources, read by `get_context` from `request.state`."""

    personalize: Any
    db: aiosqlite.Connection


class PlainGraphQL(GraphQL[PlainContext, None]):
    def __init__(self, config: PlainConfig) -> None:
        super().__init__(schema, graphql_ide=None)
        self.config = config

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> PlainContext:
        db = request.state.db

        async def load(ids: list[str]) -> list[Item | None]:
            return await load_items(db, ids)

        return PlainContext(self.config.campaign_arn, request.state.personalize, DataLoader(load))


def create_app() -> Starlette:
    """The peer app, configured from the BENCH_PLAIN_* variables."""
    config = PlainConfig.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        async with contextlib.AsyncExitStack() as stack:
            personalize = await stack.enter_async_context(
                AioSession().create_client(
                    "personalize-runtime",
                    region_name=REGION,
                    endpoint_url=config.endpoint_url,
                    aws_access_key_id="local",
                    aws_secret_access_key="local",
                    config=AioConfig(max_pool_connections=MAX_POOL_CONNECTIONS),
                )
            )
            db = await stack.enter_async_context(aiosqlite.connect(config.catalog_path))
            yield State(personalize=personalize, db=db)

    return Starlette(routes=[Route("/graphql", PlainGraphQL(config))], lifespan=lifespan)
