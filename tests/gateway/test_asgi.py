from pathlib import Path

import pytest
from starlette.applications import Starlette

from gateway.asgi import create_app_from_env


def test_asgi_factory_builds_the_app_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    monkeypatch.setenv("GATEWAY_GRAPHIQL", "false")

    app = create_app_from_env()

    assert isinstance(app, Starlette), app
    assert [route.path for route in app.routes] == ["/graphql", "/", "/healthz", "/readyz"]  # type: ignore[attr-defined]


def test_asgi_factory_exits_2_on_invalid_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "-1")

    with pytest.raises(SystemExit) as caught:
        create_app_from_env()

    assert caught.value.code == 2, caught.value.code
    assert capsys.readouterr().err == (
        "personalize-gateway: invalid configuration\n"
        "GATEWAY_READ_TIMEOUT: Input should be greater than 0\n"
    )


def test_asgi_factory_exits_2_on_an_unusable_key_file(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
    tmp_path: Path,
) -> None:
    absent = tmp_path / "jwks.json"
    for name, value in {
        "GATEWAY_AUTH_MODE": "jwt",
        "GATEWAY_AUTH_JWT_AUDIENCE": "gateway",
        "GATEWAY_AUTH_JWT_ISSUER": "https://login.example.com/",
        "GATEWAY_AUTH_JWKS_FILE": str(absent),
    }.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SystemExit) as caught:
        create_app_from_env()

    assert caught.value.code == 2, caught.value.code
    assert capsys.readouterr().err == (
        "personalize-gateway: invalid configuration\n"
        f"GATEWAY_AUTH_JWKS_FILE: cannot read {absent} (No such file or directory)\n"
    )
