"""steer_sync and steer_async over a loopback HTTP server, against the floor and the SDKs.

Run ``python benchmarks/clients.py`` (about 3 minutes on 2 cores; ``--quick``, 20 s, for a
smoke run): it prints the markdown tables of the "The clients" section of docs/streaming-performance.md.
Progress, and how much CPU other processes used in each phase, go to stderr.

The server runs in its own process (so it does not take the client's GIL), speaks
HTTP/1.1 with keep-alive and ``Transfer-Encoding: chunked``, and writes ONE HTTP chunk per
server-sent event, with one ``send`` each, as the real APIs do (or, for ``"cl"`` workloads,
the same body in one piece framed by ``Content-Length``). The bodies are rendered once,
before timing, with the field sets of the recorded streams in ``tests/fixtures/sse``
(``openai/chat-text-include-usage.sse``: a role chunk, the content chunks, a finish chunk,
a usage chunk and ``data: [DONE]``; ``anthropic/text.sse``: ``message_start`` through
``message_stop``, with ``ping`` and the API's padded JSON; ``openai/responses-text.sse``:
the Responses events, the last four repeating the whole text). Every contender sends its
usual request to ``/v1/chat/completions``, ``/v1/messages`` or ``/v1/responses``; the
prompt names the workload (``"wl:d5x10000"``: 10,000 deltas of 5 characters).

Contenders, in the same run:

- **raw**: the transport alone, bytes read and counted, nothing parsed: the floor.
  requests ``response.raw.read1`` in a loop; httpx ``aiter_raw``; aiohttp
  ``content.iter_any()``.
- **minimal**: a minimal consumer over the same transports: read, split on blank lines,
  ``json.loads`` each ``data:`` line, append the text, join at the end.
- **sseclient-py + json** (over requests) and **httpx-sse + json** (blocking and asyncio
  httpx): the SSE libraries a user would otherwise reach for.
- **steer sync** / **steer async**: ``client.stream(...)``, appending the text chunks, and
  ``stream_with_usage(...)``; steer async on httpx and on ``transport="aiohttp"``.
- **openai SDK** and **anthropic SDK**, sync and async: ``create(..., stream=True)``,
  appending ``choices[0].delta.content`` / the ``text_delta`` text (``responses.create``
  and ``response.output_text.delta`` for Responses).

Single streams: each timing covers one request, from sending it to the joined text, with
``time.perf_counter`` (wall) and ``time.process_time`` (CPU of this, the client, process),
divided by the number of server-sent events. Each round runs every contender once, in a
new (seeded) random order; each cell gives the median of N runs and the spread (lowest and
highest). Per call: one-delta streams, 20 in a row. Concurrency: 200 streams on one async
client (``asyncio.gather``) and 32 threads on one sync client, each against the same
client running the same streams one after the other, in alternation. Latency: the server
sends an event every 50 ms with ``time.time()`` as its text; the consumer subtracts it
from its own ``time.time()`` when the text reaches it (and the CPU time of that stream
gives the per-event cost when events arrive one at a time).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import functools
import gc
import json
import math
import multiprocessing
import os
import platform
import random
import re
import socket
import statistics
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from typing import Any

MODELS = {"chat": "gpt-4o-mini", "anthropic": "claude-sonnet-4-5", "responses": "gpt-4o-mini"}
PATHS = {"chat": "/v1/chat/completions", "anthropic": "/v1/messages", "responses": "/v1/responses"}
FORMAT_NAMES = {
    "chat": "Chat Completions",
    "anthropic": "Anthropic Messages",
    "responses": "OpenAI Responses",
}
OPENAI_API = {"chat": "chat", "responses": "responses"}  # steer's openai_api per format
FORMATS = tuple(MODELS)
READ_SIZE = 16384  # steer's default chunk_size, used by the raw and minimal loops too
TIMESTAMP = "@" * 17  # replaced by "%.6f" % time.time() in the latency stream
KEY_RE = re.compile(rb"wl:([a-z0-9]+)")
_RECORDED_RESPONSES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "sse", "openai",
    "responses-text.sse",
)  # fmt: skip
X = "\N{MULTIPLICATION SIGN}"

# ---------------------------------------------------------------------------------------
# Workloads: the bytes the APIs send (both processes render them the same way)
# ---------------------------------------------------------------------------------------

_WORD_LIST = (
    "the of and to in is that it for on with as was at by an be this from or are not "
    "have but all can which their will one there been has more would about if its so "
    'stream parser event token model reply: café naïve — “quoted” "JSON" back\\slash'
)
_WORDS = tuple(_WORD_LIST.split())


def make_deltas(n: int, size: int) -> list[str]:
    """``n`` text deltas of ``size`` characters (words, punctuation, escapes, non-ASCII)."""
    rng = random.Random(n * 1000 + size)
    words: list[str] = []
    total = 0
    while total < n * size:
        word = rng.choice(_WORDS)
        if rng.random() < 0.05:
            word += ".\n\n" if rng.random() < 0.3 else ","
        words.append(word)
        total += len(word) + 1
    text = " ".join(words)[: n * size]
    return [text[i : i + size] for i in range(0, n * size, size)]


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _sse(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


class Renderer:
    """One stream's server-sent events: ``head()``, ``delta(text)`` for each, ``tail()``."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.rng = random.Random(7)

    def _chat(
        self, delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None
    ) -> bytes:
        obfuscation = "".join(self.rng.choices("abcdefghijkLMNOPQRSTuvwxyz0123456789", k=12))
        choices = (
            []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        )
        return _sse(
            _dumps(
                {
                    "id": "chatcmpl-C2P2HtMJhPkWjQ2adKerkdVilXmRL",
                    "object": "chat.completion.chunk",
                    "created": 1754688929,
                    "model": "gpt-4o-2024-08-06",
                    "service_tier": "default",
                    "system_fingerprint": "fp_07871e2ad8",
                    "choices": choices,
                    "usage": usage,
                    "obfuscation": "" if usage else obfuscation,
                }
            )
        )

    def _anthropic(self, name: str, obj: dict[str, Any]) -> bytes:
        data = _dumps(obj)  # the API pads its JSON with spaces before the last brace
        return _sse(data[:-1] + " " * self.rng.randint(0, 16) + "}", name)

    def _responses_events(self) -> dict[str, Any]:
        """The recorded Responses stream's events by type (the first delta for deltas)."""
        with open(_RECORDED_RESPONSES, encoding="utf-8") as f:
            blocks = f.read().strip().split("\n\n")
        events: dict[str, Any] = {}
        for block in blocks:
            data = json.loads(block.split("\n", 1)[1].removeprefix("data: "))
            events.setdefault(data["type"], data)
        return events

    def _response(self, obj: dict[str, Any]) -> bytes:
        obj["sequence_number"] = self.seq
        self.seq += 1
        return _sse(_dumps(obj), obj["type"])

    def head(self) -> list[bytes]:
        if self.fmt == "chat":
            return [self._chat({"role": "assistant", "content": "", "refusal": None})]
        if self.fmt == "responses":
            self.recorded = self._responses_events()
            self.seq = 0
            self.text_parts: list[str] = []
            return [
                self._response(self.recorded[kind])
                for kind in (
                    "response.created",
                    "response.in_progress",
                    "response.output_item.added",
                    "response.content_part.added",
                )
            ]
        usage = {
            "input_tokens": 16,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 5,
            "service_tier": "standard",
            "inference_geo": "not_available",
        }
        message = {
            "model": "claude-sonnet-4-20250514",
            "id": "msg_01R8GdyyLQUhUfyjqSCMbnWg",
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        block = {"type": "text", "text": ""}
        return [
            self._anthropic("message_start", {"type": "message_start", "message": message}),
            self._anthropic(
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
            _sse('{"type": "ping"}', "ping"),
        ]

    def delta(self, text: str) -> bytes:
        if self.fmt == "chat":
            return self._chat({"content": text})
        if self.fmt == "responses":
            self.text_parts.append(text)
            obfuscation = "".join(self.rng.choices("abcdefghijkLMNOPQRSTuvwxyz0123", k=10))
            event = {**self.recorded["response.output_text.delta"], "delta": text}
            return self._response({**event, "obfuscation": obfuscation})
        delta = {"type": "text_delta", "text": text}
        return self._anthropic(
            "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
        )

    def tail(self, deltas: int) -> list[bytes]:
        if self.fmt == "chat":
            usage = {
                "prompt_tokens": 14,
                "completion_tokens": deltas,
                "total_tokens": 14 + deltas,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                "completion_tokens_details": {
                    "reasoning_tokens": 0,
                    "audio_tokens": 0,
                    "accepted_prediction_tokens": 0,
                    "rejected_prediction_tokens": 0,
                },
            }
            return [self._chat({}, "stop"), self._chat(None, usage=usage), b"data: [DONE]\n\n"]
        if self.fmt == "responses":  # the last four events repeat the whole text
            text = "".join(self.text_parts)
            done = {**self.recorded["response.output_text.done"], "text": text}
            part_done = dict(self.recorded["response.content_part.done"])
            part_done["part"] = {**part_done["part"], "text": text}
            item_done = dict(self.recorded["response.output_item.done"])
            item = item_done["item"] = dict(item_done["item"])
            item["content"] = [{**item["content"][0], "text": text}]
            completed = dict(self.recorded["response.completed"])
            response = completed["response"] = dict(completed["response"])
            response["output"] = [item]
            response["usage"] = {**response["usage"], "output_tokens": deltas,
                                 "total_tokens": response["usage"]["input_tokens"] + deltas}  # fmt: skip
            return [self._response(e) for e in (done, part_done, item_done, completed)]
        usage = {
            "input_tokens": 16,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": deltas,
        }
        stop = {"stop_reason": "end_turn", "stop_sequence": None}
        return [
            self._anthropic("content_block_stop", {"type": "content_block_stop", "index": 0}),
            self._anthropic(
                "message_delta", {"type": "message_delta", "delta": stop, "usage": usage}
            ),
            self._anthropic("message_stop", {"type": "message_stop"}),
        ]


def render(fmt: str, deltas: list[str]) -> list[bytes]:
    """The whole stream, one item per server-sent event."""
    r = Renderer(fmt)
    return [*r.head(), *(r.delta(d) for d in deltas), *r.tail(len(deltas))]


def sse_events(fmt: str, deltas: int) -> int:
    return deltas + {"chat": 4, "anthropic": 6, "responses": 8}[fmt]


def parse_key(key: str) -> tuple[str, int, int]:
    """``d5x10000`` -> ("d", 5, 10000): deltas of 5 characters (``cl`` after it: the same
    body framed by Content-Length, not chunked); ``lat100x50`` -> 100 events every 50 ms."""
    m = re.fullmatch(r"(d|lat)(\d+)x(\d+)(?:cl)?", key)
    if m is None:
        raise ValueError(key)
    return m.group(1), int(m.group(2)), int(m.group(3))


# ---------------------------------------------------------------------------------------
# The server (its own process)
# ---------------------------------------------------------------------------------------

_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"Cache-Control: no-cache\r\n"
    b"\r\n"
)


_HEAD_CL = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream; charset=utf-8\r\n"
    b"Content-Length: %d\r\n"
    b"Cache-Control: no-cache\r\n"
    b"\r\n"
)


