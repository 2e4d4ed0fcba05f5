"""Token verification keys: each source loads, and an unusable one is refused at start-up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm

from gateway.http.auth import KEY_SOURCE_NAMES
from gateway.http.jwt_keys import UnknownKey, load_verification_keys

SECRET = "s" * 48


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def pem(key: Any) -> bytes:
    return key.public_key().public_bytes(  # type: ignore[no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def refusal(**sources: Any) -> str:
    options: dict[str, Any] = {"secret": None, "public_key_file": None, "jwks_file": None}
    try:
        # Named as the gateway names them: by the settings that give them.
        load_verification_keys(**options | sources, names=KEY_SOURCE_NAMES)
    except ValueError as error:
        return str(error)
    raise AssertionError("the keys were accepted")


def test_keys_are_named_in_words_without_settings() -> None:
    with pytest.raises(ValueError, match=r"^the JWT secret is 3 bytes"):
        load_verification_keys(secret="abc", public_key_file=None, jwks_file=None)


def test_keys_from_a_secret_allow_hs256_by_default() -> None:
    keys = load_verification_keys(secret=SECRET, public_key_file=None, jwks_file=None)

    assert (keys.algorithms, keys.key_for({"alg": "HS256"})) == (("HS256",), SECRET.encode())


def test_keys_need_exactly_one_source(tmp_path: Path) -> None:
    assert refusal(secret=SECRET, jwks_file=tmp_path / "jwks.json") == (
        "JWT authentication needs exactly one of GATEWAY_AUTH_JWT_SECRET, "
        "GATEWAY_AUTH_JWT_PUBLIC_KEY_FILE or GATEWAY_AUTH_JWKS_FILE; "
        "GATEWAY_AUTH_JWT_SECRET and GATEWAY_AUTH_JWKS_FILE are all set"
    )


def test_keys_refuse_a_short_secret() -> None:
    assert refusal(secret="s" * 31).startswith(
        "GATEWAY_AUTH_JWT_SECRET is 31 bytes; HS256 needs at least 32 random bytes"
    )


def test_keys_refuse_an_asymmetric_algorithm_for_a_secret() -> None:
    assert refusal(secret=SECRET, algorithms=["HS256", "RS256"]) == (
        "GATEWAY_AUTH_JWT_ALGORITHMS: RS256 cannot be verified with GATEWAY_AUTH_JWT_SECRET; "
        "it allows HS256, HS384, HS512"
    )


def test_keys_from_an_ec_public_key_allow_es256(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "ec.pem").write_bytes(pem(ec_key))

    keys = load_verification_keys(secret=None, public_key_file=tmp_path / "ec.pem", jwks_file=None)

    assert keys.algorithms == ("ES256",)


def test_keys_refuse_rs256_for_an_ec_public_key(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "ec.pem").write_bytes(pem(ec_key))

    assert refusal(public_key_file=tmp_path / "ec.pem", algorithms=["RS256"]) == (
        "GATEWAY_AUTH_JWT_ALGORITHMS: RS256 cannot be verified with "
        "GATEWAY_AUTH_JWT_PUBLIC_KEY_FILE; it allows ES256"
    )


def test_keys_refuse_a_private_key_file(tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey) -> None:
    path = tmp_path / "private.pem"
    path.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    assert refusal(public_key_file=path) == (
        f"GATEWAY_AUTH_JWT_PUBLIC_KEY_FILE: {path} holds a private key; give the gateway the "
        "public key only (openssl pkey -in KEY -pubout)"
    )


def test_keys_refuse_a_short_rsa_key(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    (tmp_path / "small.pem").write_bytes(pem(small))

    assert refusal(public_key_file=tmp_path / "small.pem").endswith(
        "is a 1024-bit RSA key; at least 2048 bits are needed"
    )


def test_keys_refuse_a_file_that_is_not_pem(tmp_path: Path) -> None:
    (tmp_path / "key.pem").write_text("hello")

    assert refusal(public_key_file=tmp_path / "key.pem") == (
        f"GATEWAY_AUTH_JWT_PUBLIC_KEY_FILE: {tmp_path / 'key.pem'} is not a PEM public key "
        "(-----BEGIN PUBLIC KEY-----)"
    )


def test_keys_refuse_a_missing_file(tmp_path: Path) -> None:
    assert refusal(jwks_file=tmp_path / "absent.json") == (
        f"GATEWAY_AUTH_JWKS_FILE: cannot read {tmp_path / 'absent.json'} "
        "(No such file or directory)"
    )


def jwk(key: ec.EllipticCurvePrivateKey, **fields: Any) -> dict[str, Any]:
    return json.loads(ECAlgorithm.to_jwk(key.public_key())) | fields  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{", "is not JSON"),
        ('{"keys": []}', 'has no "keys" list'),
        ('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}', "keys[0] is a secret or private key"),
        ('{"keys": [{"kty": "XYZ"}]}', "keys[0] is not a usable key (InvalidKeyError)"),
    ],
)
def test_keys_refuse_an_unusable_jwks(tmp_path: Path, document: str, problem: str) -> None:
    (tmp_path / "jwks.json").write_text(document)

    assert problem in refusal(jwks_file=tmp_path / "jwks.json")


def test_keys_refuse_a_jwks_of_several_keys_without_kids(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk(ec_key), jwk(ec_key)]}))

    assert refusal(jwks_file=tmp_path / "jwks.json").endswith(
        'keys[0] has no "kid": with several keys each needs one'
    )


def test_keys_of_a_one_key_jwks_verify_tokens_without_a_kid(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk(ec_key)]}))
    keys = load_verification_keys(
        secret=None, public_key_file=None, jwks_file=tmp_path / "jwks.json"
    )

    assert keys.key_for({"alg": "ES256"}).algorithm_name == "ES256"


def test_keys_of_a_jwks_refuse_an_unknown_kid(
    tmp_path: Path, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [jwk(ec_key, kid="a")]}))
    keys = load_verification_keys(
        secret=None, public_key_file=None, jwks_file=tmp_path / "jwks.json"
    )

    with pytest.raises(UnknownKey):
        keys.key_for({"alg": "ES256", "kid": "b"})
