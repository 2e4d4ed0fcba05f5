"""The fallback and the breaker in the app, against the local Personalize's injected faults."""

import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from emulator import LocalPersonalize
from gateway.http.app import create_app
from gateway.http.request_id import REQUEST_ID_HEADER
from gateway.personalize.breaker import CircuitBreaker
from gateway.personalize.fallback import (
    FallbackItemsError,
    FallbackRecommender,
    load_fallback_items,
)
from gateway.personalize.recommender import PersonalizeRecommender
from gateway.personalize.stale import StaleStore
from gateway.settings import ConfigurationError, Settings
from gateway.wiring import LOCAL_CREDENTIALS
from schema.ports import Recommendation, RecommendationSource
from tests.gateway.conftest import Gateway, OpenGateway, Store, captured_records

POPULAR = ("i-060", "i-059", "i-058", "i-057", "i-056", "i-055", "i-054", "i-053")
RECOMMENDATIONS = """
query Recommendations($user: ID!) {
  recommendations(userId: $user, numResults: 5) { recommendationId source items { itemId } }
}
"""
RECORD = """
mutation Record($input: RecordEventsInput!) { recordEvents(input: $input) { accepted } }
"""
EVERY_FIELD = """
{
  recommendations(userId: "u-01", numResults: 3) { source items { itemId } }
  relatedItems(itemId: "i-060", numResults: 3) { source items { itemId } }
  ranking(userId: "u-01", items: ["i-003", "i-001", "i-002", "i-001"]) {
    source items { itemId score }
  }
}
"""