def _chunk(event: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(event), event)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # 200 clients connect at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up
            super().handle_error(request, client_address)


def _server_main(conn: Any) -> None:
    """Serve until killed; send the port through ``conn`` first."""
    cache: dict[tuple[str, str], list[bytes]] = {}
    lock = threading.Lock()

    def framed(fmt: str, key: str) -> list[bytes]:
        with lock:
            hit = cache.get((fmt, key))
            if hit is None:
                _, size, n = parse_key(key)
                events = render(fmt, make_deltas(n, size))
                if key.endswith("cl"):  # one body, Content-Length framing
                    body = b"".join(events)
                    hit = [_HEAD_CL % len(body) + body]
                else:
                    hit = [_HEAD, *(_chunk(e) for e in events)]
                    hit[-1] += b"0\r\n\r\n"  # the last event ends the body
                cache[fmt, key] = hit
        return hit

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fmt = next((f for f, path in PATHS.items() if self.path.endswith(path)), None)
            m = KEY_RE.search(body)
            if fmt is None or m is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            key = m.group(1).decode()
            write = self.wfile.write
            try:
                if key.startswith("lat"):
                    self._latency(fmt, key)
                else:
                    for piece in framed(fmt, key):  # one send per event, as the APIs do
                        write(piece)
            except OSError:
                self.close_connection = True

        def _latency(self, fmt: str, key: str) -> None:
            _, n, interval_ms = parse_key(key)
            r = Renderer(fmt)
            write = self.wfile.write
            write(_HEAD + b"".join(_chunk(e) for e in r.head()))
            template = _chunk(r.delta(TIMESTAMP))
            stamp = TIMESTAMP.encode()
            for _ in range(n):
                time.sleep(interval_ms / 1000)
                write(template.replace(stamp, b"%.6f" % time.time()))
            write(b"".join(_chunk(e) for e in r.tail(n)) + b"0\r\n\r\n")

    server = _Server(("127.0.0.1", 0), Handler)
    conn.send(server.server_address[1])
    conn.close()
    server.serve_forever(poll_interval=0.5)


# ---------------------------------------------------------------------------------------
# Contenders
# ---------------------------------------------------------------------------------------

HEADERS = {
    "content-type": "application/json",
    "authorization": "Bearer k",
    "x-api-key": "k",
    "anthropic-version": "2023-06-01",
}


