"""Every StreamingOptions field acts, in both clients, over real loopback sockets."""

from __future__ import annotations

import gzip
import socket
import time
from typing import Any

import pytest

import steer_async
import steer_sync
from steer_common import HIGH_THROUGHPUT_OPTIONS, LOW_LATENCY_OPTIONS, StreamingOptions
from steer_common.errors import (
    APIConnectionError,
    ConfigurationError,
    ConnectTimeoutError,
    InternalServerError,
    ReadTimeoutError,
    StreamInterruptedError,
    TotalTimeoutError,
)
from tests.faultserver import FaultServer, Play, chunked_sse, fixture_events, head, http_error
from tests.fixtures import STREAMS
from tests.parity.test_clients import client_kwargs

NO_RETRY = StreamingOptions(retry_on_connection_error=False)
CHAT = next(f for f in STREAMS if f.name == "openai/chat-text-include-usage")
LONG = next(f for f in STREAMS if f.name == "openai/chat-text-gpt-4.1-nano-long")
ANTHROPIC = next(f for f in STREAMS if f.name == "anthropic/text")


@pytest.fixture
def server() -> Any:
    with FaultServer() as s:
        yield s


def elapsed(fn: Any) -> tuple[float, Any]:
    started = time.monotonic()
    try:
        result: Any = fn()
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


# -- timeouts ---------------------------------------------------------------------------------


def test_connection_timeout_bounds_waiting_for_the_head(
    make_runner: Any, server: FaultServer
) -> None:
    server.handler = lambda request: Play([("sleep", 3.0), ("send", head())])
    runner = make_runner(**client_kwargs(server))
    options = NO_RETRY.replace(connection_timeout=0.4)
    took, error = elapsed(
        lambda: runner.response("hi", model="gpt-4o-mini", streaming_options=options)
    )
    assert isinstance(error, ConnectTimeoutError)
    assert 0.35 < took < 1.5


def test_read_timeout_after_a_stall(make_runner: Any, server: FaultServer) -> None:
    events = fixture_events(CHAT.body)
    server.handler = lambda request: chunked_sse(events, pause_after=3, pause=5)
    runner = make_runner(**client_kwargs(server))
    options = NO_RETRY.replace(read_timeout=0.5)
    took, error = elapsed(lambda: runner.text("hi", model="gpt-4o-mini", streaming_options=options))
    assert isinstance(error, ReadTimeoutError)
    assert error.partial_response is not None and error.partial_response.text == "The capital"
    assert 0.45 < took < 1.5


def test_keep_alives_do_not_reset_the_read_timeout(make_runner: Any, server: FaultServer) -> None:
    events = fixture_events(ANTHROPIC.body)
    keepalives: list[tuple[Any, ...]] = []
    for _ in range(40):  # 4 s of pings and comments, 0.1 s apart
        keepalives += [("chunk", b'event: ping\ndata: {"type": "ping"}\n\n'), ("sleep", 0.05)]
        keepalives += [("chunk", b": keep-alive\n\n"), ("sleep", 0.05)]
    play = chunked_sse(events[:4])  # message_start, block start, ping, first text
    play.steps = play.steps[:-1] + keepalives + [("end",)]
    server.handler = lambda request: play
    runner = make_runner(**client_kwargs(server))
    options = NO_RETRY.replace(read_timeout=0.6)
    took, error = elapsed(
        lambda: runner.text("hi", model="claude-sonnet-4-5", streaming_options=options)
    )
    assert isinstance(error, ReadTimeoutError), error
    assert "pings do not count" in str(error)
    assert 0.55 < took < 1.5


def test_total_timeout_bounds_a_trickle(make_runner: Any, server: FaultServer) -> None:
    events = fixture_events(LONG.body)
    steps: list[tuple[Any, ...]] = [("send", head())]
    for event in events:
        steps += [("chunk", event), ("sleep", 0.05)]
    server.handler = lambda request: Play([*steps, ("end",)])
    runner = make_runner(**client_kwargs(server))
    options = NO_RETRY.replace(read_timeout=1.0, total_timeout=0.8)
    took, error = elapsed(lambda: runner.text("hi", model="gpt-4o-mini", streaming_options=options))
    assert isinstance(error, TotalTimeoutError)
    assert 0.75 < took < 1.6
    assert error.partial_response is not None and error.partial_response.text


def test_total_timeout_counts_every_attempt(make_runner: Any, server: FaultServer) -> None:
    server.handler = lambda request: http_error(
        503, {"error": {"message": "busy"}}, {"retry-after": "0.4"}
    )
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(total_timeout=1.0, max_reconnect_attempts=10)
    took, error = elapsed(
        lambda: runner.response("hi", model="gpt-4o-mini", streaming_options=options)
    )
    assert isinstance(error, InternalServerError)  # the last real error, not a guess
    assert took < 1.3
    assert 2 <= len(server.requests) <= 3


