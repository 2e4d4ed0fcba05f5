"""Item pictures drawn on request, so the sample catalog's IMAGE_URLs resolve with no network."""

from __future__ import annotations

import textwrap
import zlib
from collections.abc import Callable, Mapping
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

IMAGE_PATH = "/images/items/{item_id:path}.svg"
CACHE_CONTROL = "public, max-age=86400"
SIZE = 400

_CATEGORY_COLOURS = {
    "shoes": "#c0392b",
    "apparel": "#8e44ad",
    "outdoor": "#27764a",
    "kitchen": "#d35400",
    "books": "#6d4c41",
    "toys": "#b7791f",
    "electronics": "#2c3e50",
    "beauty": "#c2185b",
    "home": "#00796b",
    "sports": "#1565c0",
    "garden": "#558b2f",
    "jewelry": "#5d4037",
}
_OTHER_COLOURS = ("#455a64", "#6a1b9a", "#00838f", "#ad1457", "#4e342e", "#283593", "#2e7d32")
_LINE_WIDTH = 18  # characters per title line at the chosen font size
_MAX_LINES = 3


def render_item_svg(item_id: str, row: Mapping[str, str]) -> str:
    """An SVG picture of the item: its category's colour, a shape of its own and its title."""
    category = row.get("CATEGORY", "")
    colour = (
        _CATEGORY_COLOURS.get(category.lower())
        or _OTHER_COLOURS[zlib.crc32(category.encode()) % len(_OTHER_COLOURS)]
    )
    lines = _title_lines(row.get("TITLE") or item_id)
    first_baseline = 262 - 17 * (len(lines) - 1)
    text = "".join(
        f'<tspan x="200" y="{first_baseline + 34 * number}">{escape(line)}</tspan>'
        for number, line in enumerate(lines)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" '
        f'viewBox="0 0 {SIZE} {SIZE}" role="img">'
        f"<title>{escape(row.get('TITLE') or item_id)}</title>"
        f'<rect width="{SIZE}" height="{SIZE}" fill="{colour}"/>'
        f"{_shape(item_id)}"
        f'<text x="200" y="48" fill="#ffffff" fill-opacity="0.8" font-family="sans-serif" '
        f'font-size="18" letter-spacing="3" text-anchor="middle">{escape(category.upper())}</text>'
        f'<text fill="#ffffff" font-family="sans-serif" font-size="28" font-weight="bold" '
        f'text-anchor="middle">{text}</text>'
        "</svg>"
    )


def image_routes(items: Callable[[], Mapping[str, Mapping[str, str]]]) -> list[Route]:
    """Routes serving GET /images/items/{item_id}.svg for the items `items()` returns then."""

    async def item_image(request: Request) -> Response:
        item_id: str = request.path_params["item_id"]
        row = items().get(item_id)
        if row is None:
            return PlainTextResponse(f"No item {item_id!r} in the Items dataset.", status_code=404)
        return Response(
            render_item_svg(item_id, row),
            media_type="image/svg+xml",
            headers={"Cache-Control": CACHE_CONTROL},
        )

    return [Route(IMAGE_PATH, item_image, methods=["GET"], name="item_image")]


def _title_lines(title: str) -> list[str]:
    lines = textwrap.wrap(title, width=_LINE_WIDTH, break_on_hyphens=False) or [title]
    if len(lines) > _MAX_LINES:
        lines = lines[:_MAX_LINES]
        lines[-1] = lines[-1][: _LINE_WIDTH - 1].rstrip() + "\u2026"
    return lines


def _shape(item_id: str) -> str:
    """One of a few light shapes behind the title, chosen and placed by the item id."""
    digest = zlib.crc32(item_id.encode())
    kind = digest % 4
    offset = (digest >> 2) % 40 - 20
    centre = 160 + offset
    style = 'fill="#ffffff" fill-opacity="0.18"'
    if kind == 0:
        return f'<circle cx="{200 + offset}" cy="{centre}" r="80" {style}/>'
    if kind == 1:
        return (
            f'<rect x="{125 + offset}" y="{centre - 75}" width="150" height="150" rx="24" {style}/>'
        )
    if kind == 2:
        top = centre - 80
        return (
            f'<polygon points="{200 + offset},{top} {285 + offset},{top + 150} '
            f'{115 + offset},{top + 150}" {style}/>'
        )
    return (
        f'<polygon points="{200 + offset},{centre - 85} {285 + offset},{centre} '
        f'{200 + offset},{centre + 85} {115 + offset},{centre}" {style}/>'
    )