def request_body(fmt: str, key: str) -> bytes:
    messages = [{"role": "user", "content": f"wl:{key}"}]
    if fmt == "chat":
        obj: dict[str, Any] = {
            "model": MODELS[fmt],
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    elif fmt == "responses":
        obj = {"model": MODELS[fmt], "input": messages, "stream": True}
    else:
        obj = {"model": MODELS[fmt], "max_tokens": 1024, "messages": messages, "stream": True}
    return json.dumps(obj).encode()


Sink = Callable[[str], None]


def _blocks_handler(fmt: str) -> Callable[[list[bytes], Sink], None]:
    """The minimal consumer's per-read work: the text of each complete event, to ``sink``."""
    loads = json.loads
    if fmt == "chat":

        def chat(blocks: list[bytes], sink: Sink) -> None:
            for block in blocks:
                for line in block.decode().split("\n"):
                    if line[:6] != "data: " or line == "data: [DONE]":
                        continue
                    choices = loads(line[6:])["choices"]
                    if choices:
                        text = choices[0]["delta"].get("content")
                        if text:
                            sink(text)

        return chat

    if fmt == "responses":

        def responses(blocks: list[bytes], sink: Sink) -> None:
            for block in blocks:
                for line in block.decode().split("\n"):
                    if line[:6] != "data: ":
                        continue
                    obj = loads(line[6:])
                    if obj["type"] == "response.output_text.delta":
                        sink(obj["delta"])

        return responses

    def anthropic(blocks: list[bytes], sink: Sink) -> None:
        for block in blocks:
            for line in block.decode().split("\n"):
                if line[:6] != "data: ":
                    continue
                obj = loads(line[6:])
                if obj["type"] == "content_block_delta" and obj["delta"]["type"] == "text_delta":
                    sink(obj["delta"]["text"])

    return anthropic


HANDLERS = {fmt: _blocks_handler(fmt) for fmt in MODELS}


@dataclass
class Raw:
    """What a raw loop returns: bytes and reads."""

    nbytes: int
    reads: int


class RequestsLoops:
    """raw and minimal loops over one pooled requests.Session (what steer_sync uses)."""

    def __init__(self, base: str) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=64, max_retries=0)
        self.session.mount("http://", adapter)
        self.base = base

    def _open(self, fmt: str, key: str) -> Any:
        return self.session.post(
            self.base + PATHS[fmt],
            data=request_body(fmt, key),
            headers=HEADERS,
            stream=True,
            timeout=60,
        )

    def raw(self, fmt: str, key: str) -> Raw:
        response = self._open(fmt, key)
        read1 = response.raw.read1
        nbytes = reads = 0
        while True:
            data = read1(READ_SIZE, decode_content=False)
            if not data:
                break
            nbytes += len(data)
            reads += 1
        response.raw.release_conn()
        return Raw(nbytes, reads)

    def minimal(self, fmt: str, key: str, sink: Sink | None = None) -> str:
        response = self._open(fmt, key)
        read1 = response.raw.read1
        handle = HANDLERS[fmt]
        parts: list[str] = []
        sink = sink or parts.append
        buf = b""
        while True:
            data = read1(READ_SIZE, decode_content=False)
            if not data:
                break
            buf += data
            *blocks, buf = buf.split(b"\n\n")
            if blocks:
                handle(blocks, sink)
        response.raw.release_conn()
        return "".join(parts)


class HttpxLoops:
    """raw and minimal loops over one httpx.AsyncClient (what steer_async uses)."""

    def __init__(self, base: str, client: Any) -> None:
        self.client = client
        self.base = base

    async def raw(self, fmt: str, key: str) -> Raw:
        nbytes = reads = 0
        url = self.base + PATHS[fmt]
        body = request_body(fmt, key)
        async with self.client.stream("POST", url, content=body, headers=HEADERS) as response:
            async for data in response.aiter_raw():
                nbytes += len(data)
                reads += 1
        return Raw(nbytes, reads)

    async def minimal(self, fmt: str, key: str, sink: Sink | None = None) -> str:
        handle = HANDLERS[fmt]
        parts: list[str] = []
        sink = sink or parts.append
        buf = b""
        url = self.base + PATHS[fmt]
        body = request_body(fmt, key)
        async with self.client.stream("POST", url, content=body, headers=HEADERS) as response:
            async for data in response.aiter_raw():
                buf += data
                *blocks, buf = buf.split(b"\n\n")
                if blocks:
                    handle(blocks, sink)
        return "".join(parts)


class AiohttpLoops:
    """raw and minimal loops over one aiohttp.ClientSession (what steer_async's aiohttp
    transport uses): ``content.iter_any()``, every byte buffered at each step."""

    def __init__(self, base: str, session: Any) -> None:
        self.session = session
        self.base = base

    async def raw(self, fmt: str, key: str) -> Raw:
        nbytes = reads = 0
        url = self.base + PATHS[fmt]
        async with self.session.post(url, data=request_body(fmt, key), headers=HEADERS,
                                     auto_decompress=False) as response:  # fmt: skip
            async for data in response.content.iter_any():
                nbytes += len(data)
                reads += 1
        return Raw(nbytes, reads)

    async def minimal(self, fmt: str, key: str, sink: Sink | None = None) -> str:
        handle = HANDLERS[fmt]
        parts: list[str] = []
        sink = sink or parts.append
        buf = b""
        url = self.base + PATHS[fmt]
        async with self.session.post(url, data=request_body(fmt, key), headers=HEADERS,
                                     auto_decompress=False) as response:  # fmt: skip
            async for data in response.content.iter_any():
                buf += data
                *blocks, buf = buf.split(b"\n\n")
                if blocks:
                    handle(blocks, sink)
        return "".join(parts)


def _sse_text(fmt: str, data: str, loads: Callable[[str], Any] = json.loads) -> str | None:
    """The text of one event's data, for the SSE-library contenders."""
    if data == "[DONE]":
        return None
    obj = loads(data)
    if fmt == "chat":
        choices = obj["choices"]
        return choices[0]["delta"].get("content") if choices else None
    if fmt == "responses":
        return obj["delta"] if obj["type"] == "response.output_text.delta" else None
    if obj["type"] == "content_block_delta" and obj["delta"]["type"] == "text_delta":
        return obj["delta"]["text"]  # type: ignore[no-any-return]
    return None


def sseclient_sync(session: Any, base: str) -> Callable[[str, str], str]:
    """sseclient-py over requests, as its README shows: ``SSEClient(response)``."""
    import sseclient

    def run(fmt: str, key: str) -> str:
        response = session.post(base + PATHS[fmt], data=request_body(fmt, key),
                                headers=HEADERS, stream=True, timeout=60)  # fmt: skip
        parts = [t for event in sseclient.SSEClient(response).events()
                 if (t := _sse_text(fmt, event.data))]  # fmt: skip
        response.close()
        return "".join(parts)

    return run


def httpx_sse_sync(client: Any, base: str) -> Callable[[str, str], str]:
    """httpx-sse over a blocking httpx.Client: ``connect_sse(...).iter_sse()``."""
    from httpx_sse import connect_sse

    def run(fmt: str, key: str) -> str:
        with connect_sse(client, "POST", base + PATHS[fmt], content=request_body(fmt, key),
                         headers=HEADERS) as source:  # fmt: skip
            return "".join(t for event in source.iter_sse() if (t := _sse_text(fmt, event.data)))

    return run


def httpx_sse_async(client: Any, base: str) -> Callable[[str, str], Any]:
    """httpx-sse over an httpx.AsyncClient: ``aconnect_sse(...).aiter_sse()``."""
    from httpx_sse import aconnect_sse

    async def run(fmt: str, key: str) -> str:
        async with aconnect_sse(client, "POST", base + PATHS[fmt],
                                content=request_body(fmt, key), headers=HEADERS) as source:  # fmt: skip
            parts = [t async for event in source.aiter_sse() if (t := _sse_text(fmt, event.data))]
        return "".join(parts)

    return run


