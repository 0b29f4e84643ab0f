"""Trust under attack, over real loopback sockets, in both clients and two wire formats.

Each row of the attack table (issue 14) is a test here: a server that drips its head or
its error body one byte at a time, decompression bombs, a compressed error body,
credentials in a base URL, redirects (with our clients and with the caller's own HTTP
clients, and a redirect loop), a netrc entry, pickling, tracebacks with locals, a plain
``http://`` base URL, and a head with too many header fields. Each asserts the typed
error, the time bound, the memory bound where it applies, where the key did not go, and
what the far side received.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import os
import pickle
import subprocess
import sys
import time
import traceback
import zlib
from pathlib import Path
from typing import Any

import pytest

import steer_async
from steer_common import StreamingOptions
from steer_common.errors import (
    BadRequestError,
    ConfigurationError,
    ConnectTimeoutError,
    InternalServerError,
    ProtocolError,
    RateLimitError,
    RedirectError,
    SteerError,
    TotalTimeoutError,
)
from tests.faultserver import FaultServer, Play, Request, chunked_sse, fixture_events, head
from tests.fixtures import STREAMS
from tests.parity.test_clients import KEYS, client_kwargs

ROOT = Path(__file__).resolve().parents[2]
MARGIN = 1.5  # each bound is met within about a second of its value (plus a loaded CI)
CHAT = next(f for f in STREAMS if f.name == "openai/chat-text-include-usage")
MESSAGES = next(f for f in STREAMS if f.name == "anthropic/text")
FORMATS = {
    "openai": ("gpt-4o-mini", CHAT),
    "anthropic": ("claude-sonnet-4-5", MESSAGES),
}
MB = 1024 * 1024


@pytest.fixture
def server() -> Any:
    with FaultServer() as s:
        yield s


def timed(fn: Any) -> tuple[float, Any]:
    started = time.monotonic()
    try:
        result: Any = fn()
    except Exception as exc:
        result = exc
    return time.monotonic() - started, result


def drip(data: bytes, every: float = 0.5) -> list[tuple[Any, ...]]:
    """Steps that send ``data`` one byte at a time, ``every`` seconds apart."""
    steps: list[tuple[Any, ...]] = []
    for byte in data:
        steps += [("send", bytes([byte])), ("sleep", every)]
    return steps


def error_head(status: int, body: bytes, extra: dict[str, str] | None = None) -> bytes:
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    return head(status, {**headers, **(extra or {})}, chunked=False)


# -- every timeout is a deadline, whatever pace the server keeps --------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(
    ("options", "error", "bound"),
    [
        (
            StreamingOptions(connection_timeout=2, retry_on_connection_error=False),
            ConnectTimeoutError,
            2,
        ),
        (StreamingOptions(connection_timeout=None, total_timeout=3), TotalTimeoutError, 3),
        (
            StreamingOptions(connection_timeout=2, total_timeout=5),
            (ConnectTimeoutError, TotalTimeoutError),
            5,
        ),
    ],
    ids=["connection_timeout", "total_timeout", "both_with_retries"],
)
def test_a_dripping_head(
    make_runner: Any,
    server: FaultServer,
    fmt: str,
    options: StreamingOptions,
    error: Any,
    bound: float,
) -> None:
    server.handler = lambda request: Play(drip(head()))
    runner = make_runner(**client_kwargs(server))
    took, outcome = timed(
        lambda: runner.response("hi", model=FORMATS[fmt][0], streaming_options=options)
    )
    assert isinstance(outcome, error), repr(outcome)
    assert took <= bound + MARGIN, f"took {took:.2f} s"
    assert server.wait_open(0), "the connection was left open"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize(
    ("options", "bound", "requests"),
    [
        (StreamingOptions(connection_timeout=2, retry_on_connection_error=False), 2, 1),
        (StreamingOptions(read_timeout=2, retry_on_connection_error=False), 2, 1),
        (StreamingOptions(connection_timeout=2, total_timeout=5, reconnect_delay=0.1), 5, None),
    ],
    ids=["connection_timeout", "read_timeout", "total_timeout_with_retries"],
)
def test_a_dripping_error_body(
    make_runner: Any,
    server: FaultServer,
    fmt: str,
    options: StreamingOptions,
    bound: float,
    requests: int | None,
) -> None:
    body = json.dumps({"error": {"type": "server_error", "message": "x" * 200}}).encode()
    server.handler = lambda request: Play([("send", error_head(500, body)), *drip(body)])
    runner = make_runner(**client_kwargs(server))
    took, outcome = timed(
        lambda: runner.response("hi", model=FORMATS[fmt][0], streaming_options=options)
    )
    # The status says what it is; the body that did arrive is all the message there is.
    assert isinstance(outcome, (InternalServerError, TotalTimeoutError)), repr(outcome)
    assert took <= bound + MARGIN, f"took {took:.2f} s"
    if requests is not None:
        assert isinstance(outcome, InternalServerError) and len(server.requests) == requests
    assert server.wait_open(0), "the connection was left open"


# -- decoding is bounded -------------------------------------------------------------------


def _bomb(unit: bytes, size: int) -> bytes:
    """``size`` bytes of ``unit`` repeated, gzip-compressed (about 1,000 to 1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = unit * (MB // len(unit))
    parts = [compressor.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, compressor.flush()])


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    return {
        "zeros": _bomb(b"\0", 1024 * MB),  # 1 GB of zeros, about 1 MB on the wire
        "keepalives": _bomb(b": keep-alive\n\n", 1024 * MB),  # comments, never an event
    }


def bomb_play(request: Request, fmt: str, body: bytes) -> Play:
    if request.path.startswith("/warmup"):
        return chunked_sse(fixture_events(FORMATS[fmt][1].body))
    headers = {"content-encoding": "gzip"}
    pieces = [body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024)]
    return Play([("send", head(200, headers)), *(("chunk", p) for p in pieces), ("end",)])


