"""The fault matrix: every fault a provider, a proxy or the network inflicts, against both
clients and each wire format, over real loopback sockets (tests/faultserver.py).

Each scenario states its documented outcome (success, or a typed error) and the checks are
the same for all of them:

- the outcome is the documented one, within the scenario's time bound plus a margin;
- what the consumer received equals ``partial_response`` (or the whole reply): nothing
  lost, nothing handed on twice;
- ``on_error`` is called exactly once for an error, never for a success;
- the connection is closed at once after a failure inside a body (pooled after a success
  or a fully read error body), and the server saw the number of requests the retry policy
  implies;
- no task is left on the async client's loop, no thread behind;
- with DEBUG logging on for every logger, no API key appears in any log record, error
  message, repr, traceback or partial response (tests/hardening/secrets.py).

Set ``STEER_MATRIX_REPORT=path.md`` to write the outcome table (scenario x format x client).
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest

from steer_common import StreamingOptions, StreamParser
from steer_common.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ConnectTimeoutError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProtocolError,
    ReadTimeoutError,
    SteerError,
    StreamInterruptedError,
    TotalTimeoutError,
)
from steer_common.eventstream import EventStreamDecoder, encode
from steer_common.models.events import TEXT_DELTA
from steer_common.providers import get_format
from steer_emulator import error_body
from tests.faultserver import FaultServer, Play, chunked_sse, fixture_events, head
from tests.fixtures import Fixture, by_name, parse
from tests.hardening.secrets import everything_said, leaks
from tests.parity.conftest import AsyncRunner
from tests.parity.test_clients import KEYS, RECORDED, client_kwargs

#: Slack on every time bound: a shared, noisy machine.
MARGIN = 1.5
#: The matrix's retry policy: quick, and two retries so that "retried" is visible.
BASE = StreamingOptions(reconnect_delay=0.01, max_reconnect_attempts=2)
RETRIES = 1 + BASE.max_reconnect_attempts
ENV_VARS = {
    "openai": "OPENAI_API_KEY",
    "openai_responses": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "xai": "XAI_API_KEY",
    "openai_compatible": "OPENAI_COMPATIBLE_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "vertex_ai": "VERTEX_AI_ACCESS_TOKEN",
    "azure": "AZURE_OPENAI_API_KEY",
    "azure_responses": "AZURE_OPENAI_API_KEY",
    "bedrock": "AWS_BEARER_TOKEN_BEDROCK",
    "bedrock_anthropic": "AWS_BEARER_TOKEN_BEDROCK",
}


@dataclass(frozen=True)
class Wire:
    """One wire format: its recorded reply, cut into events, and its keep-alive."""

    name: str

    @property
    def model(self) -> str:
        return RECORDED[self.name][0]

    @cached_property
    def fixture(self) -> Fixture:
        return by_name(RECORDED[self.name][1])

    @cached_property
    def events(self) -> list[bytes]:
        if self.eventstream:  # Bedrock: one binary message per event
            messages = EventStreamDecoder().feed(self.fixture.body)
            return [encode(m.headers, m.payload) for m in messages]
        return fixture_events(self.fixture.body)

    @property
    def eventstream(self) -> bool:
        return get_format(self.name).framing == "eventstream"

    def head(self, status: int = 200, headers: dict[str, str] | None = None) -> bytes:
        """A streaming response head with the format's content type."""
        return head(status, {"content-type": get_format(self.name).content_type, **(headers or {})})

    def stream(self, events: list[bytes], **kwargs: Any) -> Play:
        """The events as a chunked response of the format's content type."""
        headers = {"content-type": get_format(self.name).content_type}
        return chunked_sse(events, headers=headers, **kwargs)

    @cached_property
    def first_content(self) -> int:
        """How many events up to and including the first that carries text."""
        parser = StreamParser(self.name)
        for i, event in enumerate(self.events, 1):
            if any(e.type == TEXT_DELTA for e in parser.feed(event)):
                return i
        raise AssertionError(f"{self.name}: no text in the recording")

    def text_of(self, events: list[bytes]) -> str:
        """The text a parser makes of these events (a partial reply, no close)."""
        parser = StreamParser(self.name)
        for event in events:
            parser.feed(event)
        return parser.response.text

    @property
    def keepalive(self) -> bytes:
        if self.name == "anthropic":
            return b'event: ping\ndata: {"type": "ping"}\n\n'
        return b": OPENROUTER PROCESSING\n\n"

    @property
    def key(self) -> str:
        return KEYS[get_format(self.name).provider]

    def client_kwargs(self, server: FaultServer) -> dict[str, Any]:
        api = get_format(self.name).api
        return client_kwargs(server, openai_api="responses" if api == "responses" else "chat")