def steer_sync_text(client: Any) -> Callable[[str, str], str]:
    def run(fmt: str, key: str) -> str:
        parts: list[str] = []
        stream = client.stream(f"wl:{key}", model=MODELS[fmt], openai_api=OPENAI_API.get(fmt))
        for chunk in stream:
            parts.append(chunk)  # noqa: PERF402 - what a consumer does with each chunk
        return "".join(parts)

    return run


def steer_sync_usage(client: Any) -> Callable[[str, str], str]:
    def run(fmt: str, key: str) -> str:
        response = client.stream_with_usage(
            f"wl:{key}", model=MODELS[fmt], openai_api=OPENAI_API.get(fmt)
        )
        assert response.usage is not None
        return str(response.get_text())

    return run


def steer_async_text(client: Any) -> Callable[[str, str], Any]:
    async def run(fmt: str, key: str) -> str:
        parts: list[str] = []
        stream = client.stream(f"wl:{key}", model=MODELS[fmt], openai_api=OPENAI_API.get(fmt))
        async for chunk in stream:
            parts.append(chunk)  # noqa: PERF401 - what a consumer does with each chunk
        return "".join(parts)

    return run


def steer_async_usage(client: Any) -> Callable[[str, str], Any]:
    async def run(fmt: str, key: str) -> str:
        response = await client.stream_with_usage(
            f"wl:{key}", model=MODELS[fmt], openai_api=OPENAI_API.get(fmt)
        )
        assert response.usage is not None
        return str(response.get_text())

    return run


def _stamp_sink(out: list[float]) -> Sink:
    def sink(text: str) -> None:
        now = time.time()
        out.append(now - float(text))

    return sink


def latency_sync(consume: Callable[..., Any]) -> Callable[[str, str], list[float]]:
    """Latency from a minimal loop that takes a sink."""

    def run(fmt: str, key: str) -> list[float]:
        out: list[float] = []
        consume(fmt, key, _stamp_sink(out))
        return out

    return run


def latency_async(consume: Callable[..., Any]) -> Callable[[str, str], Any]:
    async def run(fmt: str, key: str) -> list[float]:
        out: list[float] = []
        await consume(fmt, key, _stamp_sink(out))
        return out

    return run


def latency_steer_sync(client: Any) -> Callable[[str, str], list[float]]:
    def run(fmt: str, key: str) -> list[float]:
        out: list[float] = []
        for chunk in client.stream(f"wl:{key}", model=MODELS[fmt]):
            now = time.time()
            out.append(now - float(chunk))
        return out

    return run


def latency_steer_async(client: Any) -> Callable[[str, str], Any]:
    async def run(fmt: str, key: str) -> list[float]:
        out: list[float] = []
        async for chunk in client.stream(f"wl:{key}", model=MODELS[fmt]):
            now = time.time()
            out.append(now - float(chunk))
        return out

    return run


_STAMP_RE = re.compile(rb'"content":"(\d+\.\d+)"')


def latency_socket(base: str, fmt: str, key: str) -> list[float]:
    """The floor: a bare socket, the request written by hand, a regex over each ``recv``."""
    host, port = base.removeprefix("http://").split(":")
    body = request_body(fmt, key)
    head = (
        f"POST {PATHS[fmt]} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    out: list[float] = []
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(head.encode() + body)
        while True:
            data = sock.recv(65536)
            now = time.time()
            if not data:
                break
            out.extend(now - float(m) for m in _STAMP_RE.findall(data))
    return out


def _messages(key: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"wl:{key}"}]


def openai_sync(client: Any) -> Callable[[str, str], str]:
    def run(fmt: str, key: str) -> str:
        if fmt == "responses":
            events = client.responses.create(model=MODELS[fmt], input=_messages(key), stream=True)
            return "".join(e.delta for e in events if e.type == "response.output_text.delta")
        stream = client.chat.completions.create(
            model=MODELS[fmt],
            messages=_messages(key),
            stream=True,
            stream_options={"include_usage": True},
        )
        parts: list[str] = []
        for chunk in stream:
            if chunk.choices:
                text = chunk.choices[0].delta.content
                if text:
                    parts.append(text)
        return "".join(parts)

    return run


def openai_async(client: Any) -> Callable[[str, str], Any]:
    async def run(fmt: str, key: str) -> str:
        if fmt == "responses":
            events = await client.responses.create(
                model=MODELS[fmt], input=_messages(key), stream=True
            )
            return "".join(
                [e.delta async for e in events if e.type == "response.output_text.delta"]
            )
        stream = await client.chat.completions.create(
            model=MODELS[fmt],
            messages=_messages(key),
            stream=True,
            stream_options={"include_usage": True},
        )
        parts: list[str] = []
        async for chunk in stream:
            if chunk.choices:
                text = chunk.choices[0].delta.content
                if text:
                    parts.append(text)
        return "".join(parts)

    return run


def anthropic_sync(client: Any) -> Callable[[str, str], str]:
    def run(fmt: str, key: str) -> str:
        stream = client.messages.create(
            model=MODELS[fmt], max_tokens=1024, messages=_messages(key), stream=True
        )
        parts: list[str] = []
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)  # noqa: PERF401 - the consumer's loop
        return "".join(parts)

    return run


def anthropic_async(client: Any) -> Callable[[str, str], Any]:
    async def run(fmt: str, key: str) -> str:
        stream = await client.messages.create(
            model=MODELS[fmt], max_tokens=1024, messages=_messages(key), stream=True
        )
        parts: list[str] = []
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)  # noqa: PERF401 - the consumer's loop
        return "".join(parts)

    return run


@dataclass
class Row:
    """One contender: ``run(fmt, key)`` (a coroutine function when ``mode`` is async)."""

    id: str
    contender: str
    transport: str
    mode: str  # "sync" | "async"
    formats: tuple[str, ...]
    run: Callable[[str, str], Any] | None
    missing: str = ""
    raw: bool = False
    sdk: bool = False
    latency: Callable[[str, str], Any] | None = None


