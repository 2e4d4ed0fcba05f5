from __future__ import annotations

from collections.abc import Mapping
from xml.etree import ElementTree

import httpx
from starlette.applications import Starlette

from emulator.images import image_routes, render_item_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


def background(svg: str) -> str | None:
    rect = parse(svg).find(f"{SVG}rect")
    assert rect is not None
    return rect.get("fill")


def title_lines(svg: str) -> list[str]:
    return [tspan.text or "" for tspan in parse(svg).iter(f"{SVG}tspan")]


def test_render_item_svg_is_deterministic() -> None:
    row = {"TITLE": "Cairn Ultralight Dome Tent", "CATEGORY": "outdoor"}

    assert render_item_svg("i-1", row) == render_item_svg("i-1", dict(row))


def test_render_item_svg_escapes_the_title() -> None:
    svg = render_item_svg("i-1", {"TITLE": 'Salt & <Pepper> "Mill"', "CATEGORY": "kitchen"})

    assert title_lines(svg) == ["Salt & <Pepper>", '"Mill"']


def test_render_item_svg_wraps_long_titles_in_three_lines() -> None:
    title = "Summit Supply Four-Season Expedition Dome Tent for Two with Vestibule"

    lines = title_lines(render_item_svg("i-1", {"TITLE": title, "CATEGORY": "outdoor"}))

    assert len(lines) == 3
    assert lines[-1].endswith("\u2026")


def test_render_item_svg_colours_by_category() -> None:
    shoes = background(render_item_svg("i-1", {"TITLE": "Road Runner", "CATEGORY": "shoes"}))
    more_shoes = background(render_item_svg("i-2", {"TITLE": "Sandal", "CATEGORY": "shoes"}))
    books = background(render_item_svg("i-3", {"TITLE": "Atlas", "CATEGORY": "books"}))

    assert (shoes == more_shoes, shoes == books) == (True, False)


def test_render_item_svg_uses_only_generic_fonts() -> None:
    svg = parse(render_item_svg("i-1", {"TITLE": "Atlas", "CATEGORY": "unheard-of"}))

    fonts = {element.get("font-family") for element in svg.iter() if element.get("font-family")}

    assert fonts == {"sans-serif"}


def test_render_item_svg_without_title_shows_the_item_id() -> None:
    svg = render_item_svg("i-00042", {})

    assert title_lines(svg) == ["i-00042"]


def client_for(items: Mapping[str, Mapping[str, str]]) -> httpx.AsyncClient:
    app = Starlette(routes=image_routes(lambda: items))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_image_route_serves_svg_with_cache_headers() -> None:
    items = {"i-00042": {"TITLE": "Atlas", "CATEGORY": "books"}}

    async with client_for(items) as client:
        response = await client.get("/images/items/i-00042.svg")

    assert (
        response.status_code,
        response.headers["content-type"],
        response.headers["cache-control"],
        response.text,
    ) == (
        200,
        "image/svg+xml",
        "public, max-age=86400",
        render_item_svg("i-00042", items["i-00042"]),
    )


async def test_image_route_for_unknown_item_is_not_found() -> None:
    async with client_for({}) as client:
        response = await client.get("/images/items/i-99999.svg")

    assert response.status_code == 404
    assert "i-99999" in response.text


async def test_image_route_sees_items_added_after_start() -> None:
    items: dict[str, Mapping[str, str]] = {}
    async with client_for(items) as client:
        items["late"] = {"TITLE": "Late Arrival"}
        response = await client.get("/images/items/late.svg")

    assert response.status_code == 200