WIRES = [Wire(name) for name in sorted(RECORDED)]


@dataclass
class Expect:
    """A scenario's documented outcome."""

    error: type[SteerError] | None
    text: str | None  # the whole reply, or the partial one (None: no partial_response)
    requests: int | None  # requests the server must see (None: do not check)
    within: float  # seconds, before MARGIN
    at_least: float = 0.0
    options: dict[str, Any] = field(default_factory=dict)
    base_url: str | None = None  # every provider pointed here instead of the server
    message: tuple[str, ...] = ()  # in str(error)
    pooled: bool = False  # the connection may stay open (in the pool) afterwards
    check: Callable[[Any], None] | None = None  # a last look at the error or the response


# -- the scenarios -------------------------------------------------------------------------
# Each takes the wire format and the server, queues what the server plays, and returns
# the documented outcome.


def refused(wire: Wire, server: FaultServer) -> Expect:
    with FaultServer() as closed:
        dead = closed.base_url
    return Expect(APIConnectionError, None, 0, 1.0, base_url=dead, message=("127.0.0.1",))


def unresolvable(wire: Wire, server: FaultServer) -> Expect:
    return Expect(
        APIConnectionError,
        None,
        0,
        2.0,
        base_url="http://no-such-host.invalid:9",
        message=("no-such-host.invalid",),
    )


def _http_error(status: int, message: str, cls: type[SteerError], retried: bool = False):  # type: ignore[no-untyped-def]
    def scenario(wire: Wire, server: FaultServer) -> Expect:
        body = error_body(wire.name, status, message.format(key=wire.key))
        play = Play([("send", _json_head(status, len(body)) + body)])
        server.handler = lambda request: play
        shown = message.format(key="[REDACTED]").split(":")[0]

        def check(error: SteerError) -> None:
            assert wire.key not in str(error) and wire.key not in repr(error)
            assert getattr(error, "status_code", None) == status
            if status in (401, 403):
                assert ENV_VARS[wire.name] in str(error)

        return Expect(
            cls,
            None,
            RETRIES if retried else 1,
            1.0,
            message=(shown,),
            pooled=True,
            check=check,
        )

    scenario.__name__ = f"http_{status}"
    return scenario


def _json_head(status: int, length: int, extra: dict[str, str] | None = None) -> bytes:
    return head(
        status,
        {"content-type": "application/json", "content-length": str(length), **(extra or {})},
        chunked=False,
    )


http_401 = _http_error(401, "Incorrect API key provided: {key}", AuthenticationError)
http_403 = _http_error(403, "Project does not have access: {key}", PermissionDeniedError)
http_400 = _http_error(400, "messages: roles must alternate", BadRequestError)
http_422 = _http_error(422, "temperature: must be at most 2", BadRequestError)
http_404 = _http_error(404, "The model `gpt-9` does not exist", NotFoundError)


def _then_success(*statuses: int, retry_after: str | None = None):  # type: ignore[no-untyped-def]
    def scenario(wire: Wire, server: FaultServer) -> Expect:
        extra = {"retry-after": retry_after} if retry_after else {}
        for status in statuses:
            body = error_body(wire.name, status)
            server.queue(Play([("send", _json_head(status, len(body), extra) + body)]))
        server.queue(wire.stream(wire.events))
        wait = float(retry_after or 0) * len(statuses)
        return Expect(
            None,
            wire.fixture.expected["text"],
            len(statuses) + 1,
            1.0 + wait,
            at_least=wait,
            pooled=True,
        )

    scenario.__name__ = "http_" + "_then_".join(map(str, statuses)) + "_then_success"
    return scenario


http_429_retry_after_then_success = _then_success(429, retry_after="1")
http_503_twice_then_success = _then_success(503, 503)
http_529_then_success = _then_success(529)


def http_529_every_time(wire: Wire, server: FaultServer) -> Expect:
    body = error_body(wire.name, 529)
    play = Play([("send", _json_head(529, len(body)) + body)])
    server.handler = lambda request: play
    return Expect(OverloadedError, None, RETRIES, 1.0, pooled=True)


