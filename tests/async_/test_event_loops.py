"""One asyncio client used from several event loops in turn: a pool per loop, each closed
with its loop, nothing left open."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from steer_async import SteerLLMClient
from steer_sync.emulator import Emulator

TRANSPORTS = pytest.mark.parametrize("transport", ["httpx", "aiohttp"])


@TRANSPORTS
def test_two_asyncio_runs_share_one_client(transport: str) -> None:
    with Emulator() as emulator, warnings.catch_warnings():
        warnings.simplefilter("error")  # an unclosed transport or socket would warn
        client = SteerLLMClient(
            dict.fromkeys(emulator.base_urls, "k"), emulator.base_urls, transport=transport
        )

        async def ask(prompt: str) -> str:
            return (await client.stream_with_usage(prompt, model="gpt-4o-mini")).text

        assert asyncio.run(ask("first")) == "Echo: first"
        assert asyncio.run(ask("second")) == "Echo: second"  # a new loop: a new pool
        assert asyncio.run(ask("third")) == "Echo: third"
        gc.collect()
        # Each run's pool was closed when its loop shut down, and forgotten after it.
        assert len(client._transport._pools) == 1
        assert emulator.wait_for_connections(0)  # and their connections with them


@TRANSPORTS
def test_aclose_then_reuse_in_the_same_loop(transport: str) -> None:
    with Emulator() as emulator:

        async def main() -> list[str]:
            client = SteerLLMClient(
                dict.fromkeys(emulator.base_urls, "k"), emulator.base_urls, transport=transport
            )
            first = (await client.stream_with_usage("a", model="gpt-4o-mini")).text
            await client.aclose()
            second = (await client.stream_with_usage("b", model="gpt-4o-mini")).text  # reconnects
            await client.aclose()
            return [first, second]

        assert asyncio.run(main()) == ["Echo: a", "Echo: b"]
