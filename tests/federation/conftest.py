"""A supergraph on loopback: our gateway as a subgraph (on the local Personalize), another
team's subgraph in Node owning users and stock, and Apollo Gateway composing the two."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulator import LocalPersonalize, start_local_personalize
from gateway.catalog.sqlite import SqliteCatalog
from gateway.http.app import create_app
from gateway.wiring import LOCAL_CREDENTIALS
from tests.gateway.conftest import Store, build_store, settings_for
from tests.nodejs import node_server
from tests.servers import LifespanState, serve

USER_NAMES = {"u-01": "Ada Lovelace", "u-02": "Grace Hopper", "u-03": "Alan Turing"}
MISSING_ITEM_ID = "i-999"  # featured by the other subgraph, absent from our catalog
HTTP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Subgraph:
    """Our gateway served as a subgraph, and its lifespan state (to count catalog calls)."""

    url: str
    state: dict[str, Any]

    @property
    def catalog(self) -> SqliteCatalog:
        catalog: SqliteCatalog = self.state["catalog"]
        return catalog


@dataclass(frozen=True)
class Supergraph:
    """Apollo Gateway over our subgraph and the users subgraph, and what the latter holds."""

    url: str
    client: httpx.Client
    subgraph: Subgraph
    featured_items: list[str]
    in_stock: set[str]

    def query(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """POST a GraphQL query to Apollo Gateway; the decoded JSON response."""
        response = self.client.post(self.url, json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_store(tmp_path_factory.mktemp("federation-store"))


@pytest.fixture(scope="session")
def local_personalize(store: Store) -> Iterator[LocalPersonalize]:
    with start_local_personalize(store.directory) as personalize:
        yield personalize


@pytest.fixture(scope="session")
def subgraph(store: Store, local_personalize: LocalPersonalize) -> Iterator[Subgraph]:
    settings = settings_for(local_personalize, store.catalog_path, graphiql=False, max_attempts=1)
    app = LifespanState(create_app(settings, credentials=LOCAL_CREDENTIALS))
    with serve(app) as url:
        yield Subgraph(f"{url}/graphql", app.state)


@pytest.fixture(scope="session")
def supergraph(
    node: str, store: Store, subgraph: Subgraph, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supergraph]:
    logs = tmp_path_factory.mktemp("node-logs")
    featured = [*store.item_ids[:6], MISSING_ITEM_ID]
    in_stock = set(store.item_ids[:60:2])
    data = logs / "users.json"
    data.write_text(
        json.dumps({"users": USER_NAMES, "featuredItems": featured, "inStock": sorted(in_stock)})
    )
    with node_server(node, "users.mjs", str(data), log=logs / "users.log") as users_url:
        subgraphs = [
            {"name": "personalize", "url": subgraph.url},
            {"name": "users", "url": users_url},
        ]
        with (
            node_server(
                node, "supergraph.mjs", json.dumps(subgraphs), log=logs / "supergraph.log"
            ) as url,
            httpx.Client(timeout=HTTP_TIMEOUT) as client,
        ):
            yield Supergraph(url, client, subgraph, featured, in_stock)
