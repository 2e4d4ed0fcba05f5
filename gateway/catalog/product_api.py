"""The catalog behind an existing product API, asked over HTTP with httpx."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import httpx

from gateway.catalog.columns import ItemColumns
from schema.ports import CatalogItem, CatalogUnavailable

logger = logging.getLogger(__name__)

Method = Literal["GET", "POST"]
DEFAULT_BATCH_SIZE = 50


class ProductApiCatalog:
    """The `Catalog` port on a product API that answers many ids at once.

    GET sends `url?ids=a,b,c`; POST sends `{"ids": ["a", "b", "c"]}`. Either way the answer is
    JSON whose list of products is at `items_path` (dot-separated keys; empty for a top-level
    list), each product an object with its id under `id_field` and its fields named as
    `columns` says. Ids go in batches of `batch_size`, sent at once, over one keep-alive
    `client`, all within `timeout` seconds. `round_trips` counts the HTTP requests.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        url: str,
        *,
        method: Method = "GET",
        batch_size: int = DEFAULT_BATCH_SIZE,
        items_path: str = "items",
        id_field: str = "id",
        columns: ItemColumns,
        timeout: float,
    ) -> None:
        self.url = url
        self.round_trips = 0
        self._client = client
        self._method = method
        self._batch_size = batch_size
        self._path = [key for key in items_path.split(".") if key]
        self._id_field = id_field
        self._columns = columns
        self._timeout = timeout

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, **options: Any) -> AsyncIterator[ProductApiCatalog]:
        """The catalog with its own keep-alive client for the app's life."""
        timeout = httpx.Timeout(options["timeout"])
        async with httpx.AsyncClient(
            timeout=timeout, headers={"accept": "application/json"}
        ) as client:
            yield cls(client, url, **options)

    async def get_items(self, item_ids: Sequence[str]) -> dict[str, CatalogItem]:
        """The items found among `item_ids`: one request per `batch_size` ids."""
        unique = list(dict.fromkeys(item_ids))
        chunks = [
            unique[start : start + self._batch_size]
            for start in range(0, len(unique), self._batch_size)
        ]
        try:
            async with asyncio.timeout(self._timeout):
                answers = await asyncio.gather(*(self._get(chunk) for chunk in chunks))
        except (TimeoutError, httpx.TimeoutException) as error:
            logger.warning("Product API %s gave no answer within %g s", self.url, self._timeout)
            raise CatalogUnavailable(
                f"The catalog did not answer within {self._timeout:g} s."
            ) from error
        except (httpx.HTTPError, ValueError) as error:
            logger.error("Product API %s failed: %s", self.url, error)
            raise CatalogUnavailable("The catalog cannot be read.") from error
        found: dict[str, CatalogItem] = {}
        for products in answers:
            for product in products:
                item = self._item(product)
                if item is not None:
                    found[item.id] = item
        return {item_id: found[item_id] for item_id in unique if item_id in found}

    async def ping(self) -> None:
        """Raise `CatalogUnavailable` unless the API answers a lookup of no known id."""
        try:
            await self.get_items(["__readiness_check__"])
        except CatalogUnavailable as error:
            raise CatalogUnavailable(f"product API {self.url}: {error.message}") from error

    async def _get(self, item_ids: list[str]) -> list[Any]:
        self.round_trips += 1
        if self._method == "GET":
            response = await self._client.get(self.url, params={"ids": ",".join(item_ids)})
        else:
            response = await self._client.post(self.url, json={"ids": item_ids})
        response.raise_for_status()
        products: Any = response.json()
        for key in self._path:
            if not isinstance(products, dict):
                raise ValueError(f"no {key!r} in the answer")
            products = products.get(key, [])
        if not isinstance(products, list):
            raise ValueError("the answer holds no list of products")
        return products

    def _item(self, product: Any) -> CatalogItem | None:
        if not isinstance(product, dict) or product.get(self._id_field) is None:
            return None
        item_id = str(product[self._id_field])
        values = ((name, value) for name, value in product.items() if name != self._id_field)
        return self._columns.item(item_id, values)
