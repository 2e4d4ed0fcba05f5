"""The gateway's app in this process, for benchmarks that compare its configurations.

The app runs with its real lifespan behind httpx's ASGITransport (no sockets, no server
loop); Personalize is the local Personalize in a process of its own on loopback, so the
gateway's real aiobotocore path is what runs and its CPU is not counted as the gateway's.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from bench.gateway import CAMPAIGN, SEED, read_user_ids
from bench.processes import child_env, free_port, gateway_command, spawned, wait_ready
from emulator.config import EmulatorConfig
from gateway.http.app import create_app
from gateway.settings import Settings
from gateway.tracing import Tracing
from gateway.wiring import LOCAL_CREDENTIALS

STANDARD_QUERY = (
    "query Standard($user: ID!) { recommendations(userId: $user, numResults: 25) "
    "{ recommendationId items { itemId score "
    "item { title description imageUrl price category } } } }"
)


def say(message: str) -> None:
    """Progress, on stderr: stdout holds only the figures."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Upstream:
    """The local Personalize serving a store: where it is, and the store's users."""

    endpoint_url: str
    campaign_arn: str
    data_dir: Path
    users: list[str]

    def settings(self, **changes: Any) -> Settings:
        """Settings for the standard query on this Personalize; `changes` over them."""
        return Settings(
            personalize_endpoint_url=self.endpoint_url,
            recommendations_arn=self.campaign_arn,
            graphiql=False,
            **changes,
        )


@contextlib.contextmanager
def local_personalize(work: Path, data_dir: Path | None) -> Iterator[Upstream]:
    """The local Personalize on `data_dir` (default: the sample store, written into `work`)."""
    if data_dir is None:
        from emulator.sample import write_sample_dataset

        data_dir = work / "sample"
        say(f"writing the sample store to {data_dir} ...")
        write_sample_dataset(data_dir, seed=SEED)
    say("starting the local Personalize (training on the store) ...")
    port = free_port()
    command = gateway_command("emulator", "--data", str(data_dir), "--port", str(port))
    with spawned(
        "the local Personalize",
        command,
        port=port,
        log=work / "emulator.log",
        env=child_env({}),
        cores=None,
        ready_path="/healthz",
    ) as emulator:
        wait_ready(emulator)
        campaign_arn = EmulatorConfig.default().campaign_arn(CAMPAIGN)
        yield Upstream(emulator.base_url, campaign_arn, data_dir, read_user_ids(data_dir))


@dataclass
class OpenApp:
    client: httpx.AsyncClient
    state: dict[str, Any]

    async def standard_query(self, user: str) -> dict[str, Any]:
        """POST the standard query for `user`; its JSON answer (RuntimeError unless 200)."""
        response = await self.client.post(
            "/graphql", json={"query": STANDARD_QUERY, "variables": {"user": user}}
        )
        if response.status_code != 200:
            raise RuntimeError(f"the gateway answered {response.status_code}: {response.text}")
        answer: dict[str, Any] = response.json()
        return answer


@contextlib.asynccontextmanager
async def open_app(settings: Settings, tracing: Tracing | None = None) -> AsyncIterator[OpenApp]:
    """The gateway's app for `settings` (and `tracing` over theirs), lifespan entered, and a
    client of it."""
    app = create_app(settings, credentials=LOCAL_CREDENTIALS, tracing=tracing)
    async with app.router.lifespan_context(app) as opened:
        state = dict(opened or {})

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            await app({**scope, "state": dict(state)}, receive, send)

        transport = httpx.ASGITransport(app=serve)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield OpenApp(client, state)
