"""One harness, two clients: every parity test runs against steer_sync and steer_async
(the latter on both of its transports, httpx and aiohttp).

``Runner`` gives both clients the same blocking test-side API; the async runner drives
its client on one private event loop (an httpx client belongs to one loop).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import steer_async
import steer_sync
from steer_common import StreamEvent, StreamResponse
from steer_sync.emulator import Emulator


class SyncRunner:
    kind = "sync"

    def __init__(self, **client_kwargs: Any) -> None:
        self.client = steer_sync.SteerLLMClient(**client_kwargs)

    def text(self, *args: Any, **kwargs: Any) -> list[str]:
        return list(self.client.stream(*args, **kwargs))

    def response(self, *args: Any, **kwargs: Any) -> StreamResponse:
        return self.client.stream_with_usage(*args, **kwargs)

    def events(self, *args: Any, **kwargs: Any) -> list[StreamEvent]:
        return list(self.client.stream_events(*args, **kwargs))

    def first_chunk_then_break(self, *args: Any, **kwargs: Any) -> str:
        stream = self.client.stream(*args, **kwargs)
        for chunk in stream:
            stream.close()
            return chunk  # type: ignore[no-any-return]
        raise AssertionError("no chunk")

    def timed_chunks(self, clock: Any, *args: Any, **kwargs: Any) -> list[tuple[float, str]]:
        return [(clock(), chunk) for chunk in self.client.stream(*args, **kwargs)]

    def held(self, *args: Any, take: int | None = None, **kwargs: Any) -> Any:
        """``with client.stream(...) as s``: ``(chunks, s.response or its error, error)``;
        ``take``: leave the block after that many chunks."""
        chunks: list[str] = []
        error = None
        with self.client.stream(*args, **kwargs) as s:
            try:
                for chunk in s:
                    chunks.append(chunk)
                    if len(chunks) == take:
                        break
            except Exception as exc:
                error = exc
        try:
            response: Any = s.response
        except Exception as exc:
            response = exc
        return chunks, response, error

    def batch(self, items: Any, *args: Any, take: int | None = None, **kwargs: Any) -> Any:
        """``(results, summary)`` of ``client.batch``; ``take``: leave after that many."""
        batch = self.client.batch(items, *args, **kwargs)
        results = []
        with batch:
            for result in batch:
                results.append(result)
                if len(results) == take:
                    break
        return results, batch.summary

    def close(self) -> None:
        self.client.close()


class AsyncRunner:
    kind = "async"

    def __init__(self, transport: str | None = None, **client_kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        if transport == "aiohttp":
            self.kind = "aiohttp"  # the asyncio client on its aiohttp transport
        self.client = steer_async.SteerLLMClient(transport=transport, **client_kwargs)

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def text(self, *args: Any, **kwargs: Any) -> list[str]:
        async def main() -> list[str]:
            return [chunk async for chunk in self.client.stream(*args, **kwargs)]

        return self.run(main())  # type: ignore[no-any-return]

    def response(self, *args: Any, **kwargs: Any) -> StreamResponse:
        return self.run(self.client.stream_with_usage(*args, **kwargs))  # type: ignore[no-any-return]

    def events(self, *args: Any, **kwargs: Any) -> list[StreamEvent]:
        async def main() -> list[StreamEvent]:
            return [e async for e in self.client.stream_events(*args, **kwargs)]

        return self.run(main())  # type: ignore[no-any-return]

    def first_chunk_then_break(self, *args: Any, **kwargs: Any) -> str:
        async def main() -> str:
            stream = self.client.stream(*args, **kwargs)
            async for chunk in stream:
                await stream.aclose()
                return chunk  # type: ignore[no-any-return]
            raise AssertionError("no chunk")

        return self.run(main())  # type: ignore[no-any-return]

    def timed_chunks(self, clock: Any, *args: Any, **kwargs: Any) -> list[tuple[float, str]]:
        async def main() -> list[tuple[float, str]]:
            return [(clock(), chunk) async for chunk in self.client.stream(*args, **kwargs)]

        return self.run(main())  # type: ignore[no-any-return]

    def held(self, *args: Any, take: int | None = None, **kwargs: Any) -> Any:
        async def main() -> Any:
            chunks: list[str] = []
            error = None
            async with self.client.stream(*args, **kwargs) as s:
                try:
                    async for chunk in s:
                        chunks.append(chunk)
                        if len(chunks) == take:
                            break
                except Exception as exc:
                    error = exc
            try:
                response: Any = s.response
            except Exception as exc:
                response = exc
            return chunks, response, error

        return self.run(main())

    def batch(self, items: Any, *args: Any, take: int | None = None, **kwargs: Any) -> Any:
        async def main() -> Any:
            batch = self.client.batch(items, *args, **kwargs)
            results = []
            async with batch:
                async for result in batch:
                    results.append(result)
                    if len(results) == take:
                        break
            return results, batch.summary

        return self.run(main())

    def close(self) -> None:
        if not self.loop.is_closed():
            self.run(self.client.aclose())
            self.loop.close()


Runner = SyncRunner | AsyncRunner


@pytest.fixture(params=["sync", "async", "aiohttp"])
def make_runner(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``make_runner(**client_kwargs)`` for the client under test (the blocking client, the
    asyncio client on httpx, the asyncio client on aiohttp); closed afterwards."""
    made: list[Runner] = []

    def make(**kwargs: Any) -> Runner:
        runner: Runner
        if request.param == "sync":
            runner = SyncRunner(**kwargs)
        else:
            runner = AsyncRunner("aiohttp" if request.param == "aiohttp" else None, **kwargs)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.close()


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One loopback emulator per test module (its lifetime bounded)."""
    with Emulator(lifetime=300) as emu:
        yield emu


def emulator_kwargs(emulator: Emulator, openai_api: str = "chat") -> dict[str, Any]:
    """Client arguments pointing every provider at the emulator."""
    return {
        "api_keys": dict.fromkeys(emulator.base_urls, "test-key"),
        "base_urls": emulator.base_urls,
        "openai_api": openai_api,
    }


def emulator_prompt(prefix: str, **script: Any) -> str:
    """A prompt whose directive asks the emulator for exactly this reply."""
    return f"{prefix} [[emulator:{json.dumps(script)}]]"
