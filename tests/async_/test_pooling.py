"""A connection goes back to the pool only when its response is closed with ``reuse``: until
then it is that response's alone, even with the whole body read, so dropping it can never
close a socket another request has taken since (both asyncio transports, over loopback
against the emulator).

A batch on the httpx transport once showed the race this guards: an item whose body ended
with an in-band error was dropped, its socket closed after httpx had already pooled the
connection, and a request that had taken it in between failed with a bare ``ReadError``
(an attempt the server never saw)."""

from __future__ import annotations

import asyncio
import json

import pytest

from steer_async.aiohttp_transport import AiohttpTransport
from steer_async.transport import AsyncTransport, HttpxTransport, Response
from steer_common.request import HTTPRequest
from steer_sync.emulator import Emulator

TRANSPORTS = pytest.mark.parametrize("transport", ["httpx", "aiohttp"])


def _request(emulator: Emulator, prompt: str) -> HTTPRequest:
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": prompt}],
    }
    return HTTPRequest(
        "POST",
        emulator.base_urls["openai"] + "/chat/completions",
        {"authorization": "Bearer k", "content-type": "application/json"},
        json.dumps(body).encode(),
    )


async def _body(response: Response) -> bytes:
    parts = []
    while data := await response.read(65536, 5.0):
        parts.append(data)
    return b"".join(parts)


def _text(body: bytes) -> str:
    """The reply a Chat Completions body spells, checking it ended with ``[DONE]``."""
    assert body.endswith(b"data: [DONE]\n\n"), body[-80:]
    chunks = [json.loads(event[6:]) for event in body.split(b"\n\n") if event[:7] == b"data: {"]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def _make(transport: str) -> AsyncTransport:
    return HttpxTransport() if transport == "httpx" else AiohttpTransport()


@TRANSPORTS
def test_dropping_a_read_response_never_closes_another_requests_connection(
    transport: str,
) -> None:
    with Emulator() as emulator:
        pool = _make(transport)

        async def main() -> tuple[bytes, bytes]:
            first = await pool.open(_request(emulator, "first"), 5.0)
            whole = await _body(first)  # read to its end, not closed yet
            second = await pool.open(_request(emulator, "second"), 5.0)
            await first.close(reuse=False)  # the core doubts it: drop it
            try:
                return whole, await _body(second)
            finally:
                await second.close()
                await pool.aclose()

        first_body, second_body = asyncio.run(main())
    assert _text(first_body) == "Echo: first"
    # The second request's connection was not closed under it: its reply came whole.
    assert _text(second_body) == "Echo: second"


@TRANSPORTS
def test_a_response_read_whole_and_closed_for_reuse_is_pooled(transport: str) -> None:
    with Emulator() as emulator:
        pool = _make(transport)

        async def main() -> None:
            for prompt in ("one", "two", "three"):
                response = await pool.open(_request(emulator, prompt), 5.0)
                assert _text(await _body(response)) == f"Echo: {prompt}"
                await response.close(reuse=True)
            assert emulator.open_connections == 1  # one connection served all three
            await pool.aclose()

        asyncio.run(main())
        assert emulator.wait_for_connections(0)