@dataclass
class Samples:
    """Every run of one cell: ``wall`` and ``cpu`` are the medians of its runs (seconds),
    ``spread`` the lowest and highest CPU seconds; the reads of raw rows."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    reads: list[int] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls) if self.walls else math.inf

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpus) if self.cpus else math.inf

    @property
    def runs(self) -> int:
        return len(self.cpus)

    @property
    def spread(self) -> tuple[float, float]:
        return (min(self.cpus), max(self.cpus)) if self.cpus else (math.inf, math.inf)

    def add(self, wall: float, cpu: float, out: Any = None) -> None:
        self.walls.append(wall)
        self.cpus.append(cpu)
        if isinstance(out, Raw):
            self.reads.append(out.reads)


async def _timed(fn: Callable[..., Any], *args: Any) -> tuple[float, float, Any]:
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = await fn(*args)
    t1 = time.perf_counter()
    c1 = time.process_time()
    return t1 - t0, c1 - c0, out


# ---------------------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------------------


@dataclass
class Config:
    shapes: list[tuple[int, int, int, int]]  # (characters per delta, deltas, N, N for SDKs)
    cl_shape: tuple[int, int, int, int]  # the same, Chat Completions framed by Content-Length
    streams: int  # concurrent async streams
    threads: int
    per_thread: int  # streams per thread, one after the other
    conc_deltas: int  # deltas per stream in the concurrency cases
    sequential: int  # streams one after the other: the single-stream baseline
    conc_rounds: int
    lat_events: int
    lat_ms: int
    calls: int = 20  # one-delta streams per timing, in the per-call table
    call_rounds: int = 5


FULL = Config(
    [(5, 10_000, 11, 3), (200, 1_000, 11, 3)], (5, 10_000, 11, 3), 200, 32, 3, 500, 10, 5, 100, 50
)
QUICK = Config(
    [(5, 2_000, 2, 1), (200, 200, 3, 1)], (5, 2_000, 2, 1), 50, 8, 2, 100, 4, 1, 20, 50, 5, 1
)

SYNC_CONCURRENCY = ("raw/requests", "minimal/requests", "steer sync")
ASYNC_CONCURRENCY = (
    "raw/httpx",
    "minimal/httpx",
    "httpx-sse async",
    "steer async",
    "raw/aiohttp",
    "minimal/aiohttp",
    "steer async/aiohttp",
)


class LoadMeter:
    """CPU seconds that other processes used (Linux: /proc/stat, minus ours and the server's)."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.start = self._sample()

    @staticmethod
    def _busy() -> float | None:
        try:
            with open("/proc/stat", encoding="ascii") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def _server_cpu(self) -> float:
        try:
            with open(f"/proc/{self.server_pid}/stat", encoding="ascii") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return 0.0

    def _sample(self) -> tuple[float | None, float, float, float]:
        return self._busy(), time.process_time(), self._server_cpu(), time.perf_counter()

    def other(self, since: tuple[float | None, float, float, float] | None = None) -> float | None:
        """Cores' worth of CPU that other processes used since ``since`` (the start)."""
        busy0, ours0, server0, t0 = since or self.start
        busy1, ours1, server1, t1 = self._sample()
        if busy0 is None or busy1 is None or t1 <= t0:
            return None
        other = (busy1 - busy0) - (ours1 - ours0) - (server1 - server0)
        return max(0.0, other) / (t1 - t0)

    def mark(self) -> tuple[float | None, float, float, float]:
        return self._sample()


def _log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.1f}s] {message}", file=sys.stderr, flush=True)


_T0 = time.perf_counter()