def probe(kind: str, fmt: str, server: FaultServer, read_timeout: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.hardening.bomb_probe",
            kind,
            FORMATS[fmt][0],
            server.base_url,
            str(read_timeout),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("kind", ["sync", "async", "aiohttp"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_gzip_bomb_of_zeros(
    kind: str, fmt: str, server: FaultServer, bombs: dict[str, bytes]
) -> None:
    server.handler = lambda request: bomb_play(request, fmt, bombs["zeros"])
    report = probe(kind, fmt, server, read_timeout=600)
    # Inflated a step at a time: the endless "line" of zeros hits max_event_size (16 MiB).
    assert report["error"] == "ProtocolError", report
    assert report["growth_kb"] < 100 * 1024, report
    assert report["seconds"] < 10, report
    if kind != "sync":
        assert report["loop_late_ms"] < 100, report


@pytest.mark.parametrize("kind", ["sync", "async", "aiohttp"])
@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_gzip_bomb_of_keepalives(
    kind: str, fmt: str, server: FaultServer, bombs: dict[str, bytes]
) -> None:
    server.handler = lambda request: bomb_play(request, fmt, bombs["keepalives"])
    report = probe(kind, fmt, server, read_timeout=3)
    # Comments are not events: read_timeout fires on time, however fast they inflate.
    assert report["error"] == "ReadTimeoutError", report
    assert report["seconds"] <= 3 + MARGIN, report
    assert report["growth_kb"] < 100 * 1024, report
    if kind != "sync":
        assert report["loop_late_ms"] < 100, report


# -- error bodies are decoded before they are read --------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_compressed_error_body_keeps_its_type_code_and_message(
    make_runner: Any, server: FaultServer, fmt: str
) -> None:
    body = gzip.compress(
        json.dumps(
            {
                "error": {
                    "message": "You exceeded your current quota.",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            }
        ).encode()
    )
    server.handler = lambda request: Play(
        [("send", error_head(429, body, {"content-encoding": "gzip"}) + body)]
    )
    runner = make_runner(**client_kwargs(server))
    options = StreamingOptions(reconnect_delay=0.01)
    _, outcome = timed(
        lambda: runner.response("hi", model=FORMATS[fmt][0], streaming_options=options)
    )
    assert isinstance(outcome, RateLimitError), repr(outcome)
    assert outcome.error_type == "insufficient_quota" and outcome.code == "insufficient_quota"
    assert "You exceeded your current quota." in str(outcome)
    assert not outcome.retryable and len(server.requests) == 1  # never retried


# -- a key goes only where it was configured to go ---------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_credentials_in_a_base_url_are_refused_and_never_shown(
    make_runner: Any, server: FaultServer, provider: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kwargs = client_kwargs(server)
    scheme, rest = kwargs["base_urls"][provider].split("://")
    kwargs["base_urls"][provider] = f"{scheme}://alice:hunter2-secret@{rest}"
    runner = make_runner(**kwargs)
    _, outcome = timed(lambda: runner.response("hi", model=FORMATS[provider][0]))
    assert isinstance(outcome, ConfigurationError), repr(outcome)
    assert "has credentials in it" in str(outcome) and "***@" in str(outcome)
    said = [str(outcome), repr(outcome), "".join(traceback.format_exception(outcome))]
    said += [caplog.text]
    assert not any("hunter2-secret" in text for text in said)
    assert server.requests == []  # refused before anything was sent


def test_credentials_in_a_base_url_never_reach_the_cli_output(server: FaultServer) -> None:
    script = Path(sys.executable).parent / "steer"
    url = f"http://alice:hunter2-secret@127.0.0.1:{server.port}/v1"
    done = subprocess.run(
        [str(script), "hi", "--base-url", url, "-v"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPENAI_API_KEY": "sk-test-openai"},
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "has credentials in it" in done.stderr
    assert "hunter2-secret" not in done.stderr + done.stdout
    assert server.requests == []


@pytest.fixture
def far() -> Any:
    """Another host, where a redirect points: it must receive nothing."""
    with FaultServer() as s:
        s.handler = lambda request: chunked_sse(fixture_events(CHAT.body))
        yield s


def redirect_to(far: FaultServer, status: int) -> Any:
    def handler(request: Request) -> Play:
        location = f"{far.base_url}{request.path}?token=abc"
        return Play(
            [("send", head(status, {"location": location, "content-length": "0"}, chunked=False))]
        )

    return handler


async def aiohttp_session() -> Any:
    """What a caller passes as ``http_client`` to the aiohttp transport (aiohttp follows
    redirects by default)."""
    import aiohttp

    return aiohttp.ClientSession()


def user_http_client(kind: str) -> Any:
    """What a caller passes as ``http_client``, set up to follow redirects."""
    if kind == "sync":
        import requests

        return requests.Session()  # requests follows redirects by default
    import httpx

    return httpx.AsyncClient(follow_redirects=True)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("own_client", [False, True], ids=["our_client", "callers_client"])
def test_a_redirect_is_never_followed(
    make_runner: Any,
    server: FaultServer,
    far: FaultServer,
    fmt: str,
    status: int,
    own_client: bool,
    request: pytest.FixtureRequest,
) -> None:
    server.handler = redirect_to(far, status)
    kwargs = client_kwargs(server)
    kind = request.node.callspec.params["make_runner"]
    if own_client and kind == "aiohttp":  # a session belongs to its loop: the runner's
        runner = make_runner(**kwargs)
        http_client = runner.run(aiohttp_session())
        runner.client = steer_async.SteerLLMClient(**kwargs, http_client=http_client)
    else:
        http_client = user_http_client(kind) if own_client else None
        if http_client is not None:
            kwargs["http_client"] = http_client
        runner = make_runner(**kwargs)
    try:
        _, outcome = timed(lambda: runner.response("hi", model=FORMATS[fmt][0]))
    finally:
        if http_client is not None:
            if kind == "sync":
                http_client.close()
            elif kind == "aiohttp":
                runner.run(http_client.close())
            else:
                runner.run(http_client.aclose())
    assert isinstance(outcome, RedirectError), repr(outcome)
    assert outcome.status_code == status and not outcome.retryable
    assert f"HTTP {status}" in str(outcome) and far.base_url in str(outcome)
    assert "token=abc" not in str(outcome)  # the query is left out: it may carry a secret
    assert outcome.location == f"{far.base_url}{server.requests[0].path.split('?')[0]}"
    assert len(server.requests) == 1  # not retried
    assert far.requests == []  # the key went nowhere else


def test_a_redirect_loop_costs_one_request(make_runner: Any, server: FaultServer) -> None:
    server.handler = lambda request: Play(
        [
            (
                "send",
                head(
                    307,
                    {"location": f"{server.base_url}{request.path}", "content-length": "0"},
                    chunked=False,
                ),
            )
        ]
    )
    runner = make_runner(**client_kwargs(server))
    _, outcome = timed(lambda: runner.response("hi", model="gpt-4o-mini"))
    assert isinstance(outcome, RedirectError) and len(server.requests) == 1


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_netrc_entry_never_replaces_the_key(
    make_runner: Any, server: FaultServer, fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login mallory password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    server.handler = lambda request: chunked_sse(fixture_events(FORMATS[fmt][1].body))
    runner = make_runner(**client_kwargs(server))
    response = runner.response("hi", model=FORMATS[fmt][0])
    assert response.complete
    sent = server.requests[0].headers
    if fmt == "openai":
        assert sent["authorization"] == f"Bearer {KEYS['openai']}"
    else:
        assert sent["x-api-key"] == KEYS["anthropic"] and "authorization" not in sent


# -- secrets do not travel by accident ------------------------------------------------------


def test_a_client_refuses_to_be_pickled(make_runner: Any, server: FaultServer) -> None:
    runner = make_runner(**client_kwargs(server))
    with pytest.raises(TypeError, match="cannot be pickled") as caught:
        pickle.dumps(runner.client)
    assert not any(key in str(caught.value) for key in KEYS.values())


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_a_traceback_with_locals_shows_no_key(make_runner: Any, fmt: str) -> None:
    kwargs = {
        "api_keys": KEYS,
        "base_urls": {"openai": "http://127.0.0.1:9/v1", "anthropic": "http://127.0.0.1:9"},
    }
    runner = make_runner(**kwargs)
    options = StreamingOptions(retry_on_connection_error=False)
    _, outcome = timed(
        lambda: runner.response("hi", model=FORMATS[fmt][0], streaming_options=options)
    )
    assert isinstance(outcome, SteerError), repr(outcome)
    shown = "".join(
        traceback.TracebackException.from_exception(outcome, capture_locals=True).format()
    )
    assert "command = Connect(" in shown  # the frames' locals are shown (the driver's here)
    assert KEYS[fmt] not in shown


class _Caught(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def in_memory_client(kind: str) -> Any:
    """A client whose transport answers in memory: no traffic to the non-loopback host."""
    body = CHAT.body
    if kind == "sync":
        import requests
        import responses

        mock = responses.RequestsMock(assert_all_requests_are_fired=False)
        mock.start()
        mock.add(responses.POST, "http://api.example.com/v1/chat/completions", body=body,
                 content_type="text/event-stream")  # fmt: skip
        mock.add(responses.POST, "http://127.0.0.1:8080/v1/chat/completions", body=body,
                 content_type="text/event-stream")  # fmt: skip
        return mock, requests.Session()
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    return None, httpx.AsyncClient(transport=httpx.MockTransport(answer))


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_plain_http_base_url_off_loopback_warns_once(kind: str) -> None:
    import steer_async
    import steer_sync
    from steer_common import routing

    routing._WARNED = frozenset()  # a fresh process's state: no warning given,
    routing._check_base_url.cache_clear()  # and no URL checked
    caught = _Caught()
    logger = logging.getLogger("steer_common.routing")
    logger.addHandler(caught)
    mock, http_client = in_memory_client(kind)
    try:
        for url in (
            "http://api.example.com/v1",
            "http://api.example.com/v1",
            "http://127.0.0.1:8080/v1",
        ):
            if kind == "sync":
                client = steer_sync.SteerLLMClient(
                    {"openai": "sk-x"}, {"openai": url}, http_client=http_client
                )
                assert client.stream_with_usage("hi", model="gpt-4o-mini").complete
            else:
                client = steer_async.SteerLLMClient(
                    {"openai": "sk-x"}, {"openai": url}, http_client=http_client
                )
                assert asyncio.run(client.stream_with_usage("hi", model="gpt-4o-mini")).complete
    finally:
        logger.removeHandler(caught)
        if mock is not None:
            mock.stop()
            mock.reset()
            http_client.close()
        else:
            asyncio.run(http_client.aclose())
    # Once for the remote host, however many calls; never for loopback.
    assert caught.messages == [
        "openai: the base URL http://api.example.com is plain http and not loopback: the "
        "API key travels unencrypted (use https)"
    ]


# -- both clients agree on header limits -----------------------------------------------------


@pytest.mark.parametrize("count", [99, 100, 5000])
def test_more_than_99_header_fields_is_a_protocol_error(
    make_runner: Any, server: FaultServer, count: int
) -> None:
    # Our head already has content-type and transfer-encoding: pad to ``count`` fields.
    extra = {f"x-pad-{i}": "v" for i in range(count - 2)}
    events = fixture_events(CHAT.body)
    server.handler = lambda request: Play(
        [("send", head(200, extra)), *(("chunk", e) for e in events), ("end",)]
    )
    runner = make_runner(**client_kwargs(server))
    _, outcome = timed(lambda: runner.response("hi", model="gpt-4o-mini"))
    if count <= 99:  # http.client's 100 lines, the blank one included
        assert not isinstance(outcome, BaseException) and outcome.complete
        return
    assert isinstance(outcome, ProtocolError), repr(outcome)
    assert "more than 99 header fields are refused" in str(outcome)
    assert len(server.requests) == 1  # not retried


def test_proxies_from_the_environment_still_work_chosen_per_origin(
    make_runner: Any, server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment is read once per origin (not on every request, which costs a scan
    # of it): one origin through the proxy, another that NO_PROXY names direct, in turns
    # on one client, each request where its own origin's settings send it.
    server.handler = lambda request: chunked_sse(fixture_events(CHAT.body))
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("http_proxy", raising=False)
    with FaultServer() as direct:
        direct.handler = lambda request: chunked_sse(fixture_events(MESSAGES.body))
        runner = make_runner(
            api_keys=KEYS,
            base_urls={"openai": "http://api.example.test/v1", "anthropic": direct.base_url},
        )
        for _ in range(2):
            assert runner.response("hi", model="gpt-4o-mini").complete
            assert runner.response("hi", model="claude-sonnet-4-5").complete
        # The fault server as an HTTP proxy: the request arrives with the absolute URL.
        assert [r.path for r in server.requests] == [
            "http://api.example.test/v1/chat/completions"
        ] * 2
        assert server.requests[0].headers["authorization"] == f"Bearer {KEYS['openai']}"
        assert [r.path for r in direct.requests] == ["/v1/messages"] * 2


def test_bad_request_errors_still_read_plain(make_runner: Any, server: FaultServer) -> None:
    body = json.dumps({"error": {"type": "invalid_request_error", "message": "nope"}}).encode()
    server.handler = lambda request: Play([("send", error_head(400, body) + body)])
    runner = make_runner(**client_kwargs(server))
    _, outcome = timed(lambda: runner.response("hi", model="gpt-4o-mini"))
    assert isinstance(outcome, BadRequestError) and "nope" in str(outcome)
    assert server.wait_open(1)  # an error body read to its end: the connection is pooled
