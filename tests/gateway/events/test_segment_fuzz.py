"""Property-based fuzzing of the Segment webhook: whatever a signed body holds, the answer is
JSON and never a 500 (Segment would retry it for hours)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator import LocalPersonalize, start_local_personalize
from tests.gateway.conftest import Gateway, OpenGateway, Store
from tests.gateway.events.test_segment import PATH, SECRET, signed_raw
from tests.gateway.events.test_segment_limits import EVENT_TYPES

FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
edge_days = st.sampled_from([datetime.min, datetime.max, datetime(1970, 1, 1)])
timestamps = (
    st.builds(datetime.replace, edge_days, tzinfo=offsets).map(datetime.isoformat)
    | st.datetimes(timezones=offsets).map(datetime.isoformat)
    | st.datetimes(min_value=datetime(1969, 12, 31), max_value=datetime(1970, 1, 2)).map(
        lambda value: value.replace(tzinfo=UTC).isoformat()
    )
    | st.text(max_size=30)
    | st.integers()
    | st.none()
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
ids = st.text(max_size=300) | st.integers() | st.none() | st.just("null")
products = st.fixed_dictionaries(
    {}, optional={"product_id": ids, "sku": ids, "name": st.text(max_size=10)}
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["track", "page", "screen", "identify", "TRACK", ""]) | json_values,
        "event": st.sampled_from(["Product Viewed", "Other"]) | json_values,
        "name": st.sampled_from(["Product Viewed", "Home"]) | json_values,
        "anonymousId": ids,
        "userId": ids,
        "messageId": ids,
        "timestamp": timestamps,
        "originalTimestamp": timestamps,
        "properties": st.fixed_dictionaries(
            {},
            optional={"product_id": ids, "sku": ids, "products": st.lists(products, max_size=12)},
        )
        | json_values,
    },
)
payloads: st.SearchStrategy[Any] = (
    messages
    | st.lists(messages, max_size=12)
    | st.fixed_dictionaries({"batch": st.lists(messages, max_size=12)})
    | json_values
)
well_formed = st.fixed_dictionaries(
    {
        "type": st.just("track"),
        "event": st.just("Product Viewed"),
        "anonymousId": ids,
        "messageId": ids,
        "timestamp": timestamps,
        "properties": st.fixed_dictionaries({"product_id": ids}),
    }
)
payloads = (
    payloads | well_formed | st.fixed_dictionaries({"batch": st.lists(well_formed, max_size=12)})
)
bodies = payloads.map(lambda payload: json.dumps(payload).encode()) | st.binary(max_size=200)


@pytest.fixture(scope="module")
def own_personalize(store: Store) -> Iterator[LocalPersonalize]:
    """A local Personalize of the fuzz's own: the arbitrary items its events add (the local
    Personalize adds an item it first hears of in an event, as Personalize does) must not reach
    the recommendations other tests check."""
    with start_local_personalize(store.directory) as personalize:
        yield personalize


@pytest.fixture
async def gateway(
    open_gateway: OpenGateway, own_personalize: LocalPersonalize
) -> AsyncIterator[Gateway]:
    async with open_gateway(
        personalize_endpoint_url=own_personalize.endpoint_url,
        event_tracking_id=own_personalize.config.tracking_id,
        segment_shared_secret=SECRET,
        segment_event_types=EVENT_TYPES,
    ) as opened:
        yield opened


@FUZZ
@given(body=bodies)
async def test_segment_webhook_never_answers_500(gateway: Gateway, body: bytes) -> None:
    response = await gateway.client.post(PATH, **signed_raw(body))

    assert response.status_code in (200, 400), response.text
    assert response.json().get("code") != "INTERNAL_SERVER_ERROR", response.text