class Bench:
    def __init__(self, base: str, cfg: Config) -> None:
        self.base = base
        self.cfg = cfg
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self._closers: list[Callable[[], Any]] = []
        self.rows = self._rows()
        self._order = random.Random(0)  # the order of each round (seeded: reproducible)

    # -- contenders ----------------------------------------------------------------------

    def _rows(self) -> list[Row]:
        import anthropic
        import httpx
        import openai

        import steer_async
        import steer_sync

        base = self.base
        keys = {"openai": "k", "anthropic": "k"}
        urls = {"openai": f"{base}/v1", "anthropic": base}
        sdk = {"base_url": base, "api_key": "k", "max_retries": 0}
        oai = {**sdk, "base_url": f"{base}/v1"}
        openai_formats = ("chat", "responses")
        rows: list[Row] = []

        def add(
            row_id: str, contender: str, transport: str, mode: str, run: Any, **kw: Any
        ) -> None:
            kw.setdefault("formats", FORMATS)
            rows.append(Row(row_id, contender, transport, mode, run=run, **kw))

        # The blocking side: requests, as steer_sync.
        loops = RequestsLoops(base)
        hsync = httpx.Client(timeout=httpx.Timeout(60.0))
        ssync = steer_sync.SteerLLMClient(api_keys=keys, base_urls=urls)
        osync, async_ = openai.OpenAI(**oai), anthropic.Anthropic(**sdk)
        self._closers += [loops.session.close, hsync.close, ssync.close, osync.close, async_.close]
        add("raw/requests", "raw", "requests", "sync", loops.raw, raw=True)
        add("minimal/requests", "minimal", "requests", "sync", loops.minimal,
            latency=latency_sync(loops.minimal))  # fmt: skip
        add("sseclient", "sseclient-py + json", "requests", "sync",
            sseclient_sync(loops.session, base))  # fmt: skip
        add("httpx-sse sync", "httpx-sse + json", "httpx", "sync", httpx_sse_sync(hsync, base))
        add("steer sync", "steer sync `stream()`", "requests", "sync", steer_sync_text(ssync),
            latency=latency_steer_sync(ssync))  # fmt: skip
        add("steer sync usage", "steer sync `stream_with_usage()`", "requests", "sync",
            steer_sync_usage(ssync))  # fmt: skip
        add("openai sync", "openai SDK sync", "httpx2", "sync", openai_sync(osync),
            formats=openai_formats, sdk=True)  # fmt: skip
        add("anthropic sync", "anthropic SDK sync", "httpx2", "sync", anthropic_sync(async_),
            formats=("anthropic",), sdk=True)  # fmt: skip

        # The asyncio side: httpx (steer_async's default), then aiohttp (its other transport).
        async def make() -> None:
            import aiohttp

            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            hx = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(60.0))
            hloops = HttpxLoops(base, hx)
            sasync = steer_async.SteerLLMClient(api_keys=keys, base_urls=urls)
            oasync, aasync = openai.AsyncOpenAI(**oai), anthropic.AsyncAnthropic(**sdk)
            self._closers += [hx.aclose, sasync.aclose, oasync.close, aasync.close]
            add("raw/httpx", "raw", "httpx", "async", hloops.raw, raw=True)
            add("minimal/httpx", "minimal", "httpx", "async", hloops.minimal,
                latency=latency_async(hloops.minimal))  # fmt: skip
            add("httpx-sse async", "httpx-sse + json", "httpx", "async", httpx_sse_async(hx, base))
            add("steer async", "steer async `stream()`", "httpx", "async",
                steer_async_text(sasync), latency=latency_steer_async(sasync))  # fmt: skip
            add("steer async usage", "steer async `stream_with_usage()`", "httpx", "async",
                steer_async_usage(sasync))  # fmt: skip
            add("openai async", "openai SDK async", "httpx2", "async", openai_async(oasync),
                formats=openai_formats, sdk=True)  # fmt: skip
            add("anthropic async", "anthropic SDK async", "httpx2", "async",
                anthropic_async(aasync), formats=("anthropic",), sdk=True)  # fmt: skip

            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
            )
            aloops = AiohttpLoops(base, session)
            saio = steer_async.SteerLLMClient(api_keys=keys, base_urls=urls, transport="aiohttp")
            self._closers += [session.close, saio.aclose]
            add("raw/aiohttp", "raw", "aiohttp", "async", aloops.raw, raw=True)
            add("minimal/aiohttp", "minimal", "aiohttp", "async", aloops.minimal,
                latency=latency_async(aloops.minimal))  # fmt: skip
            add("steer async/aiohttp", "steer async `stream()`", "aiohttp", "async",
                steer_async_text(saio), latency=latency_steer_async(saio))  # fmt: skip
            add("steer async/aiohttp usage", "steer async `stream_with_usage()`", "aiohttp",
                "async", steer_async_usage(saio))  # fmt: skip

        self.loop.run_until_complete(make())
        return rows

    def row(self, row_id: str) -> Row:
        return next(r for r in self.rows if r.id == row_id)

    def close(self) -> None:
        for closer in self._closers:
            result = closer()
            if asyncio.iscoroutine(result):
                self.loop.run_until_complete(result)
        self.loop.close()

    # -- measuring -----------------------------------------------------------------------

    def shuffled(self, rows: list[Row]) -> list[Row]:
        """The contenders in a new order for each round. A fixed order, even rotated, keeps
        the one each contender runs after, and that decides what is still in the caches:
        steer's ``stream()`` row always ran after the minimal consumer, its code cold, and
        ``stream_with_usage()`` after ``stream()``, its code warm (0.4 µs an event between
        the two on 200-character deltas, for that alone)."""
        order = rows[:]
        self._order.shuffle(order)
        return order

    def call(self, row: Row, fmt: str, key: str) -> tuple[float, float, Any]:
        assert row.run is not None
        if row.mode == "async":
            return self.loop.run_until_complete(_timed(row.run, fmt, key))
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = row.run(fmt, key)
        t1 = time.perf_counter()
        c1 = time.process_time()
        return t1 - t0, c1 - c0, out

    @staticmethod
    def check(row: Row, out: Any, text: str, nbytes: int) -> None:
        ok = (isinstance(out, Raw) and out.nbytes == nbytes) if row.raw else out == text
        if not ok:
            got = out.nbytes if isinstance(out, Raw) else len(out)
            raise SystemExit(f"{row.id}: wrong result ({got} bytes/characters)")

    def single(
        self, fmt: str, size: int, n: int, rounds: int, sdk_rounds: int, cl: bool = False
    ) -> dict[str, Samples]:
        """Every contender on one stream, ``rounds`` times in alternation (``cl``: framed
        by Content-Length instead of chunked)."""
        framing = "cl" if cl else ""
        key = f"d{size}x{n}{framing}"
        deltas = make_deltas(n, size)
        text = "".join(deltas)
        nbytes = len(b"".join(render(fmt, deltas)))
        rows = [r for r in self.rows if fmt in r.formats and r.run is not None]
        for row in rows:  # warm-up on a short stream: connections, imports, caches
            self.call(row, fmt, f"d{size}x50{framing}")
        gc.collect()
        gc.freeze()
        samples = {r.id: Samples() for r in rows}
        for i in range(max(rounds, sdk_rounds)):
            for row in self.shuffled(rows):
                if i >= (sdk_rounds if row.sdk else rounds):
                    continue
                wall, cpu, out = self.call(row, fmt, key)
                self.check(row, out, text, nbytes)
                samples[row.id].add(wall, cpu, out)
        return samples

    def per_call(self, fmt: str) -> dict[str, Samples]:
        """A one-delta stream, ``calls`` times in a row: the fixed cost of a call."""
        cfg = self.cfg
        key = "d5x1"
        deltas = make_deltas(1, 5)
        text, nbytes = "".join(deltas), len(b"".join(render(fmt, deltas)))
        rows = [r for r in self.rows if fmt in r.formats and r.run is not None]
        samples = {r.id: Samples() for r in rows}
        for i in range(cfg.call_rounds + 1):
            for row in self.shuffled(rows):
                wall = cpu = 0.0
                for _ in range(cfg.calls):
                    w, c, out = self.call(row, fmt, key)
                    self.check(row, out, text, nbytes)
                    wall, cpu = wall + w, cpu + c
                if i:  # the first round warms up
                    samples[row.id].add(wall / cfg.calls, cpu / cfg.calls)
        return samples

    def async_concurrency(self) -> dict[str, tuple[Samples, Samples]]:
        cfg = self.cfg
        rows = [self.row(i) for i in ASYNC_CONCURRENCY if self.row(i).run is not None]
        check = self._checker(cfg.conc_deltas)

        async def sequential(fn: Callable[..., Any], key: str) -> list[Any]:
            return [await fn("chat", key) for _ in range(cfg.sequential)]

        async def concurrent(fn: Callable[..., Any], key: str) -> list[Any]:
            return await asyncio.gather(*(fn("chat", key) for _ in range(cfg.streams)))

        def run(row: Row, how: Callable[..., Any], key: str) -> tuple[float, float]:
            wall, cpu, outs = self.loop.run_until_complete(_timed(how, row.run, key))
            check(row, outs, key)
            return wall, cpu

        return self._concurrency(rows, run, sequential, concurrent)

    def thread_concurrency(self) -> dict[str, tuple[Samples, Samples]]:
        cfg = self.cfg
        rows = [self.row(i) for i in SYNC_CONCURRENCY]
        check = self._checker(cfg.conc_deltas)

        def sequential(run: Callable[..., Any], key: str) -> list[Any]:
            return [run("chat", key) for _ in range(cfg.sequential)]

        def threaded(run: Callable[..., Any], key: str) -> list[Any]:
            barrier = threading.Barrier(cfg.threads + 1)
            outs: list[Any] = []
            errors: list[BaseException] = []

            def work() -> None:
                barrier.wait()
                try:
                    outs.extend(run("chat", key) for _ in range(cfg.per_thread))
                except BaseException as exc:
                    errors.append(exc)

            threads = [threading.Thread(target=work) for _ in range(cfg.threads)]
            for thread in threads:
                thread.start()
            barrier.wait()  # the clock starts once every thread exists
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            return outs

        def run(row: Row, how: Callable[..., Any], key: str) -> tuple[float, float]:
            c0 = time.process_time()
            t0 = time.perf_counter()
            outs = how(row.run, key)
            t1 = time.perf_counter()
            c1 = time.process_time()
            check(row, outs, key)
            return t1 - t0, c1 - c0

        return self._concurrency(rows, run, sequential, threaded)

    def _checker(self, n: int) -> Callable[[Row, list[Any], str], None]:
        expected = {}
        for m in (n, 10):
            deltas = make_deltas(m, 5)
            expected[f"d5x{m}"] = ("".join(deltas), len(b"".join(render("chat", deltas))))

        def check(row: Row, outs: list[Any], key: str) -> None:
            for out in outs:
                self.check(row, out, *expected[key])

        return check

    def _concurrency(
        self,
        rows: list[Row],
        run: Callable[..., Any],
        one: Callable[..., Any],
        many: Callable[..., Any],
    ) -> dict[str, tuple[Samples, Samples]]:
        """The median of N of ``one`` (streams one after the other) and ``many`` (at once), in
        alternation, so that a busy spell of the machine falls on both."""
        key, warm = f"d5x{self.cfg.conc_deltas}", "d5x10"
        samples = {r.id: (Samples(), Samples()) for r in rows}
        for row in rows:  # warm-up on short streams: opens the connections
            run(row, one, warm)
            run(row, many, warm)
        gc.collect()
        gc.freeze()
        for _ in range(self.cfg.conc_rounds):
            for row in self.shuffled(rows):
                samples[row.id][0].add(*run(row, one, key))
                samples[row.id][1].add(*run(row, many, key))
        return samples

    def latency(self) -> dict[str, tuple[list[float], float]]:
        """Per contender: the delay of each event in ms, and the CPU seconds of the stream."""
        cfg = self.cfg
        key = f"lat{cfg.lat_events}x{cfg.lat_ms}"
        c0 = time.process_time()
        seconds = latency_socket(self.base, "chat", key)
        out = {"socket": ([s * 1000 for s in seconds], time.process_time() - c0)}
        for row in self.rows:
            if row.latency is None:
                continue
            c0 = time.process_time()
            if row.mode == "async":
                seconds = self.loop.run_until_complete(row.latency("chat", key))
            else:
                seconds = row.latency("chat", key)
            cpu = time.process_time() - c0
            if len(seconds) != cfg.lat_events:
                raise SystemExit(f"{row.id}: {len(seconds)} latency samples")
            out[row.id] = ([s * 1000 for s in seconds], cpu)
            _log(f"latency {row.id}: median {statistics.median(out[row.id][0]):.3f} ms")
        return out


