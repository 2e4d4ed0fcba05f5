"""Context derived from the request, on its own and as the local Personalize receives it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from emulator import LocalPersonalize
from gateway.http.app import personalize_context_rules
from gateway.http.personalize_context import PersonalizeContextRules, device_type
from gateway.settings import Settings
from tests.gateway.conftest import OpenGateway

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
# 23:30 UTC on Monday 1 January 2024 is 00:30 on Tuesday in Paris.
MONDAY_NIGHT_UTC = datetime(2024, 1, 1, 23, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    return MONDAY_NIGHT_UTC


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (IPHONE, "mobile"),
        (ANDROID_PHONE, "mobile"),
        (ANDROID_TABLET, "tablet"),
        (IPAD, "tablet"),
        (DESKTOP, "desktop"),
        (GOOGLEBOT, "bot"),
        ("curl/8.5.0", "bot"),
        ("", None),
    ],
    ids=[
        "iphone",
        "android-phone",
        "android-tablet",
        "ipad",
        "desktop",
        "googlebot",
        "curl",
        "none",
    ],
)
def test_device_type_from_user_agent(user_agent: str, device: str | None) -> None:
    assert device_type({"user-agent": user_agent}) == device


def test_device_type_cloudfront_headers_win_over_user_agent() -> None:
    headers = {
        "user-agent": DESKTOP,
        "cloudfront-is-desktop-viewer": "false",
        "cloudfront-is-mobile-viewer": "false",
        "cloudfront-is-tablet-viewer": "true",
    }

    assert device_type(headers) == "tablet"


def test_personalize_context_rules_derives_hour_and_weekday_in_the_time_zone() -> None:
    settings = Settings(
        recommendations_context={"HOUR": "hour", "DAY": "weekday", "DEVICE": "device"},
        context_time_zone="Europe/Paris",
    )
    context = replace(personalize_context_rules(settings), clock=fixed_clock)

    derived = context.derive({"user-agent": IPHONE})

    assert derived == {"recommendations": {"HOUR": "0", "DAY": "tuesday", "DEVICE": "mobile"}}


def test_personalize_context_rules_leaves_out_what_it_cannot_derive() -> None:
    context = PersonalizeContextRules(
        fields={"ranking": {"DEVICE": "device", "DAY": "weekday"}}, clock=fixed_clock
    )

    assert context.derive({}) == {"ranking": {"DAY": "monday"}}


def test_personalize_context_rules_is_off_unless_configured() -> None:
    context = replace(personalize_context_rules(Settings()), clock=fixed_clock)

    assert context.derive({"user-agent": IPHONE}) == {}


RECOMMEND = """
query Recommend($context: [ContextEntry!]) {
  recommendations(userId: "u-01", numResults: 3, context: $context) { items { itemId } }
  ranking(userId: "u-01", items: ["i-001", "i-002"]) { items { itemId } }
}
"""


async def test_derived_context_reaches_personalize(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    async with open_gateway(
        recommendations_context={"DEVICE_TYPE": "device", "HOUR_OF_DAY": "hour"},
        ranking_context={"DAY_OF_WEEK": "weekday"},
        context_time_zone="Europe/Paris",
    ) as gateway:
        gateway.state["personalize_context"] = replace(
            gateway.state["personalize_context"], clock=fixed_clock
        )
        response = await gateway.client.post(
            "/graphql",
            json={
                "query": RECOMMEND,
                "variables": {"context": [{"key": "HOUR_OF_DAY", "value": "9"}]},
            },
            headers={"User-Agent": ANDROID_PHONE},
        )

    assert (
        "errors" in response.json(),
        personalize.stats.last_request("GetRecommendations")["context"],
        personalize.stats.last_request("GetPersonalizedRanking")["context"],
    ) == (False, {"DEVICE_TYPE": "mobile", "HOUR_OF_DAY": "9"}, {"DAY_OF_WEEK": "tuesday"})
