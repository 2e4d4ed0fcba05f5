"""Who is asking: API keys or JWTs checked on the GraphQL endpoint, the rest left open.

Modes (`GATEWAY_AUTH_MODE`):
- `none`: no checks; every request may ask for any user (development, or behind a router
  that authenticates).
- `api-key`: `X-API-Key: KEY` or `Authorization: ApiKey KEY`; the gateway keeps only SHA-256
  digests of its keys and compares digests in constant time. A key is a trusted backend's, so
  it may ask for any user.
- `jwt`: `Authorization: Bearer TOKEN`, verified with keys read at start-up (nothing is
  fetched per request); `exp`, `nbf`, `aud` and `iss` checked. The token speaks for the user
  in its subject claim, or for any user with the configured scope.

Credentials that fail are a request-level error: 401 with a `WWW-Authenticate` challenge and
a GraphQL-shaped body (code UNAUTHENTICATED). A request without credentials is anonymous:
let in, for item-based fields only, when anonymous requests are allowed; else refused alike.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

import jwt
from jwt.exceptions import (
    DecodeError,
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAlgorithmError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    MissingRequiredClaimError,
    PyJWTError,
)
from starlette.datastructures import Headers

from gateway.http.jwt_keys import (
    KeySourceNames,
    UnknownKey,
    VerificationKeys,
    load_verification_keys,
)
from gateway.settings import ConfigurationError, Settings
from gateway.settings.sections import DEFAULT_ANY_USER_SCOPE, DEFAULT_USER_CLAIM
from schema.identity import ANONYMOUS, UNRESTRICTED, Identity
from schema.limits import MAX_ID_LENGTH

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
REALM = "personalize-gateway"
MIN_API_KEY_LENGTH = 16
MAX_VERIFIED_TOKENS = 10_000  # tokens whose identity is kept until they expire


class AuthenticationFailed(Exception):
    """The request's credentials do not pass (or are missing where they are required)."""

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.message = message
        self.challenge = challenge  # the WWW-Authenticate header value


class Authenticator(Protocol):
    """Turns a request's headers into an Identity, or raises AuthenticationFailed."""

    def authenticate(self, headers: Headers) -> Identity: ...


class NoAuthentication:
    """Auth mode `none`: every request may ask for every user."""

    def authenticate(self, headers: Headers) -> Identity:
        return UNRESTRICTED


class ApiKeyAuthenticator:
    """Auth mode `api-key`: keys known by their SHA-256 digests (lower-case hex)."""

    def __init__(self, digests: Collection[str], *, allow_anonymous: bool = False) -> None:
        self._digests = tuple(bytes.fromhex(digest) for digest in digests)
        self._allow_anonymous = allow_anonymous
        self._challenge = f'ApiKey realm="{REALM}"'

    def authenticate(self, headers: Headers) -> Identity:
        key = headers.get(API_KEY_HEADER)
        if key is None:
            scheme, _, credentials = headers.get("authorization", "").partition(" ")
            if scheme.lower() == "apikey":
                key = credentials.strip()
            elif scheme:
                raise AuthenticationFailed(
                    f"Send the API key as '{API_KEY_HEADER}: KEY' or 'Authorization: ApiKey "
                    f"KEY', not with the {scheme[:20]!r} scheme.",
                    self._challenge,
                )
        if key is None:
            if self._allow_anonymous:
                return ANONYMOUS
            raise AuthenticationFailed(
                f"An API key is required: send it as '{API_KEY_HEADER}: KEY'.", self._challenge
            )
        presented = hashlib.sha256(key.encode()).digest()
        # Every digest is compared, so the time taken says nothing about which one matched.
        matched = False
        for digest in self._digests:
            matched |= hmac.compare_digest(presented, digest)
        if not matched:
            raise AuthenticationFailed("The API key is not valid.", self._challenge)
        return UNRESTRICTED


