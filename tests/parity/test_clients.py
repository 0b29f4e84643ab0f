"""Every client behaviour, run against both clients over real loopback sockets.

The server is the tests' own fault-injecting server (tests/faultserver.py) playing the
recorded provider streams of tests/fixtures/sse, one HTTP chunk per event as the real APIs
send them, with the faults each test asks for.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from steer_common import StreamingOptions, StreamParser
from steer_common.errors import (
    AuthenticationError,
    OverloadedError,
    StreamInterruptedError,
)
from steer_common.eventstream import EventStreamDecoder, encode
from steer_common.providers import get_format
from tests.faultserver import FaultServer, Play, Request, chunked_sse, fixture_events, http_error
from tests.fixtures import STREAMS, Fixture
from tests.parity.conftest import AsyncRunner, SyncRunner

RECORDED = {
    "openai": ("gpt-4o-mini", "openai/chat-text-include-usage", "/v1/chat/completions"),
    "openai_responses": ("gpt-4o-mini", "openai/responses-text", "/v1/responses"),
    "anthropic": ("claude-sonnet-4-20250514", "anthropic/text", "/v1/messages"),
    "xai": ("grok-4-fast", "xai/grok-4-fast-text", "/v1/chat/completions"),
    "openai_compatible": (
        "openai_compatible/anthropic/claude-4.6-sonnet",
        "compat/openrouter-anthropic-bedrock-text",
        "/v1/chat/completions",
    ),
    "azure": ("azure/gpt-5-mini", "azure/chat-text-gpt-5-mini", "/openai/v1/chat/completions"),
    "azure_responses": (
        "azure/gpt-5-mini",
        "azure/responses-text-gpt-5-mini",
        "/openai/v1/responses",
    ),
    "bedrock": (
        "bedrock/us.amazon.nova-micro-v1:0",
        "bedrock/converse-text-nova-micro",
        "/model/us.amazon.nova-micro-v1%3A0/converse-stream",
    ),
    "bedrock_anthropic": (
        "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
        "bedrock/invoke-anthropic-text-haiku-4-5",
        "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream",
    ),
    "gemini": (
        "gemini-2.5-flash",
        "gemini/usage-every-chunk-2.5-flash",
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
    ),
}
KEYS = {
    "openai": "sk-test-openai",
    "anthropic": "sk-ant-test",
    "xai": "xai-test",
    "openai_compatible": "k-compat",
    "gemini": "AIza-test-gemini",
    "azure": "azure-test-key-0123456789",
    "bedrock": "ABSKQmVkcm9ja0FQSUtleS10ZXN0",
}


def fixture(name: str) -> Fixture:
    return next(f for f in STREAMS if f.name == name)


def client_kwargs(server: FaultServer, **extra: Any) -> dict[str, Any]:
    base = server.base_url
    return {
        "api_keys": KEYS,
        "base_urls": {
            "openai": f"{base}/v1",
            "anthropic": base,
            "xai": f"{base}/v1",
            "openai_compatible": f"{base}/v1",
            "gemini": f"{base}/v1beta",
            "azure": f"{base}/openai/v1",
            "bedrock": base,
        },
        **extra,
    }


@pytest.fixture
def server() -> Any:
    with FaultServer() as s:
        yield s


# -- every provider format ----------------------------------------------------------------


@pytest.mark.parametrize("wire_format", sorted(RECORDED))
def test_each_provider_format_streams_its_recording(
    make_runner: Any, server: FaultServer, wire_format: str
) -> None:
    model, name, path = RECORDED[wire_format]
    fx = fixture(name)
    wire = get_format(wire_format)
    if wire.framing == "eventstream":
        bodies = [encode(m.headers, m.payload) for m in EventStreamDecoder().feed(fx.body)]
    else:
        bodies = fixture_events(fx.body)
    headers = {"content-type": wire.content_type}
    server.handler = lambda request: chunked_sse(bodies, headers=headers)
    runner = make_runner(
        **client_kwargs(server, openai_api="responses" if wire.api == "responses" else "chat")
    )

    chunks = runner.text("Say hi", model=model)
    response = runner.response("Say hi", model=model)
    events = runner.events("Say hi", model=model)

    assert "".join(chunks) == fx.expected["text"] == response.get_text()
    assert response.complete and response.finish_reason == "stop"
    assert response.usage != {} and response.usage["total_tokens"] > 0
    # stream_events hands on exactly what the parser makes of the bytes, and the
    # accumulated response agrees with it.
    # (stream_start adds what the response head said, which a bare parser never sees).
    parser = StreamParser(fx.wire_format)
    start = next(e for e in events if e.type == "stream_start")  # pings may come first
    assert start.metadata is not None
    head = {key: start.metadata.pop(key) for key in ("headers", "request_id", "rate_limit")}
    assert head["headers"]["content-type"] == wire.content_type
    start.metadata = start.metadata or None
    assert events == parser.feed(fx.body) + parser.close()
    assert "".join(e.delta or "" for e in events if e.type == "text_delta") == response.text
    request = server.requests[0]
    assert request.path == path
    if not wire.stream_flag:
        assert "stream" not in request.json()  # it streams by its endpoint
    else:
        assert request.json()["stream"] is True
    if wire_format == "gemini":
        assert request.headers["x-goog-api-key"] == KEYS["gemini"]
        assert "authorization" not in request.headers
    if wire_format == "gemini":
        pass
    elif wire_format.startswith("azure"):
        assert request.headers["api-key"] == KEYS["azure"]
        assert "authorization" not in request.headers
    elif wire_format == "anthropic":
        assert request.headers["x-api-key"] == KEYS["anthropic"]
        assert request.headers["anthropic-version"] == "2023-06-01"
    else:
        provider = get_format(wire_format).provider
        assert request.headers["authorization"] == f"Bearer {KEYS[provider]}"
    assert request.headers["user-agent"].startswith("steer-llm-sdk/")
    assert response.metrics.time_to_first_token is not None
    assert response.metrics.bytes == len(fx.body)


# -- callbacks ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["function", "coroutine"])
def test_callbacks_fire_in_order(make_runner: Any, server: FaultServer, form: str) -> None:
    fx = fixture("openai/chat-text-include-usage")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body))
    calls: list[tuple[str, Any]] = []

    def record(name: str) -> Any:
        if form == "function":
            return lambda *args: calls.append((name, args))

        async def callback(*args: Any) -> None:
            await asyncio.sleep(0)
            calls.append((name, args))

        return callback

    options = StreamingOptions(
        on_start=record("start"),
        on_delta=record("delta"),
        on_usage=record("usage"),
        on_complete=record("complete"),
        on_error=record("error"),
    )
    runner = make_runner(**client_kwargs(server))
    chunks = runner.text("hi", model="gpt-4o-mini", streaming_options=options)

    names = [name for name, _ in calls]
    deltas = [args[0] for name, args in calls if name == "delta"]
    assert names == ["start"] + ["delta"] * len(chunks) + ["usage", "complete"]
    assert deltas == chunks
    assert calls[-2][1][0]["total_tokens"] == 22
    assert calls[-1][1][0] == fx.expected["text"]


def test_a_raising_callback_is_a_typed_error_and_closes_the_stream(
    make_runner: Any, server: FaultServer
) -> None:
    from steer_common.errors import CallbackError

    fx = fixture("openai/chat-text-gpt-4.1-nano-long")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body), pause_after=5, pause=3)
    errors: list[BaseException] = []

    def explode(text: str) -> None:
        raise RuntimeError("boom")

    options = StreamingOptions(on_delta=explode, on_error=errors.append)
    runner = make_runner(**client_kwargs(server))
    started = time.monotonic()
    with pytest.raises(CallbackError, match="on_delta callback raised RuntimeError") as info:
        runner.text("hi", model="gpt-4o-mini", streaming_options=options)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert errors == [info.value]
    _wait_for(lambda: server.disconnects, 2)
    assert server.disconnects[0] - started < 2


# -- early exit, latency ------------------------------------------------------------------


def test_break_closes_the_connection_at_once(make_runner: Any, server: FaultServer) -> None:
    fx = fixture("openai/chat-text-include-usage")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body), pause_after=2, pause=10)
    runner = make_runner(**client_kwargs(server))
    started = time.monotonic()
    assert runner.first_chunk_then_break("hi", model="gpt-4o-mini") == "The"
    _wait_for(lambda: server.disconnects, 3)
    assert server.disconnects[0] - started < 1.0


def test_a_stream_you_can_hold_gives_its_response_at_the_end(
    make_runner: Any, server: FaultServer
) -> None:
    # with client.stream(...) as s: the text, then s.response (usage, cost): no switch to
    # stream_events or callbacks to get the usage of a text stream.
    fx = fixture("openai/chat-text-include-usage")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body))
    runner = make_runner(**client_kwargs(server))
    chunks, response, error = runner.held("hi", model="gpt-4o-mini")
    assert error is None and "".join(chunks) == fx.expected["text"]
    assert response.text == fx.expected["text"] and response.complete
    assert response.usage["total_tokens"] == fx.expected["usage"]["total_tokens"]
    assert response.cost_usd is not None and response.cost_usd > 0
    assert runner.text("hi", model="gpt-4o-mini") == chunks  # without the with: the same


def test_leaving_a_held_stream_early_closes_the_connection(
    make_runner: Any, server: FaultServer
) -> None:
    from steer_common.errors import InvalidStateError

    fx = fixture("openai/chat-text-include-usage")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body), pause_after=2, pause=10)
    runner = make_runner(**client_kwargs(server))
    started = time.monotonic()
    chunks, response, error = runner.held("hi", model="gpt-4o-mini", take=1)
    assert chunks == ["The"] and error is None
    _wait_for(lambda: server.disconnects, 3)  # the generation (and the billing) stops
    assert server.disconnects[0] - started < 1.0
    assert isinstance(response, InvalidStateError) and "to its end" in str(response)


def test_a_held_stream_that_fails_gives_the_partial_response(
    make_runner: Any, server: FaultServer
) -> None:
    fx = fixture("openai/chat-text-include-usage")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body)[:4], end=False)
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(reconnect_delay=0.01)
    chunks, response, error = runner.held("hi", model="gpt-4o-mini", streaming_options=options)
    assert isinstance(error, StreamInterruptedError)
    assert response is error.partial_response and response.text == "".join(chunks)
    assert response.text == "The capital of" and not response.complete


@pytest.mark.parametrize("chunk_size", [None, 65536])
def test_an_event_is_handed_on_before_a_pause_ends(
    make_runner: Any, server: FaultServer, chunk_size: int | None
) -> None:
    fx = fixture("openai/chat-text-include-usage")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body), pause_after=2, pause=1.5)
    options = StreamingOptions() if chunk_size is None else StreamingOptions(chunk_size=chunk_size)
    runner = make_runner(**client_kwargs(server))
    started = time.monotonic()
    timed = runner.timed_chunks(
        time.monotonic, "hi", model="gpt-4o-mini", streaming_options=options
    )
    first_at, first = timed[0]
    assert first == "The"
    assert first_at - started < 1.0  # long before the 1.5 s pause ends
    assert timed[-1][0] - started >= 1.5
    assert "".join(c for _, c in timed) == fx.expected["text"]


# -- retries -----------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(make_runner: Any, server: FaultServer) -> None:
    fx = fixture("openai/chat-text-include-usage")
    server.queue(
        http_error(
            429,
            {
                "error": {
                    "message": "Rate limit reached",
                    "type": "requests",
                    "code": "rate_limit_exceeded",
                }
            },
            {"retry-after-ms": "300", "x-request-id": "req_1"},
        ),
        chunked_sse(fixture_events(fx.body)),
    )
    runner = make_runner(**client_kwargs(server))
    started = time.monotonic()
    response = runner.response("hi", model="gpt-4o-mini")
    assert response.text == fx.expected["text"]
    assert response.metrics.attempts == 2
    assert len(server.requests) == 2
    assert time.monotonic() - started >= 0.3


def test_401_is_not_retried_and_names_the_variable_never_the_key(
    make_runner: Any, server: FaultServer
) -> None:
    server.queue(
        http_error(
            401,
            {
                "error": {
                    "message": f"Incorrect API key provided: {KEYS['openai']}",
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            },
        )
    )
    runner = make_runner(**client_kwargs(server))
    with pytest.raises(AuthenticationError) as info:
        runner.response("hi", model="gpt-4o-mini")
    assert info.value.status_code == 401
    assert KEYS["openai"] not in str(info.value) and KEYS["openai"] not in repr(info.value)
    assert "OPENAI_API_KEY" in str(info.value)
    assert len(server.requests) == 1


ANTHROPIC_OVERLOAD = b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'


def test_anthropic_overload_before_content_is_retried_invisibly(
    make_runner: Any, server: FaultServer
) -> None:
    fx = fixture("anthropic/text")
    events = fixture_events(fx.body)
    server.queue(
        chunked_sse([*events[:2], ANTHROPIC_OVERLOAD], end=False),  # message_start, ping, error
        chunked_sse(events),
    )
    runner = make_runner(
        **client_kwargs(server, streaming_options=StreamingOptions(reconnect_delay=0.01))
    )
    seen = runner.events("hi", model="claude-sonnet-4-20250514")
    assert [e.type for e in seen].count("stream_start") == 1
    assert "".join(e.delta or "" for e in seen if e.type == "text_delta") == fx.expected["text"]
    assert len(server.requests) == 2


def test_anthropic_overload_after_content_raises_with_the_partial_text(
    make_runner: Any, server: FaultServer
) -> None:
    fx = fixture("anthropic/mid-stream-overloaded-error")
    server.handler = lambda request: chunked_sse(fixture_events(fx.body), end=False)
    runner = make_runner(**client_kwargs(server))
    received: list[str] = []
    options = StreamingOptions(on_delta=received.append, reconnect_delay=0.01)
    with pytest.raises(OverloadedError) as info:
        runner.text("hi", model="claude-sonnet-4-20250514", streaming_options=options)
    partial = info.value.partial_response
    assert partial is not None and not partial.complete
    assert partial.text == fx.expected["partial_text_before_error"]
    assert "".join(received) == partial.text  # handed on once, never repeated
    assert len(server.requests) == 1  # not retried: content had been handed on


@pytest.mark.parametrize(("consumer", "requests"), [("events", 1), ("text", 1), ("response", 4)])
def test_a_cut_without_the_terminal_signal_is_an_error_with_the_partial(
    make_runner: Any, server: FaultServer, consumer: str, requests: int
) -> None:
    fx = fixture("openai/chat-text-include-usage")
    events = fixture_events(fx.body)
    server.handler = lambda request: chunked_sse(events[:4], end=False)
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(reconnect_delay=0.01)
    with pytest.raises(StreamInterruptedError) as info:
        getattr(runner, consumer)("hi", model="gpt-4o-mini", streaming_options=options)
    partial = info.value.partial_response
    assert partial is not None and partial.text == "The capital of"
    # stream() and stream_events() handed "The capital of" on: it cannot be taken back, so
    # no retry. stream_with_usage() handed nothing on yet: the whole call is retried.
    assert len(server.requests) == requests


@pytest.mark.parametrize("wire_format", ["openai", "xai", "azure"])
def test_a_cut_after_the_finish_reason_that_loses_the_usage_is_an_error(
    make_runner: Any, server: FaultServer, wire_format: str
) -> None:
    # The request asked for usage (stream_options.include_usage): a stream cut after its
    # finish_reason, before the usage chunk and [DONE], is not complete; it closed as
    # complete with usage None (and the README's usage["total_tokens"] failed).
    model, name, _ = RECORDED[wire_format]
    fx = fixture(name)
    events = fixture_events(fx.body)
    assert b"[DONE]" in events[-1] and b'"usage":{' in events[-2].replace(b": ", b":")
    server.queue(chunked_sse(events[:-2]))  # a whole HTTP body: the stream is what is cut
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(reconnect_delay=0.01)
    with pytest.raises(StreamInterruptedError, match="before the usage chunk") as info:
        runner.text("hi", model=model, streaming_options=options)
    partial = info.value.partial_response
    assert partial is not None and partial.text == fx.expected["text"]
    assert partial.usage != {}  # estimated, and saying so
    assert set(partial.usage["provenance"].values()) != {"reported"}
    # stream_with_usage() had handed nothing on: retried, and the whole stream's usage.
    server.queue(chunked_sse(events[:-2]), chunked_sse(events))
    response = runner.response("hi", model=model, streaming_options=options)
    assert response.usage != {} and response.usage["total_tokens"] > 0
    assert [a.error is not None for a in response.attempts] == [True, False]


# -- sharing -----------------------------------------------------------------------------------


def echo_handler(request: Request) -> Play:
    """Chat Completions chunks spelling out the prompt, word by word."""
    prompt = request.json()["messages"][-1]["content"]
    words = prompt.split(" ")
    chunks = [
        {
            "id": "c",
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {"content": w + " "}, "finish_reason": None}],
        }
        for w in words
    ]
    chunks.append({"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    events = [b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks] + [b"data: [DONE]\n\n"]
    return chunked_sse(events)


def test_32_threads_share_one_sync_client(server: FaultServer) -> None:
    server.handler = echo_handler
    runner = SyncRunner(**client_kwargs(server))
    try:

        def one(i: int) -> str:
            return "".join(runner.text(f"thread {i} says hello to {i * 7}", model="gpt-4o-mini"))

        with ThreadPoolExecutor(32) as pool:
            results = list(pool.map(one, range(96)))
        assert results == [f"thread {i} says hello to {i * 7} " for i in range(96)]
        assert server.connections <= 64  # connections were pooled and reused
    finally:
        runner.close()
    assert threading.active_count() < 40


def test_200_tasks_share_one_async_client(server: FaultServer) -> None:
    server.handler = echo_handler
    runner = AsyncRunner(**client_kwargs(server))
    try:

        async def one(i: int) -> str:
            return "".join(
                [
                    c
                    async for c in runner.client.stream(
                        f"task {i} hello {i * 3}", model="gpt-4o-mini"
                    )
                ]
            )

        async def main() -> list[str]:
            return list(await asyncio.gather(*(one(i) for i in range(200))))

        assert runner.run(main()) == [f"task {i} hello {i * 3} " for i in range(200)]
    finally:
        runner.close()


def _wait_for(condition: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
