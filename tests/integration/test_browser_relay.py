"""Streams to browsers over real sockets: the Django helpers (the example's chat views, under
wsgiref and uvicorn) and the Starlette helper (under uvicorn), against the emulator. What a
browser gets: the headers, the events, an error it can see, heartbeats while the model
thinks, and a browser that leaves closing the provider's stream."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import override_settings

import steer_async
import steer_async.web.django
import steer_async.web.starlette
import steer_sync
import steer_sync.web.django
from steer_common.relay import BufferingWarning
from steer_common.sse import ServerSentEvent, SSEDecoder
from steer_emulator import Emulator

# The example project's settings and servers (test_django.py sets Django up).
from tests.integration.test_django import (  # noqa: F401 - fixtures
    _get,
    _read_until,
    asgi_server,
    live_server,
    prompt,
)

TOOL = prompt(
    text="It is sunny in Oslo.",
    tool_calls=[{"id": "call_1", "name": "weather", "arguments": {"city": "Oslo"}}],
    finish_reason="stop",
)
# Text, then a failure mid-stream (a 500 in band, retried never: content went out).
FAILS = prompt(text="Hello there, friend of mine", error_after_chars=12, fail_times=1000)
# A failure before any content: HTTP 400, never retried.
REFUSED = prompt(text="never", status=400, fail_times=1000)
# Two words, then the model thinks for 30 s: the provider sends keep-alives, which the
# relay does not pass on (they mean nothing to a browser): its own heartbeats keep the line
# busy. (The keep-alives also let the emulator see a closed connection during the pause.)
QUIET = prompt(
    text="one two three four", chunk_chars=4, pause_after_events=3, pause_seconds=30,
    keepalive_every=0.05,
)  # fmt: skip
STEADY = prompt(text="word " * 2000, chunk_chars=5, event_delay=0.01)


def fetch(
    address: str, path: str, body: bytes | None = None
) -> tuple[http.client.HTTPResponse, bytes]:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    connection.request(
        "POST" if body else "GET", path, body=body, headers={"Content-Type": "application/json"}
    )
    response = connection.getresponse()
    data = response.read()  # the whole stream (chunked under uvicorn)
    connection.close()
    return response, data


def events(data: bytes) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return decoder.feed(data) + decoder.close()


def named(data: bytes) -> list[tuple[str, Any]]:
    return [(e.event, json.loads(e.data)) for e in events(data)]


def chat(q: str) -> str:
    return "/chat?" + urlencode({"q": q})


def check_headers(response: http.client.HTTPResponse) -> None:
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    assert response.getheader("Cache-Control", "").startswith("no-cache")
    assert response.getheader("X-Accel-Buffering") == "no"
    assert response.getheader("Content-Encoding") is None


@pytest.fixture(params=["wsgi", "asgi"])
def django_server(request: pytest.FixtureRequest, steer_emulator: Emulator) -> str:
    """The example project under wsgiref (its blocking helper) or uvicorn (its async one)."""
    return str(request.getfixturevalue("live_server" if request.param == "wsgi" else "asgi_server"))


def test_django_sse_carries_text_and_tool_calls(django_server: str) -> None:
    response, data = fetch(django_server, chat(TOOL))
    check_headers(response)
    got = named(data)
    assert "".join(d["delta"] for name, d in got if name == "text") == "It is sunny in Oslo."
    assert [d for name, d in got if name == "tool_call_end"] == [
        {"id": "call_1", "name": "weather", "index": 0, "arguments": {"city": "Oslo"}}
    ]
    assert got[-1] == ("done", {"finish_reason": "stop"})
    assert [int(e.id) for e in events(data)] == list(range(1, len(got) + 1))


def test_django_failure_mid_stream_is_an_error_event(django_server: str) -> None:
    response, data = fetch(django_server, chat(FAILS))
    check_headers(response)
    got = named(data)
    assert "".join(d["delta"] for name, d in got if name == "text") == "Hello there,"
    (name, error), done = got[-2:]
    assert name == "error" and error["type"] == "InternalServerError"
    assert error["message"].startswith("InternalServerError: ")
    assert "127.0.0.1" not in error["message"]  # the upstream's host stays in the server's log
    assert done == ("done", {"finish_reason": "error"})


def test_django_failure_before_content_is_an_error_event_not_a_500(django_server: str) -> None:
    response, data = fetch(django_server, chat(REFUSED))
    check_headers(response)  # 200: the protocol's error event says what failed
    (name, error), done = named(data)
    assert (name, error["type"]) == ("error", "BadRequestError")
    assert done == ("done", {"finish_reason": "error"})


def test_django_ai_sdk_endpoint(django_server: str) -> None:
    body = {"messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": TOOL}]}]}
    response, data = fetch(django_server, "/api/chat", json.dumps(body).encode())
    check_headers(response)
    assert response.getheader("x-vercel-ai-ui-message-stream") == "v1"
    got = [e.data for e in events(data)]
    assert got[-1] == "[DONE]"
    chunks = [json.loads(d) for d in got[:-1]]
    assert chunks[0]["type"] == "start" and chunks[-1] == {"type": "finish", "finishReason": "stop"}
    assert (
        "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == "It is sunny in Oslo."
    )
    assert [c["input"] for c in chunks if c["type"] == "tool-input-available"] == [{"city": "Oslo"}]


def test_django_first_event_arrives_while_the_model_thinks(django_server: str) -> None:
    started = time.monotonic()
    with _get(django_server, chat(QUIET)) as sock:
        data = _read_until(sock, b'"delta":"two "')
        assert b'"delta":"one "' in data
        assert time.monotonic() - started < 10  # during the 30 s pause


def test_django_browser_leaving_closes_upstream(
    django_server: str, steer_emulator: Emulator
) -> None:
    with _get(django_server, chat(STEADY)) as sock:
        _read_until(sock, b"event: text")
    assert steer_emulator.wait_for_disconnect(1, timeout=10)


# -- heartbeats and the GZip check, on the helpers themselves ------------------------------


def after_two(got: bytes) -> bytes:
    """What came after the second word (nothing before it arrived)."""
    _, two, after = got.partition(b'"delta":"two "')
    return after if two else b""


def test_sync_helper_sends_heartbeats_while_the_model_thinks(steer_emulator: Emulator) -> None:
    client = steer_sync.SteerLLMClient()
    response = steer_sync.web.django.stream_response(
        client.stream_events(QUIET, model="gpt-4o-mini"), heartbeat=0.05
    )
    got = b""
    for chunk in response.streaming_content:
        got += chunk
        if after_two(got).count(b": heartbeat\n\n") == 2:
            break  # two heartbeats after the words, while the model thinks
    response.close()  # the browser went away
    assert steer_emulator.wait_for_disconnect(1, timeout=10)
    client.close()


async def test_async_helper_sends_heartbeats_and_closes_upstream(steer_emulator: Emulator) -> None:
    async with steer_async.SteerLLMClient() as client:
        response = steer_async.web.django.stream_response(
            client.stream_events(QUIET, model="gpt-4o-mini"), heartbeat=0.05
        )
        got = b""
        enough = asyncio.Event()

        async def consume() -> None:
            nonlocal got
            async for chunk in response.streaming_content:
                got += chunk
                if after_two(got).count(b": heartbeat\n\n") >= 2:
                    enough.set()  # two heartbeats after the words, while the model thinks

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(enough.wait(), 10)
        assert b'id: 1\nevent: text\ndata: {"delta":"one "}\n\n' in got
        task.cancel()  # the ASGI server cancels the response when the browser leaves
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(steer_emulator.wait_for_disconnect, 1, 5)


def test_gzip_middleware_is_spotted_at_first_use() -> None:
    steer_sync.web.django._checked.clear()
    gzip = ["django.middleware.gzip.GZipMiddleware"]
    with override_settings(MIDDLEWARE=gzip), pytest.warns(BufferingWarning, match="GZipMiddleware"):
        steer_sync.web.django.stream_response(iter(()))
    with override_settings(MIDDLEWARE=[]):
        steer_async.web.django.stream_response(_nothing())  # no warning


async def _nothing() -> Any:
    return
    yield


async def test_django_helpers_answer_a_full_registry_alike_200_and_an_error_event() -> None:
    # The twins, one stream held (and running) by each registry, max_streams=1: a second
    # stream is refused with the same body, the protocol's error event, by both.
    from steer_async.web.registry import StreamRegistry as AsyncStreamRegistry
    from steer_common.models.events import StreamEvent
    from steer_common.relay.replay import ReplayLimits
    from steer_sync.web.registry import StreamRegistry

    limits = ReplayLimits(max_streams=1)
    release, async_release = threading.Event(), asyncio.Event()

    def running() -> Iterator[StreamEvent]:
        yield StreamEvent(type="stream_start", model="m")
        release.wait(10)

    async def async_running() -> Any:
        yield StreamEvent(type="stream_start", model="m")
        await async_release.wait()

    with override_settings(MIDDLEWARE=[]):
        registry = StreamRegistry(limits)
        first = registry.start("a", running())
        response = steer_sync.web.django.stream_response(iter(()), stream_id="b", registry=registry)
        body = b"".join(response.streaming_content)
        async_registry = AsyncStreamRegistry(limits)
        async_first = await async_registry.start("a", async_running())
        async_response = steer_async.web.django.stream_response(
            _nothing(), stream_id="b", registry=async_registry
        )
        async_body = b"".join([chunk async for chunk in async_response.streaming_content])
    release.set()
    async_release.set()
    assert response.status_code == async_response.status_code == 200
    events = SSEDecoder().feed(body)
    assert [e.event for e in events] == ["error", "done"]
    assert json.loads(events[0].data)["type"] == "RegistryFullError"
    assert body == async_body
    # The held streams ran on to their ends.
    assert b"event: done" in b"".join(first)
    assert b"event: done" in b"".join([chunk async for chunk in async_first])


# -- Starlette under uvicorn ------------------------------------------------------------


@pytest.fixture
def starlette_server(steer_emulator: Emulator) -> Iterator[str]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = steer_async.SteerLLMClient()

    async def chat(request: Request) -> Response:
        q = request.query_params["q"]
        protocol = request.query_params.get("protocol", "sse")
        heartbeat = float(request.query_params.get("heartbeat", "15"))
        events = client.stream_events(q, model="gpt-4o-mini")
        return steer_async.web.starlette.stream_response(events, protocol, heartbeat=heartbeat)

    app = Starlette(routes=[Route("/chat", chat)])
    listener = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        listener.close()


def test_starlette_streams_each_protocol(starlette_server: str) -> None:
    response, data = fetch(starlette_server, chat(TOOL))
    check_headers(response)
    got = named(data)
    assert "".join(d["delta"] for name, d in got if name == "text") == "It is sunny in Oslo."
    assert got[-1] == ("done", {"finish_reason": "stop"})
    response, data = fetch(starlette_server, chat(TOOL) + "&protocol=ag-ui")
    kinds = [json.loads(e.data)["type"] for e in events(data)]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED" and "TOOL_CALL_START" in kinds
    response, data = fetch(starlette_server, chat(FAILS) + "&protocol=ai-sdk")
    chunks = [e.data for e in events(data)]
    assert json.loads(chunks[-3])["errorText"].startswith("InternalServerError: ")
    assert chunks[-1] == "[DONE]"


def test_starlette_heartbeats_then_browser_leaving_closes_upstream(
    starlette_server: str, steer_emulator: Emulator
) -> None:
    with _get(starlette_server, chat(QUIET) + "&heartbeat=0.05") as sock:
        _read_until(sock, b'"delta":"two "')
        _read_until(sock, b": heartbeat\n\n")  # the model thinks, the line stays busy
    assert steer_emulator.wait_for_disconnect(1, timeout=10)
