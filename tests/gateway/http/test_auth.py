"""Authentication: each mode lets the right requests in and keeps the rest out.

The middleware is tried on its own (an endpoint echoing the identity it was given) for the many
ways a credential fails, and the whole app for what each identity may ask. Keys are generated
here, per test module; no private key is ever written to the repository.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.http.auth import (
    JwtAuthenticator,
    build_authenticator,
    hash_api_key,
    scopes_of,
)
from gateway.http.jwt_keys import load_verification_keys
from gateway.http.view import IDENTITY_SCOPE_KEY, GraphQLView
from gateway.settings import ConfigurationError, Settings
from schema import schema
from tests.gateway.conftest import Gateway, OpenGateway

AUDIENCE = "https://gateway.example.com"
ISSUER = "https://login.example.com/"
SECRET = "a-test-secret-for-hs256-that-is-long-enough-0123456789"
API_KEY = "k3y-for-the-tests-0123456789abcdef"
RECOMMEND = (
    "query($user: ID!) { recommendations(userId: $user, numResults: 3) { items { itemId } } }"
)
RANKING = 'query($user: ID!) { ranking(userId: $user, items: ["i-001", "i-002"]) { source } }'
RELATED = '{ relatedItems(itemId: "i-001", numResults: 3) { items { itemId } } }'
ITEM = '{ item(id: "i-001") { id } }'


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "u-01", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 300} | changes


def hs256(payload: dict[str, Any], secret: str = SECRET) -> str:
    return jwt.encode(payload, secret, algorithm="HS256")


JWT_SETTINGS = {"auth_mode": "jwt", "auth_jwt_audience": AUDIENCE, "auth_jwt_issuer": ISSUER}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict[str, Any], payload: dict[str, Any], hmac_key: bytes | None) -> str:
    """A token PyJWT would refuse to make: `alg: none`, or HS256 keyed with a public key."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    if hmac_key is None:
        return signing_input + "."
    signature = hmac.new(hmac_key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(
    gateway: Gateway, query: str, headers: dict[str, str], user: str = "u-01"
) -> httpx.Response:
    return await gateway.client.post(
        "/graphql", json={"query": query, "variables": {"user": user}}, headers=headers
    )


def codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", ())]


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- the view's authentication alone --------------------------------------------------------


class IdentityView(GraphQLView):
    """The GraphQL view, authenticating as it does, answering with the identity it found."""

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        identity = request.scope[IDENTITY_SCOPE_KEY]
        return JSONResponse({"user_id": identity.user_id, "any_user": identity.any_user})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def call(
    settings: dict[str, Any],
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = "/graphql",
    params: dict[str, str] | None = None,
) -> httpx.Response:
    """Request `path` of an app whose /graphql view authenticates as configured by `settings`."""
    view = IdentityView(
        schema,
        authenticator=build_authenticator(Settings(**settings)),
        graphql_ide="graphiql",
    )
    app = Starlette(routes=[Route("/graphql", view), Route("/healthz", healthz)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        return await client.request(method, path, headers=headers, params=params)


def refusal(response: httpx.Response) -> tuple[int, str, str, list[str]]:
    return (
        response.status_code,
        response.headers.get("www-authenticate", ""),
        response.json()["errors"][0]["message"],
        codes(response),
    )


def invalid_token(message: str) -> tuple[int, str, str, list[str]]:
    """The 401 for a token that fails, as RFC 6750 spells its challenge."""
    return (
        401,
        f'Bearer realm="personalize-gateway", error="invalid_token", '
        f'error_description="{message.replace(chr(34), chr(39))}"',
        message,
        ["UNAUTHENTICATED"],
    )


HS256_SETTINGS = JWT_SETTINGS | {"auth_jwt_secret": SECRET}


async def test_jwt_valid_token_gives_its_subject() -> None:
    response = await call(HS256_SETTINGS, bearer(hs256(claims(sub="u-42"))))

    assert response.json() == {"user_id": "u-42", "any_user": False}


async def test_jwt_token_with_the_any_user_scope_may_ask_for_any_user() -> None:
    token = hs256(claims(scope="openid recommendations:any-user"))

    response = await call(HS256_SETTINGS, bearer(token))

    assert response.json() == {"user_id": "u-01", "any_user": True}


async def test_jwt_any_user_scope_and_user_claim_are_configurable() -> None:
    settings = HS256_SETTINGS | {
        "auth_any_user_scope": "personalize.read_all",
        "auth_user_claim": "customer_id",
    }
    token = hs256(claims(sub="auth0|123", customer_id="u-02", scp=["personalize.read_all"]))

    response = await call(settings, bearer(token))

    assert response.json() == {"user_id": "u-02", "any_user": True}


def test_scopes_are_read_from_scope_and_scp() -> None:
    assert scopes_of({"scope": "a b", "scp": ["c", 4], "other": "d"}) == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (hs256(claims(exp=int(time.time()) - 120)), "The token has expired."),
        (
            hs256(claims(nbf=int(time.time()) + 600)),
            "The token is not valid yet (nbf or iat is in the future).",
        ),
        (hs256(claims(), secret=SECRET[::-1]), "The token's signature does not verify."),
        (
            hs256(claims(aud="https://other.example.com")),
            "The token is not meant for this gateway (aud).",
        ),
        (
            hs256(claims(iss="https://evil.example.com/")),
            "The token is not from the issuer this gateway trusts (iss).",
        ),
        (
            forged({"alg": "none", "typ": "JWT"}, claims(), None),
            "The token's signing algorithm (alg) is not allowed.",
        ),
        (
            hs256({key: value for key, value in claims().items() if key != "exp"}),
            "The token has no 'exp' claim.",
        ),
        (
            hs256(claims(sub="")),
            "The token's 'sub' claim must name a user (1 to 256 characters).",
        ),
        ("not-a-token", "The token is not a well-formed JWT."),
    ],
    ids=[
        "expired",
        "not-yet-valid",
        "wrong-signature",
        "wrong-audience",
        "wrong-issuer",
        "alg-none",
        "no-exp",
        "empty-subject",
        "malformed",
    ],
)
async def test_jwt_invalid_token_is_a_401_with_a_challenge(token: str, message: str) -> None:
    response = await call(HS256_SETTINGS, bearer(token))

    assert refusal(response) == invalid_token(message)


async def test_jwt_expired_within_the_leeway_is_let_in() -> None:
    token = hs256(claims(exp=int(time.time()) - 5))

    response = await call(HS256_SETTINGS | {"auth_jwt_leeway": 30}, bearer(token))

    assert response.status_code == 200


async def test_jwt_expired_just_past_the_leeway_is_refused() -> None:
    token = hs256(claims(exp=int(time.time()) - 5))

    response = await call(HS256_SETTINGS | {"auth_jwt_leeway": 0}, bearer(token))

    assert refusal(response) == invalid_token("The token has expired.")


async def test_jwt_missing_token_is_a_401_with_a_bare_challenge() -> None:
    response = await call(HS256_SETTINGS, {})

    assert refusal(response) == (
        401,
        'Bearer realm="personalize-gateway"',
        "A bearer token is required: send 'Authorization: Bearer TOKEN'.",
        ["UNAUTHENTICATED"],
    )


async def test_jwt_in_another_scheme_is_a_401() -> None:
    response = await call(HS256_SETTINGS, {"Authorization": f"Basic {hs256(claims())}"})

    assert refusal(response) == invalid_token("Send the token as 'Authorization: Bearer TOKEN'.")


async def test_jwt_missing_token_is_anonymous_when_allowed() -> None:
    response = await call(HS256_SETTINGS | {"auth_allow_anonymous": True}, {})

    assert response.json() == {"user_id": None, "any_user": False}


async def test_jwt_bad_token_is_refused_even_when_anonymous_is_allowed() -> None:
    response = await call(HS256_SETTINGS | {"auth_allow_anonymous": True}, bearer("x.y.z"))

    assert response.status_code == 401


@pytest.mark.parametrize(
    "params",
    [{"query": ITEM}, {"extensions": '{"persistedQuery": {"version": 1}}'}],
    ids=["query", "persisted-query"],
)
async def test_jwt_get_that_runs_an_operation_needs_a_token(params: dict[str, str]) -> None:
    response = await call(HS256_SETTINGS, {}, method="GET", params=params)

    assert response.status_code == 401


async def test_jwt_bare_get_the_ide_page_needs_no_token() -> None:
    response = await call(HS256_SETTINGS, {}, method="GET")

    assert response.json() == {"user_id": None, "any_user": False}


async def test_jwt_other_paths_are_not_guarded() -> None:
    response = await call(HS256_SETTINGS, {}, method="GET", path="/healthz")

    assert response.status_code == 200


@pytest.fixture
def rsa_pem_file(tmp_path: Path, rsa_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "rsa.pem"
    path.write_bytes(public_pem(rsa_key))
    return path


async def test_jwt_rs256_public_key_verifies_its_tokens(
    rsa_pem_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = jwt.encode(claims(), rsa_key, "RS256")

    response = await call(JWT_SETTINGS | {"auth_jwt_public_key_file": rsa_pem_file}, bearer(token))

    assert response.json() == {"user_id": "u-01", "any_user": False}


async def test_jwt_rs256_public_key_refuses_hs256_keyed_with_it(
    rsa_pem_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    token = forged({"alg": "HS256", "typ": "JWT"}, claims(), public_pem(rsa_key))

    response = await call(JWT_SETTINGS | {"auth_jwt_public_key_file": rsa_pem_file}, bearer(token))

    assert refusal(response) == invalid_token("The token's signing algorithm (alg) is not allowed.")


async def test_jwt_es256_public_key_verifies_its_tokens(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "ec.pem").write_bytes(public_pem(ec_key))
    token = jwt.encode(claims(), ec_key, "ES256")

    response = await call(
        JWT_SETTINGS | {"auth_jwt_public_key_file": tmp_path / "ec.pem"}, bearer(token)
    )

    assert response.json() == {"user_id": "u-01", "any_user": False}


def jwks(**keys: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    entries = []
    for kid, key in keys.items():
        if isinstance(key, rsa.RSAPrivateKey):
            entry = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        else:
            entry = json.loads(ECAlgorithm.to_jwk(key.public_key()))
        entries.append(entry | {"kid": kid})
    return json.dumps({"keys": entries})


@pytest.fixture
def jwks_settings(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> dict[str, Any]:
    (tmp_path / "jwks.json").write_text(jwks(old=rsa_key, current=ec_key))
    return JWT_SETTINGS | {"auth_jwks_file": tmp_path / "jwks.json"}


@pytest.mark.parametrize(("kid", "algorithm"), [("old", "RS256"), ("current", "ES256")])
async def test_jwt_jwks_key_with_the_right_kid_verifies(
    jwks_settings: dict[str, Any],
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    kid: str,
    algorithm: str,
) -> None:
    key = rsa_key if algorithm == "RS256" else ec_key
    token = jwt.encode(claims(), key, algorithm, headers={"kid": kid})

    response = await call(jwks_settings, bearer(token))

    assert response.json() == {"user_id": "u-01", "any_user": False}


async def test_jwt_jwks_unknown_kid_is_refused(
    jwks_settings: dict[str, Any], ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(claims(), ec_key, "ES256", headers={"kid": "retired"})

    response = await call(jwks_settings, bearer(token))

    assert refusal(response) == invalid_token(
        "The token's key id (kid) names none of the gateway's keys."
    )


async def test_jwt_jwks_kid_of_another_key_is_refused(
    jwks_settings: dict[str, Any], ec_key: ec.EllipticCurvePrivateKey
) -> None:
    token = jwt.encode(claims(), ec_key, "ES256", headers={"kid": "old"})

    response = await call(jwks_settings, bearer(token))

    assert refusal(response) == invalid_token("The token's signing algorithm (alg) is not allowed.")


API_KEY_SETTINGS = {"auth_mode": "api-key", "auth_api_keys": [hash_api_key(API_KEY)]}


@pytest.mark.parametrize(
    "headers",
    [{"X-API-Key": API_KEY}, {"Authorization": f"ApiKey {API_KEY}"}],
    ids=["x-api-key", "authorization"],
)
async def test_api_key_right_may_ask_for_any_user(headers: dict[str, str]) -> None:
    response = await call(API_KEY_SETTINGS, headers)

    assert response.json() == {"user_id": None, "any_user": True}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-API-Key": API_KEY + "x"}, "The API key is not valid."),
        ({"Authorization": "ApiKey "}, "The API key is not valid."),
        ({}, "An API key is required: send it as 'X-API-Key: KEY'."),
        (
            {"Authorization": "Bearer abc"},
            "Send the API key as 'X-API-Key: KEY' or 'Authorization: ApiKey KEY', "
            "not with the 'Bearer' scheme.",
        ),
    ],
    ids=["wrong", "empty", "missing", "bearer"],
)
async def test_api_key_wrong_or_missing_is_a_401(headers: dict[str, str], message: str) -> None:
    response = await call(API_KEY_SETTINGS, headers)

    assert refusal(response) == (
        401,
        'ApiKey realm="personalize-gateway"',
        message,
        ["UNAUTHENTICATED"],
    )


async def test_api_key_missing_is_anonymous_when_allowed() -> None:
    response = await call(API_KEY_SETTINGS | {"auth_allow_anonymous": True}, {})

    assert response.json() == {"user_id": None, "any_user": False}


def test_hash_api_key_is_the_sha256_hex_digest() -> None:
    assert hash_api_key(API_KEY) == hashlib.sha256(API_KEY.encode()).hexdigest()


@pytest.mark.parametrize(
    ("key", "message"),
    [("short", "use at least 16 random ones"), ("a key with spaces!", "printable ASCII")],
)
def test_hash_api_key_refuses_an_unusable_key(key: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hash_api_key(key)


# --- the whole app: what each identity may ask ------------------------------------------------


@pytest.fixture
async def jwt_gateway(open_gateway: OpenGateway) -> AsyncIterator[Gateway]:
    async with open_gateway(**HS256_SETTINGS, auth_allow_anonymous=True) as gateway:
        yield gateway


async def test_app_jwt_for_its_own_user_is_answered(jwt_gateway: Gateway) -> None:
    response = await post(jwt_gateway, RECOMMEND, bearer(hs256(claims())))

    assert (response.status_code, len(response.json()["data"]["recommendations"]["items"])) == (
        200,
        3,
    )


@pytest.mark.parametrize("query", [RECOMMEND, RANKING])
async def test_app_jwt_for_user_a_asking_for_user_b_is_forbidden(
    jwt_gateway: Gateway, query: str
) -> None:
    response = await post(jwt_gateway, query, bearer(hs256(claims(sub="u-01"))), user="u-02")

    assert (response.status_code, response.json()["data"], codes(response)) == (
        200,
        None,
        ["FORBIDDEN"],
    )


async def test_app_jwt_with_the_any_user_scope_is_answered_for_user_b(
    jwt_gateway: Gateway,
) -> None:
    token = hs256(claims(scope="recommendations:any-user"))

    response = await post(jwt_gateway, RECOMMEND, bearer(token), user="u-02")

    assert (response.status_code, codes(response)) == (200, [])


async def test_app_jwt_expired_token_is_a_401(jwt_gateway: Gateway) -> None:
    response = await post(jwt_gateway, RECOMMEND, bearer(hs256(claims(exp=1))))

    assert (response.status_code, codes(response)) == (401, ["UNAUTHENTICATED"])


async def test_app_anonymous_gets_item_based_fields(jwt_gateway: Gateway) -> None:
    response = await post(jwt_gateway, f"{{ {RELATED[1:-1]} {ITEM[1:-1]} }}", {})

    assert (response.status_code, codes(response)) == (200, [])


async def test_app_anonymous_asking_for_a_user_is_unauthenticated(jwt_gateway: Gateway) -> None:
    response = await post(jwt_gateway, RECOMMEND, {})

    assert (response.status_code, codes(response)) == (200, ["UNAUTHENTICATED"])


async def test_app_api_key_asks_for_any_user(open_gateway: OpenGateway) -> None:
    async with open_gateway(**API_KEY_SETTINGS) as gateway:
        response = await post(gateway, RECOMMEND, {"X-API-Key": API_KEY}, user="u-07")

    assert (response.status_code, codes(response)) == (200, [])


async def test_app_auth_leaves_health_checks_and_the_ide_page_open(
    open_gateway: OpenGateway,
) -> None:
    async with open_gateway(**API_KEY_SETTINGS) as gateway:
        statuses = [
            (await gateway.client.get(path, headers={"Accept": "text/html"})).status_code
            for path in ("/healthz", "/readyz", "/graphql")
        ]

    assert statuses == [200, 200, 200]


async def test_app_auth_none_lets_every_request_ask_for_any_user(gateway: Gateway) -> None:
    response = await post(gateway, RECOMMEND, {}, user="u-09")

    assert (response.status_code, codes(response)) == (200, [])


async def test_app_auth_401_carries_cors_headers(open_gateway: OpenGateway) -> None:
    origin = "https://shop.example.com"
    async with open_gateway(**API_KEY_SETTINGS, cors_origins=[origin]) as gateway:
        response = await post(gateway, RECOMMEND, {"Origin": origin})

    assert (response.status_code, response.headers["access-control-allow-origin"]) == (
        401,
        origin,
    )


def test_jwt_unreadable_key_file_stops_the_start_naming_its_setting(tmp_path: Path) -> None:
    absent = tmp_path / "absent.json"
    settings = Settings.model_validate(JWT_SETTINGS | {"auth_jwks_file": absent})

    with pytest.raises(ConfigurationError) as caught:
        build_authenticator(settings)

    assert str(caught.value) == (
        f"GATEWAY_AUTH_JWKS_FILE: cannot read {absent} (No such file or directory)"
    )


def test_jwt_algorithm_unfit_for_the_key_stops_the_start() -> None:
    settings = Settings.model_validate(HS256_SETTINGS | {"auth_jwt_algorithms": ["HS1"]})

    with pytest.raises(ConfigurationError) as caught:
        build_authenticator(settings)

    assert str(caught.value).startswith("GATEWAY_AUTH_JWT_ALGORITHMS: HS1 cannot be verified")


class CountingJwtAuthenticator(JwtAuthenticator):
    """The JWT authenticator, counting the signatures it verifies."""

    verified = 0

    def _verify(self, token: str) -> Mapping[str, Any]:
        self.verified += 1
        return super()._verify(token)


def counting_authenticator(clock: Callable[[], float]) -> CountingJwtAuthenticator:
    keys = load_verification_keys(secret=SECRET, public_key_file=None, jwks_file=None)
    return CountingJwtAuthenticator(keys, audience=AUDIENCE, issuer=ISSUER, clock=clock)


def test_jwt_token_seen_before_is_not_verified_again() -> None:
    authenticator = counting_authenticator(time.time)
    headers = Headers(bearer(hs256(claims(sub="u-07"))))

    first = authenticator.authenticate(headers)
    second = authenticator.authenticate(headers)

    assert second == first, second
    assert authenticator.verified == 1, authenticator.verified


def test_jwt_kept_identity_is_verified_again_once_its_token_expires() -> None:
    now = [float(int(time.time()))]
    authenticator = counting_authenticator(lambda: now[0])
    headers = Headers(bearer(hs256(claims(exp=int(now[0]) + 60))))
    authenticator.authenticate(headers)
    now[0] += 59
    authenticator.authenticate(headers)
    now[0] += 2

    authenticator.authenticate(headers)

    assert authenticator.verified == 2, authenticator.verified