# ---------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------


def _num(x: float) -> str:
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _ratio(x: float) -> str:
    if x >= 100:
        return f"{x:.0f}x"
    if x >= 10:
        return f"{x:.1f}x"
    return f"{x:.2f}x"


def _met(ratio: float, limit: float = 1.5) -> str:
    if limit == math.inf:
        return "-"
    return "yes" if ratio <= limit else "**no**"


def _version(name: str) -> str:
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"{name} not installed"


def _steer_version() -> str:
    """steer-llm-sdk's version, and the git commit measured when run from a checkout."""
    import subprocess

    import steer_common

    out = f"steer-llm-sdk {steer_common.__version__}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        git = ["git", "-C", root]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "steer_common", "steer_sync", "steer_async"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return out
    return f"{out} (commit {commit}{' with local changes' if dirty else ''})"


def _versions() -> str:
    names = ["requests", "urllib3", "httpx", "httpcore", "openai", "anthropic", "httpx2"]
    names += ["aiohttp", "sseclient-py", "httpx-sse"]
    return ", ".join(_version(name) for name in names)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


REF = {"sync": "minimal/requests", "async": "minimal/httpx"}
# (contender, reference, the ratio to meet) on every single-stream workload (issue 18; the
# aiohttp transport's, against the minimal consumer over aiohttp itself: issue 30).
SINGLE_TARGETS = (
    ("steer sync", "minimal/requests", 1.0),
    ("steer sync usage", "minimal/requests", 1.0),
    ("steer sync", "sseclient", 1.0),
    ("steer sync", "httpx-sse sync", 1.0),
    ("steer async", "minimal/httpx", 1.0),
    ("steer async usage", "minimal/httpx", 1.0),
    ("steer async", "httpx-sse async", 1.0),
    ("steer async/aiohttp", "minimal/aiohttp", 1.0),
    ("openai sync", "steer sync", math.inf),  # reported: how far behind the SDKs stay
    ("anthropic sync", "steer sync", math.inf),
)
STEER = {"sync": "steer sync", "async": "steer async"}


