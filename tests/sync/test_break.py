"""A bare ``break`` out of ``for chunk in client.stream(...)`` closes the response at once."""

from __future__ import annotations

import time

import steer_sync
from tests.faultserver import FaultServer, chunked_sse, fixture_events
from tests.fixtures import STREAMS
from tests.parity.test_clients import client_kwargs

CHAT = next(f for f in STREAMS if f.name == "openai/chat-text-include-usage")


def test_a_bare_break_closes_the_connection_at_once() -> None:
    with FaultServer() as server:
        server.handler = lambda request: chunked_sse(
            fixture_events(CHAT.body), pause_after=2, pause=10
        )
        client = steer_sync.SteerLLMClient(**client_kwargs(server))
        started = time.monotonic()
        for _chunk in client.stream("hi", model="gpt-4o-mini"):
            break
        while not server.disconnects and time.monotonic() - started < 2:
            time.sleep(0.01)
        assert server.disconnects and server.disconnects[0] - started < 1.0
        client.close()