# -- retries ----------------------------------------------------------------------------------


def test_max_reconnect_attempts_and_the_master_switch(
    make_runner: Any, server: FaultServer
) -> None:
    server.handler = lambda request: http_error(503, {"error": {"message": "busy"}})
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(max_reconnect_attempts=2, reconnect_delay=0.01)
    with pytest.raises(InternalServerError):
        runner.response("hi", model="gpt-4o-mini", streaming_options=options)
    assert len(server.requests) == 3
    with pytest.raises(InternalServerError):
        runner.response("hi", model="gpt-4o-mini", streaming_options=NO_RETRY)
    assert len(server.requests) == 4


def test_503_twice_then_success_with_backoff(make_runner: Any, server: FaultServer) -> None:
    server.queue(
        http_error(503, {"error": {"message": "busy"}}),
        http_error(503, {"error": {"message": "busy"}}),
        chunked_sse(fixture_events(CHAT.body)),
    )
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(reconnect_delay=0.1)
    took, response = elapsed(
        lambda: runner.response("hi", model="gpt-4o-mini", streaming_options=options)
    )
    assert response.text == CHAT.expected["text"]
    assert response.metrics.attempts == 3
    assert took >= 0.05 + 0.1  # at least half of 0.1, then half of 0.2 (jittered backoff)


def test_a_refused_connection_is_retried_then_reported(make_runner: Any) -> None:
    with FaultServer() as gone:
        base = gone.base_url
    runner = make_runner(api_keys={"openai": "k"}, base_urls={"openai": f"{base}/v1"})
    options = StreamingOptions(max_reconnect_attempts=1, reconnect_delay=0.01)
    with pytest.raises(APIConnectionError):
        runner.response("hi", model="gpt-4o-mini", streaming_options=options)


# -- buffering, compression, partial responses ------------------------------------------------


def test_buffer_size_coalesces_deltas_and_low_latency_does_not(
    make_runner: Any, server: FaultServer
) -> None:
    # The whole stream in one HTTP chunk: one read holds every event.
    server.handler = lambda request: Play([("send", head()), ("chunk", CHAT.body), ("end",)])
    runner = make_runner(**client_kwargs(server))
    fine = runner.text("hi", model="gpt-4o-mini", streaming_options=LOW_LATENCY_OPTIONS)
    coarse = runner.text("hi", model="gpt-4o-mini", streaming_options=HIGH_THROUGHPUT_OPTIONS)
    assert len(fine) == 8
    assert coarse == [CHAT.expected["text"]]
    assert "".join(fine) == "".join(coarse)


def test_small_reads_cut_large_events_anywhere(make_runner: Any, server: FaultServer) -> None:
    server.handler = lambda request: chunked_sse(fixture_events(LONG.body))
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(chunk_size=7)
    assert (
        "".join(runner.text("hi", model="gpt-4o-mini", streaming_options=options))
        == LONG.expected["text"]
    )


@pytest.mark.parametrize("corrupt", [False, True])
def test_gzip_bodies_are_decoded_incrementally(
    make_runner: Any, server: FaultServer, corrupt: bool
) -> None:
    body = gzip.compress(CHAT.body)
    if corrupt:
        body = body[:40] + bytes(b ^ 0x5A for b in body[40:80]) + body[80:]
    pieces = [body[i : i + 50] for i in range(0, len(body), 50)]
    server.handler = lambda request: Play(
        [
            ("send", head(headers={"content-encoding": "gzip"})),
            *(("chunk", p) for p in pieces),
            ("end",),
        ]
    )
    runner = make_runner(**client_kwargs(server))
    if corrupt:
        with pytest.raises((APIConnectionError, StreamInterruptedError)):
            runner.text("hi", model="gpt-4o-mini", streaming_options=NO_RETRY)
    else:
        assert "".join(runner.text("hi", model="gpt-4o-mini")) == CHAT.expected["text"]
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("preserve", [True, False])
def test_preserve_partial_response(make_runner: Any, server: FaultServer, preserve: bool) -> None:
    server.handler = lambda request: chunked_sse(fixture_events(CHAT.body)[:4], end=False)
    runner = make_runner(**client_kwargs(server))
    options = NO_RETRY.replace(preserve_partial_response=preserve)
    with pytest.raises(StreamInterruptedError) as info:
        runner.text("hi", model="gpt-4o-mini", streaming_options=options)
    if preserve:
        assert info.value.partial_response is not None
        assert info.value.partial_response.text == "The capital of"
    else:
        assert info.value.partial_response is None


