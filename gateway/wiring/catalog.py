"""The catalog part of the composition root: which source the settings name, opened for the
app's life, behind the item cache and the observer they ask for."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from aiobotocore.session import AioSession

from gateway.catalog.cache import CachedCatalog
from gateway.catalog.columns import DEFAULT_COLUMN_MAP, ItemColumns, column_key
from gateway.catalog.dynamodb import DynamoDBCatalog
from gateway.catalog.personalize_metadata import PersonalizeMetadataCatalog
from gateway.catalog.postgresql import PostgresqlCatalog
from gateway.catalog.product_api import ProductApiCatalog
from gateway.catalog.source import (
    CatalogSource,
    CatalogUrlError,
    DynamoDBSource,
    PersonalizeSource,
    PostgresqlSource,
    SqliteSource,
    parse_catalog_url,
)
from gateway.catalog.sqlite import SqliteCatalog
from gateway.personalize.recommender import ItemMetadata
from gateway.settings import ConfigurationError, Settings
from schema.ports import Catalog, CatalogItem

logger = logging.getLogger(__name__)


class ServedCatalog(Catalog, Protocol):
    """A catalog source as the app holds it: looks items up, and says whether it can."""

    @property
    def round_trips(self) -> int:
        """Lookups sent to the source since start-up."""
        ...

    async def ping(self) -> None:
        """Raise `CatalogUnavailable` unless the source answers."""
        ...


def catalog_source(settings: Settings) -> CatalogSource:
    """The catalog the settings name; ConfigurationError if the URL names none."""
    try:
        return parse_catalog_url(settings.catalog)
    except CatalogUrlError as error:
        raise ConfigurationError(f"{Settings.env_var('catalog_url')}: {error}") from None


def item_columns(settings: Settings, attributes: tuple[str, ...] | None) -> ItemColumns:
    """The source's columns for the item fields (GATEWAY_CATALOG_MAP over the CSV defaults)."""
    remapped = set(settings.catalog_map.values())
    fields = {c: f for c, f in DEFAULT_COLUMN_MAP.items() if f not in remapped}
    return ItemColumns(fields=fields | settings.catalog_map, attributes=attributes)


def item_metadata(settings: Settings) -> ItemMetadata | None:
    """The items' details to ask Personalize for, when the catalog is `personalize:`."""
    source = catalog_source(settings)
    if not isinstance(source, PersonalizeSource):
        return None
    return ItemMetadata(*_metadata_columns(settings, source))


def _metadata_columns(
    settings: Settings, source: PersonalizeSource
) -> tuple[tuple[str, ...], Callable[[str, Iterable[tuple[str, Any]]], CatalogItem]]:
    """The columns to ask for (the URL's, else the fields'), and how they become an item."""
    columns = item_columns(settings, ())
    asked = source.columns or tuple(columns.fields)
    field_keys = {column_key(name) for name in columns.fields}
    attributes = tuple(name for name in asked if column_key(name) not in field_keys)
    return asked, item_columns(settings, attributes).item


def catalog_name(settings: Settings) -> str:
    """The kind of catalog the settings name, as metrics and traces label it."""
    source = catalog_source(settings)
    names = {
        SqliteSource: "sqlite",
        PersonalizeSource: "personalize",
        DynamoDBSource: "dynamodb",
        PostgresqlSource: "postgresql",
    }
    return names.get(type(source), "product_api")


@contextlib.asynccontextmanager
async def open_catalog(
    settings: Settings, session: AioSession, client_options: dict[str, Any]
) -> AsyncIterator[ServedCatalog]:
    """The catalog source the settings name, open for the app's life.

    DynamoDB is read through a client of the same aiobotocore `session` as Personalize.
    """
    source = catalog_source(settings)
    timeout = settings.catalog_timeout
    if isinstance(source, SqliteSource):
        async with SqliteCatalog.open(source.path) as sqlite:
            yield sqlite
    elif isinstance(source, PersonalizeSource):
        yield PersonalizeMetadataCatalog()
    elif isinstance(source, DynamoDBSource):
        options = client_options | {"region_name": source.region or settings.aws_region}
        async with session.create_client(
            "dynamodb", endpoint_url=source.endpoint_url, **options
        ) as client:
            yield DynamoDBCatalog(
                client,
                source.table,
                key=source.key,
                columns=item_columns(settings, source.attributes),
                timeout=timeout,
            )
    elif isinstance(source, PostgresqlSource):
        async with PostgresqlCatalog.open(
            source.dsn, source.table, query_timeout=timeout
        ) as postgres:
            yield postgres
    else:
        async with ProductApiCatalog.open(
            source.url,
            method=settings.catalog_http_method,
            batch_size=settings.catalog_batch_size,
            items_path=settings.catalog_items_path,
            id_field=settings.catalog_id_field,
            columns=item_columns(settings, None),
            timeout=timeout,
        ) as api:
            yield api


def item_cache(catalog: ServedCatalog, settings: Settings) -> ServedCatalog:
    """The catalog behind the item cache the settings ask for (GATEWAY_ITEM_CACHE_TTL > 0)."""
    if settings.item_cache_ttl == 0:
        return catalog
    return CachedCatalog(catalog, max_entries=settings.item_cache_size, ttl=settings.item_cache_ttl)
