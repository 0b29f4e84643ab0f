"""Cancelling the task that streams closes the HTTP response at once (asyncio client, on
both of its transports)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

import steer_async
from steer_emulator import Emulator, ScriptedReply
from tests.faultserver import FaultServer, chunked_sse, fixture_events
from tests.fixtures import STREAMS
from tests.parity.test_clients import client_kwargs

CHAT = next(f for f in STREAMS if f.name == "openai/chat-text-include-usage")
TRANSPORTS = pytest.mark.parametrize("transport", ["httpx", "aiohttp"])


@TRANSPORTS
async def test_cancelling_the_task_closes_the_connection(transport: str) -> None:
    with FaultServer() as server:
        server.handler = lambda request: chunked_sse(
            fixture_events(CHAT.body), pause_after=2, pause=10
        )
        client = steer_async.SteerLLMClient(**client_kwargs(server), transport=transport)
        received: list[str] = []

        async def consume() -> None:
            async for chunk in client.stream("hi", model="gpt-4o-mini"):
                received.append(chunk)

        task = asyncio.create_task(consume())
        while not received:
            await asyncio.sleep(0.01)
        started = time.monotonic()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        while not server.disconnects and time.monotonic() - started < 2:
            await asyncio.sleep(0.01)
        assert server.disconnects and server.disconnects[0] - started < 1.0
        assert received == ["The"]
        # The client is still usable afterwards.
        server.handler = lambda request: chunked_sse(fixture_events(CHAT.body))
        response = await client.stream_with_usage("hi", model="gpt-4o-mini")
        assert response.text == CHAT.expected["text"]
        await client.aclose()


@TRANSPORTS
async def test_a_bare_break_closes_the_connection_soon(transport: str) -> None:
    with FaultServer() as server:
        server.handler = lambda request: chunked_sse(
            fixture_events(CHAT.body), pause_after=2, pause=10
        )
        client = steer_async.SteerLLMClient(**client_kwargs(server), transport=transport)
        started = time.monotonic()
        async for _chunk in client.stream("hi", model="gpt-4o-mini"):
            break
        while not server.disconnects and time.monotonic() - started < 2:
            await asyncio.sleep(0.01)
        assert server.disconnects and server.disconnects[0] - started < 1.0
        await client.aclose()


@TRANSPORTS
async def test_cancelling_the_task_cancels_a_background_response(transport: str) -> None:
    """A kept (background) stream whose task is cancelled is cancelled on the provider: the
    generation and its billing stop."""
    async with Emulator() as emulator:
        emulator.enqueue(ScriptedReply(text="A long answer. " * 40, event_delay=0.05))
        client = steer_async.SteerLLMClient(
            api_keys=dict.fromkeys(emulator.base_urls, "k"),
            base_urls=emulator.base_urls,
            openai_api="responses",
            transport=transport,
        )
        received: list[str] = []

        async def consume() -> None:
            async for chunk in client.stream("hi", model="gpt-4o-mini", background=True):
                received.append(chunk)

        task = asyncio.create_task(consume())
        while not received:
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert len(emulator.background.cancelled) == 1
        assert emulator.requests[-1].path.endswith(f"/{emulator.background.cancelled[0]}/cancel")
        await client.aclose()


async def test_a_resumable_stream_reader_cancelled_as_a_frame_arrives_stops() -> None:
    # The browser leaves (the server cancels the response's task) in the same turn of the
    # loop as the generation stores a frame: the reader must stop, not swallow the
    # cancellation and stream on (asyncio.wait_for on Python < 3.12 did).
    from steer_async.web.registry import StreamRegistry
    from steer_common.models.events import StreamEvent

    registry = StreamRegistry(heartbeat=60)
    waiting = asyncio.Event()
    got: list[bytes] = []

    async def events() -> AsyncIterator[StreamEvent]:
        yield StreamEvent(type="text_delta", delta="a")
        await waiting.wait()  # the reader is waiting for the next frame
        yield StreamEvent(type="text_delta", delta="b")
        reader.cancel()  # the frame was stored and the reader woken, in this same turn
        yield StreamEvent(type="stream_end", finish_reason="stop")

    async def read() -> None:
        async for frame in await registry.start("s1", events()):
            got.append(frame)
            waiting.set()

    reader = asyncio.ensure_future(read())
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(reader, 10)
    assert got == [b'id: 1\nevent: text\ndata: {"delta":"a"}\n\n']
