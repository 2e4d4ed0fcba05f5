import json

import pytest

from gateway.http.view import encode_json
from tests.gateway.conftest import Gateway


@pytest.mark.parametrize(
    "data",
    [
        {"data": {"title": "Größe 42 — “café”", "price": 19.5, "ok": True, "none": None}},
        {"data": {"attributes": {"stock": 2**70}}},
        {"data": {"title": "\ud800"}},
    ],
)
def test_view_encodes_what_json_reads_back(data: object) -> None:
    encoded = encode_json(data)

    assert json.loads(encoded) == data, encoded


async def test_view_reads_a_body_orjson_refuses(gateway: Gateway) -> None:
    body = '{"query": "{ __typename }", "variables": {"n": NaN}}'

    response = await gateway.client.post(
        "/graphql", content=body, headers={"content-type": "application/json"}
    )

    assert response.json() == {"data": {"__typename": "Query"}}, response.text
