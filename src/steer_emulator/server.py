"""A loopback server that streams like OpenAI, Anthropic and xAI: ``python -m steer_emulator``.

It serves ``POST /v1/chat/completions`` (OpenAI; the xAI dialect for ``grok*`` models or
under ``/xai/v1``; the OpenAI-compatible dialect under ``/compat/v1``, where no key is
needed), ``POST /v1/responses`` and ``POST /v1/messages``, over HTTP/1.1 with keep-alive,
each body ``Transfer-Encoding: chunked`` with one chunk per server-sent event, written
as soon as it is ready. The bytes come from :mod:`steer_emulator`, so the official
``openai`` and ``anthropic`` SDKs and this library's clients all accept them. A request
without a key (``Authorization: Bearer ...``; ``x-api-key`` also counts for
``/v1/messages``) gets 401 with the provider's error body; a body the real endpoint would
refuse (an unknown or misspelt field, a wrong type, a value out of range, a message
without content: :mod:`steer_emulator.validation`) gets its 400, in its words; a
request without ``"stream": true`` gets 400 (this emulator only streams).

**What it answers** (:func:`steer_emulator.reply_for_request`): an echo of the last
user message (``"Echo: <text>"``), a call of a tool the prompt names, a minimal JSON
document for JSON mode, a text quoting the tool results a conversation ends with.

**The directive** is how a test asks for a specific reply: put
``[[emulator:{...}]]`` in the last user message; the JSON object's keys are
:class:`~steer_emulator.ScriptedReply` fields (the directive is not echoed)::

    [[emulator:{"text": "Hi!", "chunk_chars": 1}]]
    [[emulator:{"reasoning": "Let me see.", "text": "4", "prompt_tokens": 50, "cached_tokens": 20}]]
    [[emulator:{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}],
                "after_tool": {"text": "It is sunny."}}]]
    [[emulator:{"status": 429, "retry_after": 1, "fail_times": 2}]]   # 429 twice, then the reply
    [[emulator:{"error_after_chars": 10}]]       # in-band error after 10 characters of text
    [[emulator:{"error_before_content": true}]]  # in-band overload before any content
    [[emulator:{"truncate_after_events": 3}]]     # drop the connection mid-body
    [[emulator:{"pause_after_events": 2, "pause_seconds": 5, "keepalive_every": 1}]]
    [[emulator:{"event_delay": 0.05, "gzip": true}]]

A fault (``status``, an in-band error, a truncation) is served ``fail_times`` times (default
1) per distinct conversation, then the reply streams clean: a client's retry of the same
request succeeds. Ask for ``"fail_times": 1000`` to fail every time.

**Python API** for tests::

    with Emulator() as emu:                       # 127.0.0.1, a free port, started
        client = openai.OpenAI(base_url=emu.base_urls["openai"], api_key="test")
        emu.enqueue({"text": "forced"})           # the next reply, whatever the prompt
        ...
        emu.requests[-1].body                     # what the client sent (path, headers, body)
        emu.wait_for_disconnect(timeout=2)        # the client closed a stream early

``base_urls`` follows the official SDKs' conventions: ``openai``, ``xai`` and
``openai_compatible`` include ``/v1``; ``anthropic`` does not. ``disconnects`` counts the
streams a client abandoned (a failed write, or the peer closing during a pause or an
``event_delay``; a body already written whole is not a disconnect).

It imports no HTTP client (the standard library's ``http.server`` and threads), so asyncio
code uses it too (``async with Emulator()``). ``steer_sync.emulator`` re-exports it, and
``python -m steer_sync.emulator`` runs it as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import select
import shlex
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import unquote

from steer_common.providers import FORMATS, get_format
from steer_common.routing import API_KEY_ENV, BASE_URL_ENV
from steer_emulator.background import BackgroundStore, Kept, KeptPath, kept_path
from steer_emulator.dispatch import (
    ReplySource,
    authorized,
    missing_query,
    path_model,
    schedule,
    streams,
    wire_format_for,
)
from steer_emulator.formats import (
    check_request,
    emulation,
    error_body,
    keepalive,
    render,
    unknown_model,
)
from steer_emulator.script import ScriptedReply

__all__ = ["TOKEN_PATH", "Emulator", "RecordedRequest", "main"]

#: The emulator's OAuth token endpoint: point test credentials' ``token_uri`` here.
TOKEN_PATH = "/oauth2/token"
_MAX_BODY = 32 * 1024 * 1024
# What a write or a read raises when the client has gone (TimeoutError: it stopped reading).
_PEER_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class RecordedRequest(NamedTuple):
    """One request the emulator received: the path, the headers (lowercased), the JSON body
    (``None`` for a ``GET``), the method and the query string."""

    path: str
    headers: dict[str, str]
    body: Any
    method: str = "POST"
    query: str = ""


class _Gone(Exception):
    """The client went away, or the emulator is closing: stop streaming."""


class Emulator:
    """The loopback emulator, started on construction; a context manager that closes it.

    Args:
        host: the address to listen on.
        port: the port (0: a free one, see :attr:`port`).
        require_auth: answer 401 to requests without a key.
        lifetime: close by itself after this many seconds (``None``: never), so a
            forgotten emulator cannot outlive a test run.
        verbose: log each request to stderr.
        max_streams: stream at most this many replies at once and answer 429 (with
            ``Retry-After: busy_retry_after``) to the requests beyond, as a server with a
            concurrency limit does (``None``: no limit).
        busy_retry_after: the ``Retry-After`` of those 429s, in seconds.
        background_ttl: how long a response or interaction in background mode is kept, to
            be streamed again (``GET /responses/{id}?stream=true&starting_after=N``,
            ``GET /interactions/{id}?stream=true&last_event_id=...``), in seconds
            (:mod:`steer_emulator.background`).

    Attributes:
        requests: every request received, in order (:class:`RecordedRequest`).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        require_auth: bool = True,
        lifetime: float | None = None,
        verbose: bool = False,
        max_streams: int | None = None,
        busy_retry_after: float = 1.0,
        any_model: bool = False,
        background_ttl: float = 3600.0,
    ) -> None:
        self.require_auth = require_auth
        #: Take any model name (a fine-tune's, a custom one): no 404 for names the price
        #: snapshot does not know.
        self.any_model = any_model
        self.verbose = verbose
        self.max_streams = max_streams
        self.busy_retry_after = busy_retry_after
        self._streams = 0
        self._peak_streams = 0
        self._busy = 0
        self.requests: list[RecordedRequest] = []
        #: How many OAuth tokens :data:`TOKEN_PATH` has issued.
        self.tokens_issued = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._replies = ReplySource()
        #: The Responses kept in background mode (``background.cancelled``: the ids of
        #: those cancelled).
        self.background = BackgroundStore(background_ttl)
        self._disconnects = 0
        self._connections: set[socket.socket] = set()
        self._closing = threading.Event()
        self._server = _Server((host, port), _Handler)
        self._server.emulator = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"steer-emulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._timer: threading.Timer | None = None
        if lifetime is not None:
            self._timer = threading.Timer(lifetime, self.close)
            self._timer.daemon = True
            self._timer.start()

    @property
    def host(self) -> str:
        """The address the server listens on."""
        return str(self._server.server_address[0])

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Base URLs per provider, in the official SDKs' conventions."""
        urls: dict[str, str] = {}
        for wire in FORMATS.values():
            urls.setdefault(wire.provider, self.url + emulation(wire.name).prefix)
        return urls

    def environ(self, api_key: str = "steer-emulator-key") -> dict[str, str]:
        """The environment variables that point every provider at this emulator (a base URL
        and a dummy key each): ``os.environ.update(emulator.environ())`` and a client built
        with no arguments streams from it."""
        out: dict[str, str] = {}
        for provider, url in self.base_urls.items():
            out[BASE_URL_ENV[provider]] = url
            out[API_KEY_ENV[provider]] = api_key
        return out

    @property
    def closed(self) -> bool:
        """:meth:`close` was called (or the lifetime ran out)."""
        return self._closing.is_set()

    @property
    def disconnects(self) -> int:
        """How many streams a client abandoned before their end."""
        with self._lock:
            return self._disconnects

    @property
    def streams(self) -> int:
        """How many replies are streaming now."""
        with self._lock:
            return self._streams

    @property
    def peak_streams(self) -> int:
        """The most replies that streamed at once (since the start or :meth:`reset`)."""
        with self._lock:
            return self._peak_streams

    @property
    def busy_refusals(self) -> int:
        """How many requests got 429 because ``max_streams`` were streaming."""
        with self._lock:
            return self._busy

    @property
    def open_connections(self) -> int:
        """How many client connections are open now (streaming or idle in a pool)."""
        with self._lock:
            return len(self._connections)

    def wait_for_connections(self, count: int = 0, timeout: float = 5.0) -> bool:
        """Wait until :attr:`open_connections` is at most ``count``; ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._connections) <= count, timeout)

    def wait_for_streams(self, count: int = 0, timeout: float = 5.0) -> bool:
        """Wait until :attr:`streams` is at most ``count`` (``0``: every reply has been
        written whole); ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._streams <= count, timeout)

    def wait_for_disconnect(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Wait until :attr:`disconnects` reaches ``count``; ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._disconnects >= count, timeout)

    def enqueue(self, script: ScriptedReply | dict[str, Any]) -> None:
        """Force the next reply, whatever the request (scripts are used in order).

        A script with a fault serves it ``fail_times`` times, then streams clean (so a
        faulty script answers ``fail_times + 1`` requests).

        Raises:
            ValueError: a dict that is not a valid script.
        """
        if not isinstance(script, ScriptedReply):
            script = ScriptedReply.from_dict(script)
        with self._lock:
            self._replies.enqueue(script)

    def reset(self) -> None:
        """Forget the recorded requests, the queue, failure counts and disconnects."""
        with self._lock:
            self.requests.clear()
            self._replies.reset()
            self.background.clear()
            self._disconnects = 0
            self._peak_streams = self._busy = 0

    def close(self) -> None:
        """Stop serving, end every open stream and connection, release the port."""
        if self._closing.is_set():
            return
        self._closing.set()
        if self._timer is not None:
            self._timer.cancel()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already gone
                conn.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Emulator:
        return self

    async def __aenter__(self) -> Emulator:
        """``async with Emulator() as emulator:``, for asyncio tests (it serves from its own
        thread either way; importing it loads no HTTP client)."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.close)  # joining the server thread: off the loop

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- called from the handler threads ------------------------------------------------

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._changed:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)
            self._changed.notify_all()

    def _disconnected(self) -> None:
        with self._changed:
            self._disconnects += 1
            self._changed.notify_all()

    def _wait(self, conn: socket.socket, seconds: float, tick: Callable[[], None] | None) -> None:
        """Sleep ``seconds``, calling ``tick`` as it goes; raise _Gone if the peer leaves."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self._closing.is_set():
                raise _Gone
            # A closed peer makes the socket readable with nothing to read: that is how
            # a client's early close shows up while the server is silent.
            readable, _, _ = select.select([conn], [], [], min(left, 0.05))
            if readable:
                try:
                    peeked = conn.recv(1, socket.MSG_PEEK)
                except OSError:
                    peeked = b""
                if not peeked:
                    raise _Gone
                time.sleep(min(left, 0.05))  # it sent more (pipelining): just wait
            if tick is not None:
                tick()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client resetting an idle keep-alive connection is normal, not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError) or self.emulator.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "steer-emulator"
    timeout = 120  # an idle keep-alive connection ends
    emulator: Emulator
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Small writes must leave at once (Nagle plus delayed ACKs stalls them ~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.emulator = self.server.emulator
        self.emulator._track(self.connection, True)

    def finish(self) -> None:
        self.emulator._track(self.connection, False)
        with contextlib.suppress(OSError):  # the peer is already gone
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.emulator.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path in ("/", "/health"):
            status = {"status": "ok", "base_urls": self.emulator.base_urls}
            self._json(200, json.dumps(status).encode())
        elif (kept := kept_path(path)) is not None and not kept.cancel:
            self._kept(path, query, kept)
        else:
            self._json(404, error_body("openai", 404, f"no route for GET {self.path}"))

    def _kept(self, path: str, query: str, named: KeptPath) -> None:
        """A kept (background) response: streamed again, answered, or cancelled."""
        emu = self.emulator
        headers = {k.lower(): v for k, v in self.headers.items()}
        with emu._lock:
            emu.requests.append(RecordedRequest(path, headers, None, self.command, query))
        now = time.time()
        response_id, cancel = named.response_id, named.cancel
        kept = emu.background.get(response_id, now)
        fmt = kept.wire_format if kept is not None else named.wire_format
        if emu.require_auth and not authorized(fmt, headers):
            self._json(401, error_body(fmt, 401), _error_headers(fmt, 401, None))
            return
        if kept is None:
            message = (
                f"Interaction '{response_id}' not found."
                if fmt == "gemini_interactions"
                else f"No response found with id '{response_id}'."
            )
            self._json(404, error_body(fmt, 404, message), _error_headers(fmt, 404, None))
            return
        if cancel:
            emu.background.cancel(response_id, now)
            self._json(200, json.dumps(kept.snapshot()).encode())
            return
        params = dict(pair.partition("=")[::2] for pair in query.split("&") if pair)
        if params.get("stream") != "true":
            self._json(200, json.dumps(kept.snapshot()).encode())
            return
        try:
            start = kept.start({k: unquote(v) for k, v in params.items()})
        except ValueError as exc:
            self._json(400, error_body(fmt, 400, str(exc)), _error_headers(fmt, 400, None))
            return
        self._streaming(fmt, kept.script, lambda: self._stream_kept(kept, start))

    def _stream_kept(self, kept: Kept, start: int) -> None:
        """The kept response's events from ``start``, to its end or its next cut (each
        stream with a request id of its own, as a real server's)."""
        cut = kept.next_cut(start)
        events = kept.events[start:cut]
        if cut is not None and kept.script.cut_mid_event:
            events = [*events, kept.events[cut][: len(kept.events[cut]) // 2]]
        request_id = f"req_{kept.script.seed or 'emulator'}_{start}"
        self._send_events(kept.wire_format, kept.script, events, cut is not None, request_id)

    def do_POST(self) -> None:
        emu = self.emulator
        path, _, query = self.path.partition("?")
        raw = self._read_body()
        if raw is None:
            return
        if path == TOKEN_PATH:
            self._token()
            return
        if (kept := kept_path(path)) is not None and kept.cancel:
            self._kept(path, query, kept)
            return
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        headers = {k.lower(): v for k, v in self.headers.items()}
        with emu._lock:
            emu.requests.append(RecordedRequest(path, headers, body, "POST", query))
        model = body.get("model") if isinstance(body, dict) else None
        fmt = wire_format_for(path, model if isinstance(model, str) else "")
        if fmt is None:
            self._json(404, error_body("openai", 404, f"no route for POST {path}"))
        elif (lacking := missing_query(fmt, path, query)) is not None:
            message = f"Resource not found (the {lacking} query parameter is required)"
            self._json(404, error_body(fmt, 404, message))
        elif not isinstance(body, dict):
            self._json(400, error_body(fmt, 400, "the request body is not a JSON object"))
        elif emu.require_auth and not authorized(fmt, headers):
            self._json(401, error_body(fmt, 401), _error_headers(fmt, 401, None))
        elif (refused := check_request(fmt, body)) is not None:
            # What the real endpoint says about this body.
            self._json(400, refused, _error_headers(fmt, 400, None))
        elif not streams(fmt, query, body):
            self._json(400, error_body(fmt, 400, "this emulator only streams: ask for a stream"))
        elif not emu.any_model and (
            unknown := unknown_model(fmt, path_model(fmt, path) or str(model or ""))
        ):
            self._json(404, unknown, _error_headers(fmt, 404, None))
        else:
            self._reply(fmt, body, path_model(fmt, path))

    def _token(self) -> None:
        """An OAuth token endpoint (the ``token_uri`` of test credentials: google-auth
        refreshes through it): a new token each time, valid for an hour."""
        emu = self.emulator
        with emu._lock:
            emu.tokens_issued += 1
            token = f"ya29.emulator-token-{emu.tokens_issued}"
        body = {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}
        self._json(200, json.dumps(body).encode())

    def _reply(self, fmt: str, body: dict[str, Any], model: str | None) -> None:
        emu = self.emulator
        try:
            with emu._lock:
                script, fail = emu._replies.next(fmt, body, int(time.time()))
        except ValueError as exc:  # a malformed directive
            self._json(400, error_body(fmt, 400, str(exc)))
            return
        if model is not None and script.model is None:
            script = script.replace(model=model)  # the model the path named
        if fail:
            status = script.status or 500
            extra: dict[str, str] = {}
            if script.retry_after is not None:
                extra["retry-after"] = _seconds(script.retry_after)
            text = error_body(fmt, status, script.error_message, error_type=script.error_type)
            self._json(status, text, extra | _error_headers(fmt, status, script.error_type))
            return
        with emu._lock:
            busy = emu.max_streams is not None and emu._streams >= emu.max_streams
            if busy:
                emu._busy += 1
            else:
                emu._streams += 1
                emu._peak_streams = max(emu._peak_streams, emu._streams)
        if busy:
            message = f"too many concurrent requests (at most {emu.max_streams} at once)"
            extra = {"retry-after": _seconds(emu.busy_retry_after)}
            self._json(429, error_body(fmt, 429, message), extra | _error_headers(fmt, 429, None))
            return
        if body.get("background") is True and get_format(fmt).resumption is not None:
            kept = emu.background.keep(
                fmt, script, render(fmt, script.without_faults()), time.time()
            )
            stream = lambda: self._stream_kept(kept, 0)  # noqa: E731
        else:
            stream = lambda: self._stream(fmt, script)  # noqa: E731
        self._streaming(fmt, script, stream, counted=True)

    def _streaming(
        self, fmt: str, script: ScriptedReply, stream: Callable[[], None], counted: bool = False
    ) -> None:
        """Run ``stream``, counting the stream (``counted``: already counted) and the
        peer that leaves early."""
        emu = self.emulator
        if not counted:
            with emu._lock:
                emu._streams += 1
                emu._peak_streams = max(emu._peak_streams, emu._streams)
        try:
            stream()
        except (_Gone, *_PEER_GONE):
            self.close_connection = True
            if not emu.closed:
                emu._disconnected()
        finally:
            with emu._changed:
                emu._streams -= 1
                emu._changed.notify_all()

    def _stream(self, fmt: str, script: ScriptedReply) -> None:
        events = render(fmt, script)
        self._send_events(fmt, script, events, script.truncate_after_events is not None)

    def _send_events(
        self,
        fmt: str,
        script: ScriptedReply,
        events: list[bytes],
        truncated: bool,
        request_id: str | None = None,
    ) -> None:
        """Send a stream's head and ``events`` (paced as ``script`` says); ``truncated``:
        drop the connection after them, with no end to the body."""
        gzipped = script.gzip and "gzip" in self.headers.get("accept-encoding", "")
        compressor = zlib.compressobj(wbits=31) if gzipped else None

        def send(data: bytes) -> None:
            if compressor is not None:
                # A sync flush per event: the client can inflate each chunk on arrival.
                data = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
            self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

        self.send_response(200)
        content_type = get_format(fmt).content_type
        if content_type == "text/event-stream":
            content_type += "; charset=utf-8"
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        spoken = emulation(fmt)
        request_id = request_id or f"req_{script.seed or 'emulator'}"
        self.send_header(spoken.request_id_header, request_id)
        if spoken.headers is not None:
            prompt, completion, _, _ = script.usage()
            for name, value in spoken.headers(time.time(), prompt + completion).items():
                self.send_header(name, value)
        if compressor is not None:
            self.send_header("Content-Encoding", "gzip")
        self.end_headers()
        ping = keepalive(fmt)
        for step in schedule(script, events):
            if step.data is not None:
                send(step.data)
            else:
                # A format with no keep-alive (Gemini) stays silent: an empty write would
                # be the chunked body's last chunk.
                every = step.keepalive_every if ping else None
                self._pause(step.seconds, every, lambda: send(ping))
        if truncated:
            self.close_connection = True  # no zero-length chunk: the body is cut
            return
        if compressor is not None:
            tail = compressor.flush()
            self.wfile.write(b"%X\r\n%s\r\n" % (len(tail), tail))
        self.wfile.write(b"0\r\n\r\n")

    def _pause(self, seconds: float, every: float | None, ping: Callable[[], None]) -> None:
        if not every:
            self.emulator._wait(self.connection, seconds, None)
            return
        due = time.monotonic() + every

        def tick() -> None:
            nonlocal due
            if time.monotonic() >= due:
                ping()
                due += every

        self.emulator._wait(self.connection, seconds, tick)

    def _read_body(self) -> bytes | None:
        """The request body, or ``None`` after answering 400/413 for one we cannot take."""
        try:
            if "chunked" in self.headers.get("transfer-encoding", "").lower():
                parts: list[bytes] = []
                total = 0
                while total <= _MAX_BODY:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()  # the blank line after the last chunk
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
                    total += size
            else:
                length = int(self.headers.get("content-length") or 0)
                if 0 <= length <= _MAX_BODY:
                    return self.rfile.read(length)
            status, message = 413, "request body too large"
        except ValueError:
            status, message = 400, "malformed request framing"
        self.close_connection = True
        self._json(status, error_body("openai", status, message))
        return None

    def _json(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _error_headers(fmt: str, status: int, error_type: str | None) -> dict[str, str]:
    """The headers a format's error replies carry (Bedrock's ``x-amzn-ErrorType``)."""
    make = emulation(fmt).error_headers
    return {} if make is None else make(status, error_type)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def main(argv: list[str] | None = None) -> int:
    """Run the emulator until interrupted (``python -m steer_emulator --port N``)."""
    parser = argparse.ArgumentParser(
        prog="python -m steer_emulator",
        description="A loopback server that streams like OpenAI (Chat Completions and "
        "Responses), Anthropic, Google Gemini, Vertex AI, Azure OpenAI, AWS Bedrock, xAI and "
        "OpenAI-compatible servers, byte for byte as they do.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--no-auth", action="store_true", help="accept requests without a key")
    parser.add_argument("--lifetime", type=float, default=None, help="exit after this many seconds")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--any-model",
        action="store_true",
        help="take any model name (fine-tunes, custom names); else an unknown one is a 404",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print the export lines that point an app at the emulator (every provider's key "
        "and base URL variables: paste them into the app's shell), then serve",
    )
    args = parser.parse_args(argv)
    emu = Emulator(
        args.host,
        args.port,
        require_auth=not args.no_auth,
        lifetime=args.lifetime,
        verbose=args.verbose,
        any_model=args.any_model,
    )
    if args.print_env:
        for name, value in emu.environ().items():
            print(f"export {name}={shlex.quote(value)}", flush=True)
    else:
        print(f"steer emulator listening on {emu.url}", flush=True)
        for name, url in emu.base_urls.items():
            print(f"  {name:<18} {url}", flush=True)
    try:
        while not emu._closing.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emu.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
