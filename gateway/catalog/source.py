"""Where the catalog is, written as a URL a person can read, and parsed into what it names.

- `sqlite:///var/catalog.db` (relative) or `sqlite:////srv/catalog.db` (absolute): a SQLite file;
- `personalize:` or `personalize:?columns=TITLE,PRICE,GENRE`: Personalize's own item metadata;
- `dynamodb://TABLE?region=eu-west-1&key=ITEM_ID&attributes=GENRE`: a DynamoDB table;
- `postgresql://user@host:5432/shop?table=items`: a PostgreSQL table;
- `https://products.internal/items`: a product API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

SCHEMES = ("sqlite", "personalize", "dynamodb", "postgresql", "postgres", "http", "https")
DEFAULT_DYNAMODB_KEY = "ITEM_ID"
DEFAULT_POSTGRESQL_TABLE = "items"
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?")


class CatalogUrlError(ValueError):
    """The catalog URL names no source this gateway can read; the message shows the forms."""


@dataclass(frozen=True)
class SqliteSource:
    path: Path


@dataclass(frozen=True)
class PersonalizeSource:
    columns: tuple[str, ...] = ()  # the Items dataset's columns to ask for; () for the fields


@dataclass(frozen=True)
class DynamoDBSource:
    table: str
    region: str | None = None
    endpoint_url: str | None = None
    key: str = DEFAULT_DYNAMODB_KEY
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PostgresqlSource:
    dsn: str  # the URL without the gateway's own `table` parameter
    table: str = DEFAULT_POSTGRESQL_TABLE


@dataclass(frozen=True)
class ProductApiSource:
    url: str


CatalogSource = (
    SqliteSource | PersonalizeSource | DynamoDBSource | PostgresqlSource | ProductApiSource
)

FORMS = (
    "sqlite:///var/catalog.db, personalize:, dynamodb://TABLE?region=REGION, "
    "postgresql://USER@HOST/DATABASE?table=items or https://products.example.com/items"
)


def parse_catalog_url(url: str) -> CatalogSource:
    """What `url` names; `CatalogUrlError` when it is none of the forms above."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    if scheme == "sqlite":
        path = parts.path[1:] if parts.path.startswith("/") else parts.path
        if parts.netloc or not path:
            raise CatalogUrlError(
                f"{url}: write sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        return SqliteSource(Path(path))
    if scheme == "personalize":
        _only(url, query, {"columns"})
        return PersonalizeSource(_names(query.get("columns")))
    if scheme == "dynamodb":
        _only(url, query, {"region", "endpoint_url", "key", "attributes"})
        if not _TABLE_NAME.fullmatch(parts.netloc):
            raise CatalogUrlError(f"{url}: write dynamodb://TABLE?region=REGION")
        return DynamoDBSource(
            table=parts.netloc,
            region=query.get("region"),
            endpoint_url=query.get("endpoint_url"),
            key=query.get("key", DEFAULT_DYNAMODB_KEY),
            attributes=_names(query.get("attributes")),
        )
    if scheme in ("postgresql", "postgres"):
        table = query.pop("table", DEFAULT_POSTGRESQL_TABLE)
        if not _SQL_NAME.fullmatch(table):
            raise CatalogUrlError(f"{url}: table {table!r} is not a plain SQL name")
        dsn = urlunsplit(parts._replace(query=urlencode(query)))
        return PostgresqlSource(dsn=dsn, table=table)
    if scheme in ("http", "https") and parts.netloc:
        return ProductApiSource(url.strip())
    raise CatalogUrlError(f"{url} is not a catalog URL; write one of {FORMS}")


def _only(url: str, query: dict[str, str], known: set[str]) -> None:
    unknown = sorted(set(query) - known)
    if unknown:
        raise CatalogUrlError(
            f"{url}: unknown parameter {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


def _names(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())
