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
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

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
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.jwt_keys import UnknownKey, VerificationKeys
from gateway.responses import request_error_response
from schema.identity import ANONYMOUS, UNRESTRICTED, Identity

if TYPE_CHECKING:
    from gateway.settings import Settings

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-API-Key"
REALM = "personalize-gateway"
IDENTITY_SCOPE_KEY = "gateway.identity"
MIN_API_KEY_LENGTH = 16
DEFAULT_ANY_USER_SCOPE = "recommendations:any-user"
DEFAULT_USER_CLAIM = "sub"
_MAX_USER_ID_LENGTH = 256  # Personalize's UserID limit: a longer subject names no user


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
    """Auth mode `jwt`: bearer tokens verified with keys loaded at start-up."""

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
    ) -> None:
        self._keys = keys
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
        claims = self._verify(token.strip())
        user_id = claims.get(self._user_claim)
        if not isinstance(user_id, str) or not 1 <= len(user_id) <= _MAX_USER_ID_LENGTH:
            raise self._invalid(
                f"The token's {self._user_claim!r} claim must name a user (1 to "
                f"{_MAX_USER_ID_LENGTH} characters)."
            )
        return Identity(user_id=user_id, any_user=self._any_user_scope in scopes_of(claims))

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
    """The authenticator for the settings' auth mode (keys are loaded here, once)."""
    if settings.auth_mode == "api-key":
        return ApiKeyAuthenticator(
            settings.auth_api_keys, allow_anonymous=settings.auth_allow_anonymous
        )
    if settings.auth_mode == "jwt":
        assert settings.auth_jwt_audience is not None
        assert settings.auth_jwt_issuer is not None
        return JwtAuthenticator(
            settings.jwt_keys,
            audience=settings.auth_jwt_audience,
            issuer=settings.auth_jwt_issuer,
            leeway=settings.auth_jwt_leeway,
            user_claim=settings.auth_user_claim,
            any_user_scope=settings.auth_any_user_scope,
            allow_anonymous=settings.auth_allow_anonymous,
        )
    return NoAuthentication()


def identity_of(scope: Mapping[str, Any]) -> Identity:
    """The identity AuthMiddleware gave the request; anonymous if it gave none."""
    identity = scope.get(IDENTITY_SCOPE_KEY)
    return identity if isinstance(identity, Identity) else ANONYMOUS


class AuthMiddleware:
    """Authenticates HTTP requests to `paths` (the GraphQL endpoint) before they run.

    Requests that cannot run an operation pass without credentials: the GraphiQL page (a GET
    without parameters), so people can open it and add their token in its headers editor, and
    methods other than GET and POST, which the endpoint refuses anyway. Other paths (health
    checks, static assets, images) are not guarded.
    """

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, paths: Sequence[str] = ("/graphql",)
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.paths = tuple(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _route_path(scope) not in self.paths:
            await self.app(scope, receive, send)
            return
        if _runs_no_operation(scope):
            scope[IDENTITY_SCOPE_KEY] = ANONYMOUS
            await self.app(scope, receive, send)
            return
        try:
            identity = self.authenticator.authenticate(Headers(scope=scope))
        except AuthenticationFailed as failure:
            logger.info("Request refused: %s", failure.message)
            response = request_error_response(
                401, failure.message, headers={"WWW-Authenticate": failure.challenge}
            )
            await response(scope, receive, send)
            return
        scope[IDENTITY_SCOPE_KEY] = identity
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    # As Starlette routes it: without the prefix the app is mounted under.
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    return path[len(root_path) :] if root_path and path.startswith(root_path) else path


def _runs_no_operation(scope: Scope) -> bool:
    if scope["method"] == "POST":
        return False
    if scope["method"] != "GET":
        return True
    # Any parameter may name an operation (`query`, a persisted query's `extensions`): only a
    # bare GET, the IDE page, is sure to run none.
    return not QueryParams(scope.get("query_string", b""))
