import logging
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from gateway.asgi import create_app_from_env

LOGGERS = ("gateway", "schema", "uvicorn", "uvicorn.access", "uvicorn.error", "emulator")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """create_app_from_env configures logging for the process; other tests expect the default."""
    saved = {
        name: (logger.handlers[:], logger.level, logger.propagate)
        for name in LOGGERS
        for logger in [logging.getLogger(name)]
    }
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_asgi_factory_builds_the_app_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, restore_logging: None
) -> None:
    monkeypatch.setenv("GATEWAY_GRAPHIQL", "false")

    app = create_app_from_env()

    assert (isinstance(app, Starlette), [route.path for route in app.routes]) == (  # type: ignore[attr-defined]
        True,
        ["/graphql", "/healthz", "/readyz"],
    )


def test_asgi_factory_exits_2_on_invalid_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GATEWAY_READ_TIMEOUT", "-1")

    with pytest.raises(SystemExit) as caught:
        create_app_from_env()

    assert (caught.value.code, capsys.readouterr().err) == (
        2,
        "personalize-gateway: invalid configuration\n"
        "GATEWAY_READ_TIMEOUT: Input should be greater than 0\n",
    )