class HandClock:
    """A clock the test moves by hand: `now` seconds."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


FALLBACK_DETAILS = ("breaker", "consecutive_failures", "stale", "fallbacks")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def error_codes(result: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in result.get("errors", ())]


def listed(result: dict[str, Any], field: str = "recommendations") -> tuple[str, list[str]]:
    answer = result["data"][field]
    return answer["source"], [entry["itemId"] for entry in answer["items"]]


async def recommend(gateway: Gateway, user: str = "u-01") -> dict[str, Any]:
    result: dict[str, Any] = await gateway.query(RECOMMENDATIONS, {"user": user})
    return result


@pytest.fixture
def popular_file(tmp_path: Path) -> Path:
    path = tmp_path / "popular.txt"
    path.write_text("# best sellers, most popular first\n" + "\n".join(POPULAR) + "\n")
    return path


@pytest.fixture
async def unreachable_client() -> AsyncIterator[Any]:
    """A personalize-runtime client whose every call fails to connect."""
    async with AioSession().create_client(
        "personalize-runtime",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        aws_access_key_id=LOCAL_CREDENTIALS.access_key_id,
        aws_secret_access_key=LOCAL_CREDENTIALS.secret_access_key,
        config=AioConfig(retries={"mode": "standard", "total_max_attempts": 1}),
    ) as client:
        yield client


async def test_throttling_everything_answers_every_field_from_the_fallback(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    personalize.faults.throttle_rate = 1.0
    async with open_gateway(fallback_items_file=popular_file) as gateway:
        results = [await gateway.query(EVERY_FIELD) for _ in range(8)]

    assert {json.dumps(result, sort_keys=True) for result in results} == {
        json.dumps(
            {
                "data": {
                    "recommendations": {
                        "source": "FALLBACK",
                        "items": [{"itemId": "i-060"}, {"itemId": "i-059"}, {"itemId": "i-058"}],
                    },
                    "relatedItems": {
                        "source": "FALLBACK",
                        "items": [{"itemId": "i-059"}, {"itemId": "i-058"}, {"itemId": "i-057"}],
                    },
                    "ranking": {
                        "source": "FALLBACK",
                        "items": [
                            {"itemId": "i-003", "score": None},
                            {"itemId": "i-001", "score": None},
                            {"itemId": "i-002", "score": None},
                        ],
                    },
                }
            },
            sort_keys=True,
        )
    }


async def test_deadline_cuts_a_slow_personalize_short_and_the_fallback_answers(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    personalize.faults.latency_ms = 5000
    async with open_gateway(upstream_deadline=0.3, fallback_items_file=popular_file) as gateway:
        started = time.monotonic()
        result = await recommend(gateway)
        elapsed = time.monotonic() - started

    assert listed(result) == ("FALLBACK", list(POPULAR[:5]))
    # Generous on purpose: only "the deadline, not the 5 s latency" is asserted.
    assert elapsed < 0.3 + 2, elapsed


async def test_deadline_without_a_fallback_is_upstream_unavailable_naming_it(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.latency_ms = 5000
    async with open_gateway(upstream_deadline=0.3) as gateway:
        result = await recommend(gateway)

    assert error_codes(result) == ["UPSTREAM_UNAVAILABLE"]
    assert result["errors"][0]["message"] == (
        "Amazon Personalize did not answer within 0.3 s; retry later."
    )


async def test_stale_store_answers_the_same_request_with_its_last_good_answer(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    _, fresh = listed(await recommend(gateway, "u-01"))
    personalize.faults.error_rate = 1.0

    result = await recommend(gateway, "u-01")

    assert listed(result) == ("FALLBACK", fresh)
    assert result["data"]["recommendations"]["recommendationId"] is None


async def test_stale_store_does_not_answer_a_different_request(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    await recommend(gateway, "u-01")
    personalize.faults.error_rate = 1.0

    result = await recommend(gateway, "u-02")

    assert result["data"] is None, result["data"]
    assert error_codes(result) == ["UPSTREAM_UNAVAILABLE"]


async def test_stale_store_is_bounded_by_max_entries(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    async with open_gateway(stale_max_entries=2) as gateway:
        for user in ("u-01", "u-02", "u-03"):
            await recommend(gateway, user)
        personalize.faults.error_rate = 1.0
        results = [await recommend(gateway, user) for user in ("u-01", "u-02", "u-03")]

    assert [error_codes(result) or listed(result)[0] for result in results] == [
        ["UPSTREAM_UNAVAILABLE"],
        "FALLBACK",
        "FALLBACK",
    ]


async def test_recorded_events_drop_the_users_stale_answers_only(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    # Users no other test touches: the recorded event stays in the session's local Personalize.
    user, other = (f"stale-{uuid.uuid4().hex[:12]}" for _ in range(2))
    event = {"eventType": "view", "itemId": "i-001"}
    async with open_gateway(
        event_tracking_id=personalize.config.tracking_id, fallback_items_file=popular_file
    ) as gateway:
        kept = [listed(await recommend(gateway, name))[1] for name in (user, other)]
        await gateway.query(
            RECORD, {"input": {"sessionId": f"s-{user}", "userId": user, "events": [event]}}
        )
        personalize.faults.throttle_rate = 1.0
        results = [listed(await recommend(gateway, name)) for name in (user, other)]

    assert kept[0] != list(POPULAR[:5]), "the user's answer was personal before the event"
    assert results[0] == ("FALLBACK", list(POPULAR[:5])), "the user's stale answer was dropped"
    assert results[1] == ("FALLBACK", kept[1]), "the other user's stale answer was kept"


async def test_breaker_opens_after_a_burst_of_errors_and_stops_calling_personalize(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    personalize.faults.error_rate = 1.0
    async with open_gateway(
        breaker_failure_threshold=3,
        breaker_cool_down=30,
        fallback_items_file=popular_file,
    ) as gateway:
        # Three users fail: the breaker counts the failures of a user (or a request) once.
        users = [f"u-{index:02d}" for index in range(1, 9)]
        sources = [listed(await recommend(gateway, user))[0] for user in users]
        readiness = (await gateway.client.get("/readyz")).json()

    assert sources == ["FALLBACK"] * 8
    assert personalize.stats.calls("GetRecommendations") == 3
    assert readiness["status"] == "ready"
    assert readiness["details"]["breaker"] == "open"
    assert readiness["details"]["fallbacks"]["skipped_by_breaker"] == 5


async def test_breaker_closes_again_after_the_cool_down(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    personalize.faults.error_rate = 1.0
    clock = HandClock()
    async with open_gateway(fallback_items_file=popular_file) as gateway:
        fallback = gateway.state["recommender"].recommender
        assert isinstance(fallback, FallbackRecommender), fallback
        fallback.breaker = CircuitBreaker(failure_threshold=2, cool_down=30.0, clock=clock)
        for user in ("u-01", "u-02"):
            await recommend(gateway, user)
        personalize.faults.error_rate = 0.0
        during_cool_down = listed(await recommend(gateway))[0]
        clock.now += 30.0
        after_cool_down = listed(await recommend(gateway))[0]
        readiness = (await gateway.client.get("/readyz")).json()

    assert during_cool_down == "FALLBACK"
    assert after_cool_down == "PERSONALIZE"
    assert readiness["details"]["breaker"] == "closed"
    assert personalize.stats.calls("GetRecommendations") == 3


async def test_breaker_open_without_a_fallback_says_why(
    open_gateway: OpenGateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.error_rate = 1.0
    async with open_gateway(breaker_failure_threshold=1, breaker_cool_down=30) as gateway:
        await recommend(gateway)
        result = await recommend(gateway, "u-02")

    assert error_codes(result) == ["UPSTREAM_UNAVAILABLE"]
    assert result["errors"][0]["message"] == (
        "Amazon Personalize keeps failing, so the gateway pauses calling it for 30 s at a time "
        "(circuit breaker open); retry later."
    )


async def test_bad_input_is_not_hidden_behind_the_fallback(
    open_gateway: OpenGateway, popular_file: Path
) -> None:
    async with open_gateway(fallback_items_file=popular_file) as gateway:
        result = await gateway.query(
            '{ recommendations(userId: "u-01", filter: {name: "category"}) { items { itemId } } }'
        )

    assert result["data"] is None, result["data"]
    assert error_codes(result) == ["BAD_USER_INPUT"]


async def test_not_found_is_not_hidden_behind_the_fallback(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    async with open_gateway(
        recommendations_arn=personalize.config.campaign_arn("retired"),
        fallback_items_file=popular_file,
    ) as gateway:
        result = await recommend(gateway)

    assert result["data"] is None, result["data"]
    assert error_codes(result) == ["NOT_FOUND"]


async def test_ranking_falls_back_to_its_input_order_with_nothing_configured(
    gateway: Gateway, personalize: LocalPersonalize
) -> None:
    personalize.faults.throttle_rate = 1.0

    result = await gateway.query(
        '{ ranking(userId: "u-01", items: ["i-009", "i-004"]) { source items { itemId } } }'
    )

    assert listed(result, "ranking") == ("FALLBACK", ["i-009", "i-004"])


async def test_fallback_is_counted_in_readyz(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    async with open_gateway(fallback_items_file=popular_file) as gateway:
        await recommend(gateway)
        personalize.faults.error_rate = 1.0
        await recommend(gateway)
        await recommend(gateway, "u-02")
        await gateway.query('{ ranking(userId: "u-01", items: ["i-001"]) { source } }')
        details = (await gateway.client.get("/readyz")).json()["details"]

    assert {key: details[key] for key in FALLBACK_DETAILS} == {
        "breaker": "closed",
        "consecutive_failures": 3,
        "stale": {"entries": 1},
        "fallbacks": {
            "stale": 1,
            "fallback_arn": 0,
            "fallback_items": 1,
            "input_order": 1,
            "unanswered": 0,
            "skipped_by_breaker": 0,
        },
    }


async def test_fallback_logs_one_line_with_the_request_id(
    open_gateway: OpenGateway, personalize: LocalPersonalize, popular_file: Path
) -> None:
    personalize.faults.throttle_rate = 1.0
    with captured_records("gateway.personalize.fallback") as records:
        async with open_gateway(fallback_items_file=popular_file) as gateway:
            await gateway.client.post(
                "/graphql",
                json={"query": '{ recommendations(userId: "u-01") { source } }'},
                headers={REQUEST_ID_HEADER: "trace-9"},
            )

    assert [(record.getMessage(), getattr(record, "request_id", None)) for record in records] == [
        (
            "recommendations answered by the fallback (fallback_items) instead of Personalize "
            "(Throttled)",
            "trace-9",
        )
    ]


async def test_fallback_arn_answers_related_items_without_the_item_itself(
    gateway: Gateway, personalize: LocalPersonalize, unreachable_client: Any
) -> None:
    arn = personalize.config.recommender_arn("most-popular")
    most_popular = personalize.model.popular(1)[0].item_id
    recommender = FallbackRecommender(
        PersonalizeRecommender(
            unreachable_client,
            recommendations_arn=None,
            related_items_arn=personalize.config.campaign_arn("similar-items"),
            ranking_arn=None,
        ),
        stale=StaleStore(max_entries=10, max_age=60),
        breaker=CircuitBreaker(failure_threshold=5, cool_down=60),
        popular=PersonalizeRecommender(
            gateway.state["personalize_runtime"],
            recommendations_arn=arn,
            related_items_arn=None,
            ranking_arn=None,
            deadline=5,
        ),
    )

    result = await recommender.related_items(
        item_id=most_popular, user_id=None, num_results=4, filter=None
    )

    assert result.source is RecommendationSource.FALLBACK, result.source
    assert [item.item_id for item in result.items] == [
        item.item_id for item in personalize.model.popular(5)[1:]
    ]
    assert personalize.stats.last_request("GetRecommendations") == {
        "recommenderArn": arn,
        "userId": "anonymous",
        "numResults": 5,
    }


async def test_fallback_arn_is_not_called_while_the_breaker_is_open(
    gateway: Gateway, personalize: LocalPersonalize, unreachable_client: Any
) -> None:
    recommender = FallbackRecommender(
        PersonalizeRecommender(
            unreachable_client,
            recommendations_arn=personalize.config.campaign_arn("user-personalization"),
            related_items_arn=None,
            ranking_arn=None,
        ),
        stale=StaleStore(max_entries=10, max_age=60),
        breaker=CircuitBreaker(failure_threshold=1, cool_down=60),
        popular=PersonalizeRecommender(
            gateway.state["personalize_runtime"],
            recommendations_arn=personalize.config.recommender_arn("most-popular"),
            related_items_arn=None,
            ranking_arn=None,
        ),
        popular_items=POPULAR,
    )

    result = await recommender.recommend(
        user_id="u-01", num_results=2, filter=None, personalize_context={}, promotion=None
    )

    assert result.items == (Recommendation("i-060", None), Recommendation("i-059", None))
    assert personalize.stats.calls("GetRecommendations") == 0


def test_fallback_items_from_lines_skip_comments_blanks_and_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "popular.txt"
    path.write_text("# top sellers\n\ni-2\n  i-1  \ni-2\n")

    assert load_fallback_items(path) == ("i-2", "i-1")


def test_fallback_items_from_a_json_list(tmp_path: Path) -> None:
    path = tmp_path / "popular.json"
    path.write_text('["i-9", "i-8"]')

    assert load_fallback_items(path) == ("i-9", "i-8")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('["i-1",\n "i-2"', "popular.json, line 2, column 7: not valid JSON"),
        ('["i-1", 7]', "popular.json, entry 1: 7 is not an item id"),
        ('{"i-1": 1}', "popular.json must hold a JSON list of item ids"),
        ("# nothing yet\n\n", "popular.json holds no item ids"),
        ("i-1\n" + "x" * 257 + "\n", "popular.json, line 2: 'xxx"),
    ],
)
def test_fallback_items_file_errors_name_the_file_and_place(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "popular.json"
    path.write_text(text)

    with pytest.raises(FallbackItemsError) as caught:
        load_fallback_items(path)

    assert str(caught.value).startswith(f"{tmp_path}/{problem}"), caught.value


async def test_startup_fails_on_a_missing_fallback_items_file(
    settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "popular.txt"
    app = create_app(
        Settings(**settings.model_dump() | {"fallback_items_file": missing}),
        credentials=LOCAL_CREDENTIALS,
    )

    with pytest.raises(ConfigurationError) as caught:
        async with app.router.lifespan_context(app):
            pass

    assert str(caught.value) == (
        f"GATEWAY_FALLBACK_ITEMS_FILE: cannot read {missing} (No such file or directory)"
    )


def test_store_fixture_items_are_the_popular_ones(store: Store) -> None:
    assert set(POPULAR) <= set(store.item_ids)
