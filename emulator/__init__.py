"""A local Amazon Personalize that speaks Personalize's wire protocol.

    with start_local_personalize(Path("var/sample")) as personalize:
        client = boto3.client("personalize-runtime", endpoint_url=personalize.endpoint_url, ...)
        client.get_recommendations(
            campaignArn=personalize.config.campaign_arn("user-personalization"), userId="u1"
        )

Importing this package is cheap: numpy and the server are imported when an emulator is built.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypedDict, Unpack

from emulator.config import ConfigError, EmulatorConfig
from emulator.faults import Faults

if TYPE_CHECKING:
    import uvicorn

    from emulator.app import Stats
    from emulator.model import Model

__all__ = [
    "ConfigError",
    "EmulatorConfig",
    "Faults",
    "LocalPersonalize",
    "ServerOptions",
    "start_local_personalize",
]

_STARTUP_TIMEOUT_S = 30.0
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


class ServerOptions(TypedDict, total=False):
    """Where and how a LocalPersonalize serves, passed on to its constructor (which holds the
    defaults: 127.0.0.1, a free port, no faults)."""

    host: str
    port: int
    faults: Faults | None


class LocalPersonalize:
    """The local Personalize running on a uvicorn server in a background thread (own event loop).

    Build it from a trained model (or with `from_directory`), then `start()` it or use it as a
    context manager. `faults` can be changed while it runs; `stats` counts the calls.
    """

    def __init__(
        self,
        model: Model,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        faults: Faults | None = None,
    ) -> None:
        from emulator.app import EmulatorState, Stats

        self.model = model
        self.config = config or EmulatorConfig.default()
        self.faults = faults or Faults()
        self.stats: Stats = Stats()
        self.host = host
        self.port = port
        self._state = EmulatorState(self.config, model, self.faults, self.stats)
        self._check_filter_columns()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_directory(
        cls, data_dir: Path, config_path: Path | None = None, **server: Unpack[ServerOptions]
    ) -> LocalPersonalize:
        """Train on the CSV files in `data_dir`; serve `config_path` (or the default config)."""
        from emulator.dataset import load_dataset
        from emulator.model import Model

        config = EmulatorConfig.load(config_path) if config_path else EmulatorConfig.default()
        model = Model.train(load_dataset(data_dir))
        return cls(model, config, **server)

    @property
    def endpoint_url(self) -> str:
        """The URL to give boto3/aiobotocore as endpoint_url, e.g. http://127.0.0.1:41234."""
        if self._server is None:
            raise RuntimeError("the local Personalize is not running; call start() first")
        host = _LOOPBACK.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> LocalPersonalize:
        """Serve in a background thread; returns once the server accepts connections."""
        import uvicorn

        from emulator.app import create_emulator_app

        if self._server is not None:
            raise RuntimeError("the local Personalize is already running")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
        except OSError as error:
            sock.close()
            raise OSError(f"cannot listen on {self.host}:{self.port}: {error}") from error
        self.port = sock.getsockname()[1]
        config = _quiet_config_class()(
            create_emulator_app(self._state),
            lifespan="off",
            access_log=False,
            log_config=None,
            timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="local-personalize", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._server = self._thread = None
                sock.close()
                thread.join(timeout=1)
                raise RuntimeError(
                    f"the local Personalize did not start on {self.host}:{self.port}"
                )
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread to end."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> LocalPersonalize:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _check_filter_columns(self) -> None:
        """Refuse filters on Items columns the dataset lacks, as CreateFilter would."""
        columns = self._state.item_columns
        for name, expression in self.config.filters.items():
            missing = sorted(expression.item_columns - columns)
            if missing:
                raise ConfigError(
                    f"filters.{name}: Items.{missing[0]} is not a column of the Items dataset "
                    f"(columns: {', '.join(sorted(columns))}); declare filters that fit the "
                    "dataset in a config file"
                )


def start_local_personalize(
    data_dir: Path, config_path: Path | None = None, **server: Unpack[ServerOptions]
) -> LocalPersonalize:
    """Train on `data_dir`, start serving, and return the running LocalPersonalize."""
    return LocalPersonalize.from_directory(data_dir, config_path, **server).start()


@functools.cache
def _quiet_config_class() -> type[uvicorn.Config]:
    import uvicorn

    class QuietConfig(uvicorn.Config):
        # uvicorn's logging setup changes process-wide loggers (and would silence the access log
        # of a gateway served from the same process), so the emulator leaves logging alone.
        def configure_logging(self) -> None:
            pass

    return QuietConfig