def slow_headers(wire: Wire, server: FaultServer) -> Expect:
    server.handler = lambda request: Play([("sleep", 5.0), ("send", wire.head())])
    # connection_timeout bounds each attempt; the matrix allows two retries.
    return Expect(
        ConnectTimeoutError, None, RETRIES, RETRIES * 0.3, options={"connection_timeout": 0.3}
    )


def html_from_a_proxy(wire: Wire, server: FaultServer) -> Expect:
    page = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    headers = {"content-type": "text/html", "content-length": str(len(page))}
    play = Play([("send", head(200, headers, chunked=False) + page)])
    server.handler = lambda request: play
    # The page was read to its end: the connection may go back to the pool.
    return Expect(
        ProtocolError, None, 1, 1.0, message=("text/html", "502 Bad Gateway"), pooled=True
    )


def stall_after_first_content(wire: Wire, server: FaultServer) -> Expect:
    sent = wire.events[: wire.first_content]
    server.handler = lambda request: wire.stream(
        wire.events, pause_after=wire.first_content, pause=5.0
    )
    return Expect(ReadTimeoutError, wire.text_of(sent), 1, 0.5, options={"read_timeout": 0.5})


def only_keepalives(wire: Wire, server: FaultServer) -> Expect:
    sent = wire.events[: wire.first_content]
    steps: list[tuple[Any, ...]] = [("send", wire.head()), *(("chunk", e) for e in sent)]
    for _ in range(40):  # 4 s of keep-alives, one every 0.1 s
        steps += [("sleep", 0.1), ("chunk", wire.keepalive)]
    server.handler = lambda request: Play(steps)
    return Expect(ReadTimeoutError, wire.text_of(sent), 1, 0.5, options={"read_timeout": 0.5})


def trickle_past_total_timeout(wire: Wire, server: FaultServer) -> Expect:
    steps: list[tuple[Any, ...]] = [("send", wire.head())]
    pause = max(0.3, 2.0 / len(wire.events))  # the whole stream takes past the 1 s bound
    for event in wire.events:
        steps += [("chunk", event), ("sleep", pause)]
    server.handler = lambda request: Play(steps)

    def check(error: SteerError) -> None:
        partial = error.partial_response
        assert partial is not None and wire.fixture.expected["text"].startswith(partial.text)

    return Expect(
        TotalTimeoutError,
        None,
        1,
        1.0,
        options={"total_timeout": 1.0, "read_timeout": None},
        check=check,
    )


def clean_close_without_terminal(wire: Wire, server: FaultServer) -> Expect:
    sent = wire.events[: wire.first_content + 1]
    server.handler = lambda request: wire.stream(sent, end=False)
    return Expect(StreamInterruptedError, wire.text_of(sent), 1, 1.0)


def tcp_reset(wire: Wire, server: FaultServer) -> Expect:
    sent = wire.events[: wire.first_content]
    steps: list[tuple[Any, ...]] = [("send", wire.head()), *(("chunk", e) for e in sent)]
    server.handler = lambda request: Play([*steps, ("sleep", 0.1), ("reset",)])
    return Expect(StreamInterruptedError, wire.text_of(sent), 1, 1.0, message=("connection",))


def malformed_chunk(wire: Wire, server: FaultServer) -> Expect:
    sent = wire.events[: wire.first_content]
    bad = b"event: content_block_delta\n" if wire.name == "anthropic" else b""
    bad += b'data: {"choices": [{"delta": {"content": "x"\n\n'
    if wire.eventstream:  # a well-framed message whose JSON is cut short
        kind = "chunk" if wire.name == "bedrock_anthropic" else "contentBlockDelta"
        bad = encode({":event-type": kind, ":message-type": "event"}, b'{"bytes": "eyJ0')
    server.handler = lambda request: wire.stream([*sent, bad, *wire.events[len(sent) :]])
    return Expect(ProtocolError, wire.text_of(sent), 1, 1.0, message=("JSON",))


