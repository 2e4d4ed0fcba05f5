"""The keys that verify tokens' signatures, read once from configuration, never fetched.

One source at a time: an HMAC secret (HS*), a PEM public key (RS*, PS*, ES*), or a local
JWKS file whose keys are chosen by the token's `kid`. Each source allows only its own kind of
algorithm, so a public key can never be used as an HMAC secret (algorithm confusion), and
`none` is never an algorithm.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt import PyJWK
from jwt.exceptions import PyJWTError

HMAC_ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}  # algorithm -> shortest secret, bytes
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
PUBLIC_KEY_ALGORITHMS = RSA_ALGORITHMS | EC_ALGORITHMS.keys()
MIN_RSA_BITS = 2048


@dataclass(frozen=True)
class KeySourceNames:
    """How messages name each source of keys: by default in words, or the settings giving them."""

    secret: str = "the JWT secret"
    public_key_file: str = "the public key file"
    jwks_file: str = "the JWKS file"
    algorithms: str = "the JWT algorithms"


class UnknownKey(LookupError):
    """The token names no key the gateway has; the message says so without echoing it."""


@dataclass(frozen=True)
class VerificationKeys:
    """What verifies a token's signature, and the algorithms a token may use."""

    algorithms: tuple[str, ...]
    secret: bytes | None = None
    public_key: Any = None  # a cryptography public key object
    jwks: Mapping[str, PyJWK] | None = None  # kid -> key

    def key_for(self, header: Mapping[str, Any]) -> Any:
        """The key to verify a token whose (unverified) header is `header`."""
        if self.jwks is None:
            return self.secret if self.secret is not None else self.public_key
        kid = header.get("kid")
        if kid is None and len(self.jwks) == 1:
            return next(iter(self.jwks.values()))
        if not isinstance(kid, str) or kid not in self.jwks:
            raise UnknownKey("The token's key id (kid) names none of the gateway's keys.")
        return self.jwks[kid]


def load_verification_keys(
    *,
    secret: str | None,
    public_key_file: Path | None,
    jwks_file: Path | None,
    algorithms: Sequence[str] = (),
    names: KeySourceNames = KeySourceNames(),
) -> VerificationKeys:
    """The keys from exactly one source; a ValueError naming the source if they are unusable."""
    sources = [
        name
        for name, value in (
            (names.secret, secret),
            (names.public_key_file, public_key_file),
            (names.jwks_file, jwks_file),
        )
        if value is not None
    ]
    if len(sources) != 1:
        given = f"{' and '.join(sources)} are all set" if sources else "none is set"
        raise ValueError(
            f"JWT authentication needs exactly one of {names.secret}, {names.public_key_file} "
            f"or {names.jwks_file}; {given}"
        )
    if secret is not None:
        return _secret_keys(secret, algorithms, names)
    if public_key_file is not None:
        return _public_keys(public_key_file, algorithms, names)
    assert jwks_file is not None
    return _jwks_keys(jwks_file, algorithms, names)


def _secret_keys(secret: str, algorithms: Sequence[str], names: KeySourceNames) -> VerificationKeys:
    allowed = _check_algorithms(
        algorithms or ("HS256",), HMAC_ALGORITHMS.keys(), names.secret, names
    )
    key = secret.encode()
    shortest = max(HMAC_ALGORITHMS[name] for name in allowed)
    if len(key) < shortest:
        raise ValueError(
            f"{names.secret} is {len(key)} bytes; {'/'.join(allowed)} needs at least "
            f"{shortest} random bytes (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')"
        )
    return VerificationKeys(algorithms=allowed, secret=key)


def _public_keys(path: Path, algorithms: Sequence[str], names: KeySourceNames) -> VerificationKeys:
    setting = names.public_key_file
    data = _read(path, setting)
    if b"PRIVATE KEY" in data:
        raise ValueError(
            f"{setting}: {path} holds a private key; give the gateway the public "
            "key only (openssl pkey -in KEY -pubout)"
        )
    try:
        key = load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError(
            f"{setting}: {path} is not a PEM public key (-----BEGIN PUBLIC KEY-----)"
        ) from None
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(
                f"{setting}: {path} is a {key.key_size}-bit RSA key; at least "
                f"{MIN_RSA_BITS} bits are needed"
            )
        allowed = _check_algorithms(algorithms or ("RS256",), RSA_ALGORITHMS, setting, names)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        fitting = [name for name, curve in EC_ALGORITHMS.items() if curve == key.curve.name]
        if not fitting:
            raise ValueError(
                f"{setting}: {path} is an EC key on curve {key.curve.name}; "
                "ES256, ES384 and ES512 need P-256, P-384 or P-521"
            )
        allowed = _check_algorithms(algorithms or fitting, fitting, setting, names)
    else:
        raise ValueError(f"{setting}: {path} is a {type(key).__name__}; use an RSA or EC key")
    return VerificationKeys(algorithms=allowed, public_key=key)


def _jwks_keys(path: Path, algorithms: Sequence[str], names: KeySourceNames) -> VerificationKeys:
    setting = names.jwks_file
    try:
        document = json.loads(_read(path, setting))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{setting}: {path} is not JSON ({error})") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{setting}: {path} has no "keys" list (a JWK Set, RFC 7517)')
    keys: dict[str, PyJWK] = {}
    for index, entry in enumerate(entries):
        where = f"{setting}: {path}, keys[{index}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is not a JSON object")
        if entry.get("kty") == "oct" or "d" in entry:
            raise ValueError(f"{where} is a secret or private key; a JWKS here holds public keys")
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            if len(entries) > 1:
                raise ValueError(f'{where} has no "kid": with several keys each needs one')
            kid = ""
        if kid in keys:
            raise ValueError(f"{where}: kid {kid!r} is used twice")
        try:
            key = PyJWK(entry)
        except PyJWTError as error:
            raise ValueError(f"{where} is not a usable key ({type(error).__name__})") from None
        if key.algorithm_name not in PUBLIC_KEY_ALGORITHMS:
            raise ValueError(f"{where} is for {key.algorithm_name}, which the gateway cannot use")
        keys[kid] = key
    used = sorted({key.algorithm_name for key in keys.values()})
    allowed = _check_algorithms(algorithms or used, PUBLIC_KEY_ALGORITHMS, setting, names)
    return VerificationKeys(algorithms=allowed, jwks=keys)


def _check_algorithms(
    algorithms: Sequence[str], fitting: Any, source_setting: str, names: KeySourceNames
) -> tuple[str, ...]:
    wrong = [name for name in algorithms if name not in fitting]
    if wrong:
        raise ValueError(
            f"{names.algorithms}: {', '.join(wrong)} cannot be verified with "
            f"{source_setting}; it allows {', '.join(sorted(fitting))}"
        )
    return tuple(dict.fromkeys(algorithms))


def _read(path: Path, setting: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ValueError(f"{setting}: cannot read {path} ({error.strerror})") from None
