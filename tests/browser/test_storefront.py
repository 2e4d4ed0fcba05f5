"""The demo storefront in a headless Chromium, on the local Personalize and the sample store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from emulator import LocalPersonalize
from emulator.images import image_routes
from gateway.http.app import create_app
from gateway.wiring import LOCAL_CREDENTIALS
from tests.browser.devtools import Page, open_page
from tests.browser.test_graphiql import _errors
from tests.gateway.conftest import settings_for
from tests.servers import serve

SCREENSHOT_PATH = Path(__file__).resolve().parents[2] / "var" / "screenshots" / "storefront.png"
TIMEOUT = 30.0
READY = "document.body.dataset.ready === 'true'"
CARD_IDS = """[...document.querySelectorAll('[data-testid={grid}] .card')]
  .map((card) => card.dataset.itemId)"""
IMAGES_LOADED = """(() => {
  const images = [...document.querySelectorAll('[data-testid=for-you] .card img')];
  return images.length === 25 && images.every((image) => image.complete && image.naturalWidth > 0);
})()"""


@dataclass(frozen=True, slots=True)
class StorefrontRun:
    """What the browser saw going home, to a product, buying it and home again."""

    first_cards: list[str]
    images_loaded: bool
    opened: str
    related: list[str]
    put_events_before: int
    put_events_after_view: int
    cards_after_purchase: list[str]
    category_cards: list[str]
    fallback_badge: str | None
    request_origins: set[str]
    graphql_gets: list[str]
    errors: list[str]


@pytest.fixture(scope="module")
def storefront_url(
    local_personalize: LocalPersonalize, sample_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    from gateway.catalog.load import load_catalog

    catalog_path = tmp_path_factory.mktemp("storefront") / "catalog.db"
    load_catalog(sample_dir / "items.csv", catalog_path)
    popular = tmp_path_factory.mktemp("fallback") / "popular.txt"
    popular.write_text("\n".join(f"i-{index:05d}" for index in range(1, 31)), encoding="utf-8")
    settings = settings_for(
        local_personalize,
        catalog_path,
        event_tracking_id=local_personalize.config.tracking_ids[0],
        fallback_items_file=popular,
        storefront=True,
    )
    app = create_app(
        settings,
        routes=image_routes(lambda: local_personalize.model.items),
        credentials=LOCAL_CREDENTIALS,
    )
    with serve(app) as url:
        yield url


def _cards(page: Page, grid: str) -> list[str]:
    return list(page.evaluate(CARD_IDS.format(grid=grid)))


@pytest.fixture(scope="module")
def storefront_run(
    chromium: str, storefront_url: str, local_personalize: LocalPersonalize
) -> StorefrontRun:
    with open_page(chromium) as page:
        for domain in ("Page", "Network", "Log", "Runtime"):
            page.send(f"{domain}.enable")
        page.navigate(f"{storefront_url}/")
        page.wait_for(
            f"{READY} && {CARD_IDS.format(grid='for-you')}.length === 25", timeout=TIMEOUT
        )
        images_loaded = bool(page.wait_for(IMAGES_LOADED, timeout=TIMEOUT))
        first_cards = _cards(page, "for-you")
        page.screenshot(SCREENSHOT_PATH)
        before = local_personalize.stats.calls("PutEvents")
        opened = first_cards[0]
        page.click(f'[data-testid=for-you] .card[data-item-id="{opened}"]')
        page.wait_for(
            f"{READY} && !!document.querySelector('[data-testid=product]') && "
            f"{CARD_IDS.format(grid='related')}.length > 0",
            timeout=TIMEOUT,
        )
        related = _cards(page, "related")
        after_view = local_personalize.stats.calls("PutEvents")
        page.click("[data-testid=buy]")
        page.wait_for(
            f"{READY} && !document.querySelector('[data-testid=product]') && "
            f"{CARD_IDS.format(grid='for-you')}.length > 0",
            timeout=TIMEOUT,
        )
        cards_after_purchase = _cards(page, "for-you")
        page.click(".bar #categories a")
        page.wait_for(f"{READY} && {CARD_IDS.format(grid='category')}.length > 0", timeout=TIMEOUT)
        category_cards = _cards(page, "category")
        local_personalize.faults.error_rate = 1.0
        try:
            page.evaluate(
                "document.getElementById('user').value = 'u-00002'; location.hash = '#/';"
            )
            page.wait_for(
                f"{READY} && !!document.querySelector('[data-testid=for-you]')", timeout=TIMEOUT
            )
            badge = page.evaluate("document.querySelector('h2 .badge')?.textContent ?? null")
        finally:
            local_personalize.faults.error_rate = 0.0
        requests = [event["request"] for event in page.events_named("Network.requestWillBeSent")]
        return StorefrontRun(
            first_cards=first_cards,
            images_loaded=images_loaded,
            opened=opened,
            related=related,
            put_events_before=before,
            put_events_after_view=after_view,
            cards_after_purchase=cards_after_purchase,
            category_cards=category_cards,
            fallback_badge=badge,
            request_origins={
                "{0.scheme}://{0.netloc}".format(urlsplit(request["url"]))
                for request in requests
                if not request["url"].startswith("data:")
            },
            graphql_gets=[
                request["url"]
                for request in requests
                if request["method"] == "GET" and urlsplit(request["url"]).path == "/graphql"
            ],
            errors=_errors(page),
        )


def test_storefront_shows_25_cards_with_their_images(storefront_run: StorefrontRun) -> None:
    assert len(storefront_run.first_cards) == 25, storefront_run.first_cards
    assert storefront_run.images_loaded


def test_storefront_product_shows_related_items(storefront_run: StorefrontRun) -> None:
    assert storefront_run.related, storefront_run.related
    assert storefront_run.opened not in storefront_run.related


def test_storefront_opening_a_product_records_a_view(storefront_run: StorefrontRun) -> None:
    recorded = storefront_run.put_events_after_view - storefront_run.put_events_before
    assert recorded == 1, recorded


def test_storefront_bought_item_leaves_recommended_for_you(storefront_run: StorefrontRun) -> None:
    assert storefront_run.opened not in storefront_run.cards_after_purchase


def test_storefront_category_page_is_ranked_for_the_user(storefront_run: StorefrontRun) -> None:
    assert len(storefront_run.category_cards) > 1, storefront_run.category_cards


def test_storefront_shows_a_badge_on_fallback_answers(storefront_run: StorefrontRun) -> None:
    assert storefront_run.fallback_badge == "fallback", storefront_run.fallback_badge


def test_storefront_queries_are_persisted_query_gets(storefront_run: StorefrontRun) -> None:
    without_hash = [
        url
        for url in storefront_run.graphql_gets
        if "sha256Hash" not in parse_qs(urlsplit(url).query).get("extensions", [""])[0]
        or "query" in parse_qs(urlsplit(url).query)
    ]

    assert len(storefront_run.graphql_gets) >= 5, storefront_run.graphql_gets
    assert without_hash == []


def test_storefront_asks_only_the_gateway(
    storefront_run: StorefrontRun, storefront_url: str
) -> None:
    assert storefront_run.request_origins == {storefront_url}, storefront_run.request_origins


def test_storefront_logs_no_error(storefront_run: StorefrontRun) -> None:
    assert storefront_run.errors == []


def test_storefront_screenshot_is_written(storefront_run: StorefrontRun) -> None:
    assert SCREENSHOT_PATH.stat().st_size > 10_000, SCREENSHOT_PATH.stat().st_size