class JwtAuthenticator:
    """Auth mode `jwt`: bearer tokens verified with keys loaded at start-up.

    A verified token's identity is kept (by the token's digest, at most `MAX_VERIFIED_TOKENS`,
    the least recently used dropped) until the token expires, so an app sending the same token
    on every request pays for its signature once. `clock` (seconds since the epoch) is for tests.
    """

    def __init__(
        self,
        keys: VerificationKeys,
        *,
        audience: str,
        issuer: str,
        leeway: float = 0.0,
        user_claim: str = DEFAULT_USER_CLAIM,
        any_user_scope: str = DEFAULT_ANY_USER_SCOPE,
        allow_anonymous: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._clock = clock
        self._verified: OrderedDict[bytes, tuple[Identity, float]] = OrderedDict()
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway
        self._user_claim = user_claim
        self._any_user_scope = any_user_scope
        self._allow_anonymous = allow_anonymous

    def authenticate(self, headers: Headers) -> Identity:
        authorization = headers.get("authorization")
        if authorization is None:
            if self._allow_anonymous:
                return ANONYMOUS
            raise AuthenticationFailed(
                "A bearer token is required: send 'Authorization: Bearer TOKEN'.",
                f'Bearer realm="{REALM}"',
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise self._invalid("Send the token as 'Authorization: Bearer TOKEN'.")
        digest = hashlib.sha256(token.strip().encode()).digest()
        kept = self._verified.get(digest)
        if kept is not None:
            if self._clock() < kept[1]:
                self._verified.move_to_end(digest)
                return kept[0]
            del self._verified[digest]
        claims = self._verify(token.strip())
        user_id = claims.get(self._user_claim)
        if not isinstance(user_id, str) or not 1 <= len(user_id) <= MAX_ID_LENGTH:
            raise self._invalid(
                f"The token's {self._user_claim!r} claim must name a user (1 to "
                f"{MAX_ID_LENGTH} characters)."
            )
        identity = Identity(user_id=user_id, any_user=self._any_user_scope in scopes_of(claims))
        self._verified[digest] = (identity, float(claims["exp"]) + self._leeway)
        if len(self._verified) > MAX_VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return identity

    def _verify(self, token: str) -> Mapping[str, Any]:
        try:
            key = self._keys.key_for(jwt.get_unverified_header(token))
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self._keys.algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except UnknownKey as error:
            raise self._invalid(str(error)) from None
        except PyJWTError as error:
            logger.info("Token refused: %s: %s", type(error).__name__, error)
            raise self._invalid(_describe(error)) from None
        return claims

    def _invalid(self, message: str) -> AuthenticationFailed:
        description = message.replace('"', "'")
        return AuthenticationFailed(
            message,
            f'Bearer realm="{REALM}", error="invalid_token", error_description="{description}"',
        )


def _describe(error: PyJWTError) -> str:
    """What is wrong with a token, in words that echo nothing of it."""
    if isinstance(error, ExpiredSignatureError):
        return "The token has expired."
    if isinstance(error, ImmatureSignatureError):
        return "The token is not valid yet (nbf or iat is in the future)."
    if isinstance(error, InvalidAudienceError):
        return "The token is not meant for this gateway (aud)."
    if isinstance(error, InvalidIssuerError):
        return "The token is not from the issuer this gateway trusts (iss)."
    if isinstance(error, InvalidAlgorithmError):
        return "The token's signing algorithm (alg) is not allowed."
    if isinstance(error, InvalidSignatureError):
        return "The token's signature does not verify."
    if isinstance(error, MissingRequiredClaimError):
        return f"The token has no {error.claim!r} claim."
    if isinstance(error, DecodeError):
        return "The token is not a well-formed JWT."
    return "The token is not valid."


def scopes_of(claims: Mapping[str, Any]) -> set[str]:
    """The token's scopes: OAuth's space-separated `scope`, or `scp` (a string or a list)."""
    scopes: set[str] = set()
    for claim in ("scope", "scp"):
        value = claims.get(claim)
        if isinstance(value, str):
            scopes.update(value.split())
        elif isinstance(value, list):
            scopes.update(scope for scope in value if isinstance(scope, str))
    return scopes


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest of `key`: what GATEWAY_AUTH_API_KEYS holds instead of the key.

    A ValueError says why a key is unusable: too short to resist guessing from its digest, or
    with characters an HTTP header does not carry intact.
    """
    if len(key) < MIN_API_KEY_LENGTH:
        raise ValueError(
            f"the key is {len(key)} characters; use at least {MIN_API_KEY_LENGTH} random ones "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    if not all("!" <= char <= "~" for char in key):
        raise ValueError("the key must be printable ASCII without spaces, as HTTP headers carry")
    return hashlib.sha256(key.encode()).hexdigest()


def build_authenticator(settings: Settings) -> Authenticator:
    """The authenticator for the settings' auth mode; its keys are read here, once.

    Raises ConfigurationError, naming the setting, when the keys cannot be used.
    """
    if settings.auth_mode == "api-key":
        return ApiKeyAuthenticator(
            settings.auth_api_keys, allow_anonymous=settings.auth_allow_anonymous
        )
    if settings.auth_mode == "jwt":
        assert settings.auth_jwt_audience is not None
        assert settings.auth_jwt_issuer is not None
        return JwtAuthenticator(
            jwt_keys(settings),
            audience=settings.auth_jwt_audience,
            issuer=settings.auth_jwt_issuer,
            leeway=settings.auth_jwt_leeway,
            user_claim=settings.auth_user_claim,
            any_user_scope=settings.auth_any_user_scope,
            allow_anonymous=settings.auth_allow_anonymous,
        )
    return NoAuthentication()


def jwt_keys(settings: Settings) -> VerificationKeys:
    """The keys that verify tokens, from the setting that gives them."""
    secret = settings.auth_jwt_secret
    try:
        return load_verification_keys(
            secret=None if secret is None else secret.get_secret_value(),
            public_key_file=settings.auth_jwt_public_key_file,
            jwks_file=settings.auth_jwks_file,
            algorithms=settings.auth_jwt_algorithms,
            names=KEY_SOURCE_NAMES,
        )
    except ValueError as error:
        raise ConfigurationError(str(error)) from None


KEY_SOURCE_NAMES = KeySourceNames(
    secret=Settings.env_var("auth_jwt_secret"),
    public_key_file=Settings.env_var("auth_jwt_public_key_file"),
    jwks_file=Settings.env_var("auth_jwks_file"),
    algorithms=Settings.env_var("auth_jwt_algorithms"),
)