def report_single(
    rows: list[Row], fmt: str, size: int, n: int, samples: dict[str, Samples], summary: list[Any],
    cl: bool = False,
) -> None:  # fmt: skip
    events = sse_events(fmt, n)
    framing = ", one body framed by Content-Length" if cl else ""
    print(
        f"#### {FORMAT_NAMES[fmt]}: {n:,} deltas of {size} characters ({events:,} events{framing})"
    )
    print()
    print(
        "| contender | transport | wall µs/event | CPU µs/event | CPU spread | CPU ÷ ref. "
        "| wall ÷ ref. | CPU ÷ steer | reads/event |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    per = {k: (b.wall / events * 1e6, b.cpu / events * 1e6) for k, b in samples.items()}
    for row in rows:
        if fmt not in row.formats:
            continue
        if row.run is None:
            print(f"| {row.contender} | {row.transport} | {row.missing} | | | | | | |")
            continue
        wall, cpu = per[row.id]
        low, high = (x / events * 1e6 for x in samples[row.id].spread)
        ref = per.get(REF[row.mode])
        vs_ref = f"{_ratio(cpu / ref[1])} | {_ratio(wall / ref[0])}" if ref else "- | -"
        steer = per.get(STEER[row.mode])
        vs_steer = _ratio(cpu / steer[1]) if row.sdk and steer else "-"
        b = samples[row.id]
        reads = f"{statistics.mean(b.reads) / events:.2f}" if b.reads else "-"
        print(
            f"| {row.contender} | {row.transport} | {_num(wall)} | {_num(cpu)} "
            f"| {_num(low)}-{_num(high)} | {vs_ref} | {vs_steer} | {reads} |"
        )
    print()
    name = f"{fmt}, {n:,} {X} {size} chars{' (Content-Length)' if cl else ''}"
    for row_id, ref_id, limit in SINGLE_TARGETS:
        if cl and limit < 1.0:
            continue  # what aiohttp buys is per HTTP chunk: there are none to save here
        if row_id in per and ref_id in per:
            cpu = per[row_id][1] / per[ref_id][1]
            wall = per[row_id][0] / per[ref_id][0]
            summary.append((f"{row_id} ÷ {ref_id}", name, cpu, wall, limit))


def report_concurrency(
    title: str, case: str, rows: list[Row], samples: dict[str, tuple[Samples, Samples]], cfg: Config,
    streams: int, summary: list[Any],
) -> None:  # fmt: skip
    events = sse_events("chat", cfg.conc_deltas)
    print(f"#### {title}")
    print()
    print(
        "| contender | transport | one stream at a time: CPU µs/event | concurrent: CPU µs/event "
        "| CPU ratio | one at a time: wall µs/event | concurrent: wall µs/event "
        "| wall ratio |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    for row in rows:
        if row.id not in samples:
            print(f"| {row.contender} | {row.transport} | {row.missing} | | | | | |")
            continue
        one, many = samples[row.id]
        one_cpu = one.cpu / (cfg.sequential * events) * 1e6
        one_wall = one.wall / (cfg.sequential * events) * 1e6
        many_cpu = many.cpu / (streams * events) * 1e6
        many_wall = many.wall / (streams * events) * 1e6
        print(
            f"| {row.contender} | {row.transport} | {_num(one_cpu)} | {_num(many_cpu)} "
            f"| {_ratio(many_cpu / one_cpu)} | {_num(one_wall)} | {_num(many_wall)} "
            f"| {_ratio(many_wall / one_wall)} |"
        )
        if row.id.startswith("steer"):
            summary.append(
                (
                    f"{row.id}: {case} ÷ one at a time",
                    "chat",
                    many_cpu / one_cpu,
                    many_wall / one_wall,
                    math.inf,
                )
            )
    for row_id, ref_id, limit in CONCURRENT_TARGETS:
        if row_id in samples and ref_id in samples:
            ours, ref = samples[row_id][1], samples[ref_id][1]
            summary.append(
                (f"{row_id} ÷ {ref_id}, {case}", "chat", ours.cpu / ref.cpu,
                 ours.wall / ref.wall, limit)
            )  # fmt: skip
    print()


# Issue 30 replaced issue 18's targets against the raw transports (which no consumer that
# parses the events reaches) with the minimal consumer over the same transport.
CONCURRENT_TARGETS = (
    ("steer sync", "minimal/requests", 1.2),
    ("steer async", "minimal/httpx", 1.0),
    ("steer async/aiohttp", "minimal/aiohttp", 1.0),
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def report(bench: Bench, results: dict[str, Any]) -> None:
    cfg = bench.cfg
    rows = bench.rows
    now = datetime.datetime.now(datetime.timezone.utc)
    print(
        f"Measured on {now:%Y-%m-%d} on {_cpu_model()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}; {results['steer']}; {_versions()}."
    )
    total, loads = results["load"]
    if total is not None:
        per_phase = ", ".join(f"{name} {busy:.2f}" for name, busy in loads.items() if busy)
        print()
        print(
            f"Other processes on the machine used {total:.2f} cores on average during the run "
            f"(by phase, in cores: {per_phase or 'none'})."
        )
    print()
    summary: list[Any] = []
    print("### Single streams")
    print()
    print(
        "Median of N runs per cell, in alternation (N = "
        + ", ".join(f"{r} ({s}) for {n:,} deltas" for s, n, r, s in cfg.shapes)
        + "); CPU spread: the lowest and the highest run. ref. is the minimal consumer over requests for sync rows and over httpx "
        "for async rows (the targets); CPU ÷ steer compares an SDK with steer in the same "
        "mode. reads/event: reads the raw loop needed per event (below 1: several "
        "events per read)."
    )
    print()
    for size, n, _, _ in cfg.shapes:
        for fmt in FORMATS:
            report_single(rows, fmt, size, n, results[f"single {fmt} {size} {n}"], summary)
    size, n, _, _ = cfg.cl_shape
    report_single(rows, "chat", size, n, results[f"single chat {size} {n} cl"], summary, cl=True)

    print("### Per call")
    print()
    print(
        f"A stream of one 5-character delta (5 events for Chat Completions, 7 for "
        f"Anthropic), {cfg.calls} calls in a row on a warm client; median of "
        f"{cfg.call_rounds}. What a call costs besides its events: the request, the "
        "response head, and for steer preparing the call and finishing the response "
        "(usage, cost)."
    )
    print()
    print(
        "| contender | transport | chat: wall ms/call | chat: CPU ms/call "
        "| anthropic: wall ms/call | anthropic: CPU ms/call |"
    )
    print("|---|---|--:|--:|--:|--:|")
    for row in rows:
        cells = []
        for fmt in ("chat", "anthropic"):
            b = results[f"per call {fmt}"].get(row.id)
            if row.run is None:
                cells += [row.missing, ""]
            elif b is None:
                cells += ["-", "-"]
            else:
                cells += [f"{b.wall * 1e3:.2f}", f"{b.cpu * 1e3:.2f}"]
        print(f"| {row.contender} | {row.transport} | {' | '.join(cells)} |")
    print()

    print("### Many streams at once")
    print()
    print(
        f"{cfg.conc_deltas} deltas of 5 characters per stream (Chat Completions, "
        f"{sse_events('chat', cfg.conc_deltas)} events). One at a time: {cfg.sequential} streams "
        f"after each other on the same client. Median of {cfg.conc_rounds}."
    )
    print()
    arows = [bench.row(i) for i in ASYNC_CONCURRENCY]
    report_concurrency(
        f"{cfg.streams} concurrent streams on one async client (asyncio.gather)",
        f"{cfg.streams} streams",
        arows,
        results["async concurrency"],
        cfg,
        cfg.streams,
        summary,
    )
    trows = [bench.row(i) for i in SYNC_CONCURRENCY]
    report_concurrency(
        f"{cfg.threads} threads {X} {cfg.per_thread} streams on one sync client",
        f"{cfg.threads} threads",
        trows,
        results["thread concurrency"],
        cfg,
        cfg.threads * cfg.per_thread,
        summary,
    )

    lat = results["latency"]
    events = sse_events("chat", cfg.lat_events)
    print(f"### Latency: {cfg.lat_events} events, one every {cfg.lat_ms} ms (target under 1 ms)")
    print()
    print(
        "From the server's `time.time()` just before it writes an event to the consumer's "
        "`time.time()` when the text reaches it. CPU µs/event: the client's CPU time for the "
        f"whole stream ({events} events, one read each), the per-event cost when events "
        "arrive one at a time, as they do from a model."
    )
    print()
    print(
        "| contender | transport | median ms | p99 ms | max ms | under 1 ms (p99) "
        "| CPU µs/event | CPU ÷ ref. |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    floor = Row("socket", "bare socket: `recv` + regex (the floor)", "socket", "sync", (), None)
    for row in [floor, *rows]:
        if row.id != "socket" and row.latency is None and (row.run is not None or row.raw):
            continue
        if row.id not in lat:
            print(f"| {row.contender} | {row.transport} | {row.missing} | | | | | |")
            continue
        values, cpu = lat[row.id]
        p99 = percentile(values, 0.99)
        ref = lat.get(REF[row.mode]) if row.id != "socket" else None
        vs_ref = _ratio(cpu / ref[1]) if ref else "-"
        print(
            f"| {row.contender} | {row.transport} | {statistics.median(values):.3f} "
            f"| {p99:.3f} | {max(values):.3f} | {'yes' if p99 < 1 else '**no**'} "
            f"| {_num(cpu / events * 1e6)} | {vs_ref} |"
        )
    print()

    print("### Targets")
    print()
    print("| ratio | workload | target | CPU ratio | wall ratio | met (CPU) |")
    print("|---|---|--:|--:|--:|--:|")
    for what, name, cpu, wall, limit in summary:
        target = "-" if limit == math.inf else f"≤ {limit:g}x"
        print(f"| {what} | {name} | {target} | {_ratio(cpu)} | {_ratio(wall)} "
              f"| {_met(cpu, limit)} |")  # fmt: skip
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small streams, few runs (a smoke run)")
    args = ap.parse_args()
    cfg = QUICK if args.quick else FULL
    # The anthropic SDK warns once that the model name is deprecated; the name is only a route.
    warnings.filterwarnings("ignore", r"The model .* is deprecated", DeprecationWarning)

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_server_main, args=(child,), daemon=True, name="bench-server")
    server.start()
    try:
        if not parent.poll(30):
            raise SystemExit("the server did not start")
        base = f"http://127.0.0.1:{parent.recv()}"
        _log(f"server on {base} (pid {server.pid})")
        bench = Bench(base, cfg)
        meter = LoadMeter(server.pid)
        results: dict[str, Any] = {"steer": _steer_version()}  # the commit at the start
        phases: list[tuple[str, Callable[[], Any]]] = [
            (f"single {fmt} {size} {n}", functools.partial(bench.single, fmt, size, n, r, sdk_r))
            for size, n, r, sdk_r in cfg.shapes
            for fmt in FORMATS
        ]
        size, n, r, sdk_r = cfg.cl_shape
        phases.append((f"single chat {size} {n} cl",
                       functools.partial(bench.single, "chat", size, n, r, sdk_r, cl=True)))  # fmt: skip
        phases += [
            (f"per call {fmt}", functools.partial(bench.per_call, fmt))
            for fmt in ("chat", "anthropic")
        ]
        phases += [
            ("async concurrency", bench.async_concurrency),
            ("thread concurrency", bench.thread_concurrency),
            ("latency", bench.latency),
        ]
        loads: dict[str, float | None] = {}
        try:
            for name, phase in phases:
                mark = meter.mark()
                results[name] = phase()
                loads[name] = meter.other(mark)
                busy = loads[name]
                _log(f"{name}: other processes used {busy:.2f} cores" if busy is not None else name)
        finally:
            bench.close()
        results["load"] = (meter.other(), loads)
        _log("done")
        report(bench, results)
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
