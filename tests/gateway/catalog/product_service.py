"""A small product API, as a team might already run one, serving the items of an items CSV."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

FIELDS = ("TITLE", "DESCRIPTION", "IMAGE_URL", "PRICE", "CATEGORY")


class ProductService:
    """`GET /products?ids=a,b` and `POST /products {"ids": [...]}` answer
    `{"data": {"products": [...]}}`, each product's fields in camel case (`imageUrl`, a
    numeric price), its other columns as they are; unknown ids are left out. `requests`
    counts the lookups it answered."""

    def __init__(self, items_csv: Path) -> None:
        self.requests = 0
        self.products: dict[str, dict[str, Any]] = {}
        with open(items_csv, newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                product: dict[str, Any] = {"id": row.pop("ITEM_ID")}
                for column, value in row.items():
                    if column in FIELDS:
                        name = _camel(column)
                        product[name] = float(value) if name == "price" else value
                    else:
                        product[column] = value
                self.products[product["id"]] = product
        self.app = Starlette(routes=[Route("/products", self.lookup, methods=["GET", "POST"])])

    async def lookup(self, request: Request) -> JSONResponse:
        self.requests += 1
        if request.method == "POST":
            ids = (await request.json())["ids"]
        else:
            ids = request.query_params["ids"].split(",")
        found = [self.products[item_id] for item_id in ids if item_id in self.products]
        return JSONResponse({"data": {"products": found}})


def _camel(column: str) -> str:
    first, *rest = column.lower().split("_")
    return first + "".join(word.title() for word in rest)