def invalid_utf8(wire: Wire, server: FaultServer) -> Expect:
    events = list(wire.events)
    i = wire.first_content - 1
    first = wire.text_of(events[: i + 1])
    word = first.encode()[:1]
    if wire.eventstream:  # inside a well-framed message (its checksums made anew)
        (message,) = EventStreamDecoder().feed(events[i])
        payload = message.payload.replace(b'"' + word, b'"\xff' + word, 1)
        if wire.name == "bedrock_anthropic":  # inside the base64 Messages API event
            chunk = json.loads(message.payload)
            inner = base64.b64decode(chunk["bytes"]).replace(b'"' + word, b'"\xff' + word, 1)
            payload = json.dumps({**chunk, "bytes": base64.b64encode(inner).decode()}).encode()
        events[i] = encode(message.headers, payload)
    else:
        events[i] = events[i].replace(b'"' + word, b'"\xff' + word, 1)
    assert events[i] != wire.events[i]
    server.handler = lambda request: wire.stream(events)
    text = wire.fixture.expected["text"]
    # Documented: an invalid byte becomes U+FFFD (as the providers' own SDKs decode).
    return Expect(None, "\ufffd" + text, 1, 1.0, pooled=True)


def corrupt_gzip(wire: Wire, server: FaultServer) -> Expect:
    body = bytearray(gzip.compress(b"".join(wire.events)))
    body[len(body) // 2 : len(body) // 2 + 8] = b"\xde\xad\xbe\xef" * 2
    headers = {"content-encoding": "gzip"}
    server.handler = lambda request: Play(
        [("send", wire.head(200, headers)), ("chunk", bytes(body)), ("end",)]
    )

    def check(error: SteerError) -> None:
        partial = error.partial_response
        assert partial is None or wire.fixture.expected["text"].startswith(partial.text)

    # Documented: a body that does not inflate did not survive the trip, like a broken
    # connection: retried while nothing was handed on, then an APIConnectionError.
    return Expect(APIConnectionError, None, RETRIES, 1.0, message=("gzip",), check=check)


# In-band errors, each in its own provider's wire format.

ANTHROPIC_OVERLOAD = (
    b"event: error\n"
    b'data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'
)


def anthropic_error_before_content(wire: Wire, server: FaultServer) -> Expect:
    server.queue(wire.stream([*wire.events[:2], ANTHROPIC_OVERLOAD], end=False))
    server.queue(wire.stream(wire.events))
    return Expect(None, wire.fixture.expected["text"], 2, 1.0, pooled=True)


def anthropic_error_after_content(wire: Wire, server: FaultServer) -> Expect:
    fx = by_name("anthropic/mid-stream-overloaded-error")
    server.handler = lambda request: wire.stream(fixture_events(fx.body), end=False)
    return Expect(OverloadedError, fx.expected["partial_text_before_error"], 1, 1.0)


def _recorded_in_band(name: str):  # type: ignore[no-untyped-def]
    def scenario(wire: Wire, server: FaultServer) -> Expect:
        fx = by_name(name)
        _, partial, error = parse(fx)
        assert error is not None
        server.handler = lambda request: wire.stream(fixture_events(fx.body))
        retried = not partial.text and getattr(error, "retryable", False)
        return Expect(
            type(error), partial.text or None, RETRIES if retried else 1, 1.0, pooled=True
        )

    scenario.__name__ = "recorded_" + name.split("/")[1].replace("-", "_")
    return scenario


compat_error_chunk = _recorded_in_band("compat/openrouter-keepalive-comments-midstream-error")
responses_error_then_failed = _recorded_in_band("openai/responses-error-insufficient-quota")


EVERY_FORMAT = [
    refused,
    unresolvable,
    http_401,
    http_403,
    http_400,
    http_422,
    http_404,
    http_429_retry_after_then_success,
    http_503_twice_then_success,
    slow_headers,
    html_from_a_proxy,
    stall_after_first_content,
    only_keepalives,
    trickle_past_total_timeout,
    clean_close_without_terminal,
    tcp_reset,
    malformed_chunk,
    invalid_utf8,
    corrupt_gzip,
]
ONE_FORMAT = {
    "anthropic": [
        http_529_then_success,
        http_529_every_time,
        anthropic_error_before_content,
        anthropic_error_after_content,
    ],
    "openai_compatible": [compat_error_chunk],
    "openai_responses": [responses_error_then_failed],
}
# Bedrock's event stream has no keep-alives to send.
CASES = [
    (s, w) for s in EVERY_FORMAT for w in WIRES if not (s is only_keepalives and w.eventstream)
] + [(s, w) for w in WIRES for s in ONE_FORMAT.get(w.name, [])]
OUTCOMES: list[tuple[str, str, str, str, float]] = []


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    yield
    path = os.environ.get("STEER_MATRIX_REPORT")
    if path and OUTCOMES:
        table: dict[tuple[str, str], dict[str, str]] = {}
        for scenario, wire, kind, outcome, took in OUTCOMES:
            table.setdefault((scenario, wire), {})[kind] = f"{outcome} ({took:.2f} s)"
        lines = ["| scenario | format | sync | async | aiohttp |", "|---|---|---|---|---|"]
        for (scenario, wire), cells in table.items():
            row = " | ".join(cells.get(kind, "") for kind in ("sync", "async", "aiohttp"))
            lines.append(f"| {scenario} | {wire} | {row} |")
        with open(path, "w", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("scenario", "wire"), CASES, ids=[f"{s.__name__}-{w.name}" for s, w in CASES]
)
def test_fault(
    make_runner: Any, caplog: pytest.LogCaptureFixture, scenario: Any, wire: Wire
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: the key must not reach any of them
    threads_before = _threads()
    with FaultServer(lifetime=60) as server:
        expect: Expect = scenario(wire, server)
        kwargs = wire.client_kwargs(server)
        if expect.base_url is not None:
            kwargs["base_urls"] = dict.fromkeys(kwargs["base_urls"], expect.base_url)
        errors: list[BaseException] = []
        received: list[str] = []
        options = BASE.replace(on_error=errors.append, on_delta=received.append, **expect.options)
        runner = make_runner(**kwargs)

        started = time.monotonic()
        try:
            response: Any = runner.response("hi", model=wire.model, streaming_options=options)
        except SteerError as exc:
            response = exc
        took = time.monotonic() - started
        outcome = type(response).__name__ if expect.error else "success"
        OUTCOMES.append((scenario.__name__, wire.name, runner.kind, outcome, took))

        # The documented outcome, in time.
        assert took <= expect.within + MARGIN, f"took {took:.2f} s"
        assert took >= expect.at_least
        if expect.error is None:
            assert not isinstance(response, BaseException), repr(response)
            assert response.complete and response.text == expect.text
            assert "".join(received) == expect.text
            assert errors == []
        else:
            assert isinstance(response, expect.error), repr(response)
            for words in expect.message:
                assert words in str(response), str(response)
            assert errors == [response]  # on_error exactly once, with the error raised
            partial = response.partial_response
            if expect.text is not None:
                assert partial is not None and partial.text == expect.text
                assert not partial.complete
            # What the consumer received is exactly what the partial response holds.
            assert "".join(received) == (partial.text if partial is not None else "")
        if expect.check is not None:
            expect.check(response)
        if expect.requests is not None:
            # The server records a request once its thread has read it: on a loaded machine
            # that may come after the client gave up on it (a connect or a header timeout).
            _wait_until(lambda: len(server.requests) >= expect.requests, 2.0)
            assert len(server.requests) == expect.requests

        # The connection: closed at once after a failure in a body, else at most pooled.
        # (aiohttp pools a connection whose body it parsed whole before the core failed its
        # content: sound framing, see AiohttpResponse.close; it is never closed under a
        # request that took it since.)
        pooled = expect.pooled or (runner.kind == "aiohttp" and expect.error is not None)
        assert server.wait_open(1 if pooled else 0), "the connection was left open"
        if isinstance(runner, AsyncRunner):
            assert not asyncio.all_tasks(runner.loop), "a task was left on the loop"
        runner.close()
        assert server.wait_open(0), "closing the client left a connection open"
    # No API key in any log record, message, repr, traceback or partial response.
    assert caplog.records, "DEBUG logging was not on"
    assert leaks(everything_said(caplog, response)) == []
    _wait_until(lambda: _threads() <= threads_before, 3.0)
    assert _threads() <= threads_before, threading.enumerate()


def _threads() -> int:
    """Live threads, less the sync client's two kinds of process-wide thread, started by
    whichever test needs them first: its shared worker pool (at most two threads, for
    loading tiktoken encodings off the caller's thread) and the one deadline watchdog."""
    return sum(
        not t.name.startswith("steer-compute") and t.name != "steer-deadlines"
        for t in threading.enumerate()
    )


def _wait_until(condition: Callable[[], bool], seconds: float) -> None:
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.01)