def test_metrics_are_filled_in(make_runner: Any, server: FaultServer) -> None:
    server.handler = lambda request: chunked_sse(
        fixture_events(CHAT.body), pause_after=1, pause=0.2
    )
    runner = make_runner(**client_kwargs(server))
    metrics = runner.response("hi", model="gpt-4o-mini").metrics
    assert metrics.time_to_first_byte is not None and metrics.time_to_first_token is not None
    assert metrics.time_to_first_byte <= metrics.time_to_first_token <= metrics.duration  # type: ignore[operator]
    assert metrics.duration >= 0.2  # type: ignore[operator]
    assert metrics.events == 11 and metrics.deltas == 8 and metrics.bytes == len(CHAT.body)
    assert metrics.deltas_per_second is not None and metrics.deltas_per_second > 0


def test_options_as_a_plain_dict(make_runner: Any, server: FaultServer) -> None:
    server.handler = lambda request: chunked_sse(fixture_events(CHAT.body))
    seen: list[str] = []
    runner = make_runner(**client_kwargs(server), streaming_options={"read_timeout": 30})
    response = runner.response(
        "hi", model="gpt-4o-mini", streaming_options={"on_delta": seen.append, "buffer_size": 0}
    )
    assert response.text == CHAT.expected["text"] == "".join(seen)
    with pytest.raises(
        ConfigurationError, match=r"buffer_sise: no such option \(did you mean 'buffer_size'"
    ):
        runner.response("hi", model="gpt-4o-mini", streaming_options={"buffer_sise": 1})
    assert len(server.requests) == 1  # refused before any request


@pytest.mark.parametrize(
    ("argument", "hint"),
    [
        ("base_urls", {"open_ai": "http://127.0.0.1:9/v1"}),
        ("api_keys", {"OpenAI": "sk-test-openai-0123456789"}),
        ("api_keys", {"antropic": "sk-ant-test"}),
    ],
    ids=["base_urls-open_ai", "api_keys-OpenAI", "api_keys-antropic"],
)
@pytest.mark.parametrize("client", [steer_sync.SteerLLMClient, steer_async.SteerLLMClient])
def test_a_provider_name_no_provider_has_is_refused(
    client: Any, argument: str, hint: dict[str, str]
) -> None:
    # base_urls={"open_ai": ...} was ignored and the call went to the real OpenAI host;
    # api_keys={"OpenAI": ...} gave a MissingAPIKeyError that did not name it.
    (name,) = hint
    with pytest.raises(ConfigurationError) as caught:
        client(**{argument: hint})
    message = str(caught.value)
    assert f"no provider is called {name!r}" in message and argument in message
    assert "did you mean 'openai'?" in message or "did you mean 'anthropic'?" in message
    assert "sk-" not in message


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        ({"request_timeout": 10}, "streaming_options={'total_timeout': ...}"),
        ({"num_retries": 2}, "streaming_options={'max_reconnect_attempts': ...}"),
        ({"streaming_option": {"read_timeout": 1}}, "did you mean streaming_options=...?"),
        ({"temprature": 0.2}, "did you mean temperature=...?"),
        ({"read_timeout": 5}, "streaming_options={'read_timeout': ...}"),
        ({"read_timout": 5}, "did you mean streaming_options={'read_timeout': ...}?"),
        ({"api_key": "sk-test-openai-0123456789"}, "SteerLLMClient(api_keys=...)"),
        ({"base_urls": {}}, "SteerLLMClient(base_urls=...)"),
        ({"stream": True}, "every call streams"),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_a_keyword_that_is_not_a_provider_extra_is_refused_before_sending(
    make_runner: Any, server: FaultServer, extra: dict[str, Any], hint: str
) -> None:
    # They went into the request body: OpenAI answered 400, and a compatible server took
    # them in silence, so timeout=10 bounded nothing.
    server.handler = lambda request: chunked_sse(fixture_events(CHAT.body))
    runner = make_runner(**client_kwargs(server))
    for call in (runner.text, runner.response, runner.events):
        with pytest.raises(ConfigurationError) as caught:
            call("hi", model="gpt-4o-mini", **extra)
        assert hint in str(caught.value) and "sk-" not in str(caught.value)
    # A provider extra goes into the body as it is, even one close to an argument's name.
    response = runner.response(
        "hi", model="gpt-4o-mini", top_p=0.5, seed=7, user="u-1", stream_options={"x": 1}
    )
    assert response.text == CHAT.expected["text"]
    (request,) = server.requests  # the refused calls sent nothing
    assert {k: request.json()[k] for k in ("top_p", "seed", "user", "stream_options")} == {
        "top_p": 0.5,
        "seed": 7,
        "user": "u-1",
        "stream_options": {"x": 1},
    }


