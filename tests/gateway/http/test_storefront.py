"""The storefront's routes: on in development, off in production unless enabled."""

from __future__ import annotations

import pytest

from gateway.settings import Settings
from tests.gateway.conftest import OpenGateway


def test_storefront_off_by_default_in_production() -> None:
    assert Settings(environment="production").storefront is False


async def test_storefront_root_leads_to_demo(open_gateway: OpenGateway) -> None:
    async with open_gateway() as gateway:
        response = await gateway.client.get("/")

    assert response.headers.get("location") == "/demo", response.headers


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({}, 200),
        ({"environment": "production", "storefront": True}, 200),
        ({"storefront": False}, 404),
    ],
)
async def test_storefront_page_served_when_enabled(
    open_gateway: OpenGateway, changes: dict[str, object], status: int
) -> None:
    async with open_gateway(**changes) as gateway:
        response = await gateway.client.get("/demo")

    assert response.status_code == status, response.status_code


async def test_storefront_modules_allowed_only_from_the_gateway(open_gateway: OpenGateway) -> None:
    async with open_gateway() as gateway:
        page = await gateway.client.get("/demo")
        module = await gateway.client.get("/demo/app.js")

    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert module.headers["content-type"].startswith("text/javascript"), module.headers