@pytest.mark.parametrize("framing", ["until-close", "chunked", "content-length"])
@pytest.mark.parametrize("close", [True, False], ids=["connection-close", "keep-alive"])
@pytest.mark.parametrize(
    ("connect", "read"), [(2.0, 0.4), (0.4, 1.2)], ids=["read-shorter", "read-longer"]
)
def test_read_timeout_is_the_read_timeout_whatever_the_framing(
    make_runner: Any, server: FaultServer, framing: str, close: bool, connect: float, read: float
) -> None:
    """A stall after a few events is bounded by ``read_timeout``, not by the head's
    ``connection_timeout``, whether the body is chunked, counted or read until the server
    closes, and whether the response says ``Connection: close`` (http.client drops the
    connection's socket then, and the blocking client lost its per-read timeout with it)."""
    events = fixture_events(CHAT.body)
    headers = {"connection": "close"} if close else {}
    if framing == "content-length":
        headers["content-length"] = str(sum(map(len, events)))
    if framing == "until-close" and not close:
        headers["connection"] = "keep-alive"  # no length: the body still ends at the close
    first = [("chunk" if framing == "chunked" else "send", e) for e in events[:3]]
    steps = [("send", head(headers=headers, chunked=framing == "chunked")), *first]
    server.handler = lambda request: Play([*steps, ("sleep", 4.0), ("close",)])
    runner = make_runner(**client_kwargs(server))
    options = NO_RETRY.replace(connection_timeout=connect, read_timeout=read)
    took, error = elapsed(lambda: runner.text("hi", model="gpt-4o-mini", streaming_options=options))
    assert isinstance(error, ReadTimeoutError), error
    assert error.partial_response is not None and error.partial_response.text == "The capital"
    assert read - 0.05 < took < read + 0.9


def test_an_error_says_which_provider_where_and_after_how_many_attempts(
    make_runner: Any, server: FaultServer
) -> None:
    # A ReadTimeoutError after 4 silent attempts named neither the provider nor the host
    # nor the attempts (TotalTimeoutError alone said "(3 attempt(s))").
    events = fixture_events(CHAT.body)
    server.handler = lambda request: chunked_sse(events, pause_after=1, pause=3)
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(read_timeout=0.3, reconnect_delay=0.01, max_reconnect_attempts=3)
    with pytest.raises(ReadTimeoutError) as caught:
        runner.response("hi", model="gpt-4o-mini", streaming_options=options)
    assert str(caught.value) == (
        "openai: no event for read_timeout=0.3s (keep-alive comments and pings do not count) "
        f"(at {server.base_url}, after 4 attempts)"
    )
    with pytest.raises(ReadTimeoutError) as caught:  # one attempt: no count
        runner.text("hi", model="gpt-4o-mini", streaming_options=NO_RETRY.replace(read_timeout=0.3))
    assert str(caught.value).endswith(f"(at {server.base_url})")


def test_a_connection_error_says_what_failed_not_the_librarys_internals(
    make_runner: Any,
) -> None:
    # It showed urllib3's "_WatchedHTTPConnectionPool(host=..., port=...): Max retries
    # exceeded with url: ...".
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    runner = make_runner(
        api_keys={"openai": "sk-test-openai-0123456789"},
        base_urls={"openai": f"http://127.0.0.1:{port}/v1"},
    )
    options = StreamingOptions(reconnect_delay=0.01, max_reconnect_attempts=1)
    with pytest.raises(APIConnectionError) as caught:
        runner.response("hi", model="gpt-4o-mini", streaming_options=options)
    assert str(caught.value) == (
        f"openai: connection failed: connection refused (at http://127.0.0.1:{port}, "
        "after 2 attempts)"
    )


def test_timeout_and_max_retries_as_openai_python_users_type_them(
    make_runner: Any, server: FaultServer
) -> None:
    # They went into the request body (OpenAI answered 400; a compatible server took them
    # in silence, so no timeout applied). Now: shorthands for the options.
    events = fixture_events(CHAT.body)
    server.handler = lambda request: chunked_sse(events, pause_after=3, pause=5)
    runner = make_runner(**client_kwargs(server))
    took, error = elapsed(
        lambda: runner.text("hi", model="gpt-4o-mini", timeout=0.4, max_retries=0)
    )
    assert isinstance(error, ReadTimeoutError) and "read_timeout=0.4s" in str(error)
    assert 0.35 < took < 1.5 and len(server.requests) == 1
    assert "timeout" not in server.requests[0].json()
    server.handler = lambda request: http_error(503, {"error": {"message": "busy"}})
    options = {"reconnect_delay": 0.01}
    with pytest.raises(InternalServerError, match="after 3 attempts"):
        runner.response("hi", model="gpt-4o-mini", max_retries=2, streaming_options=options)
    assert len(server.requests) == 1 + 3
