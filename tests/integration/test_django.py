"""The Django example project (examples/django_app): the sync view on Django's test client
and on a live WSGI server, the async view on Django's async test client. Chunks arrive
while the model is still writing, and a client that goes away closes the upstream stream.
The emulator comes from the package's own ``steer_emulator`` fixture."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "django_app"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "streamapp.settings")

import django

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test import AsyncClient, Client  # noqa: E402
from streamapp import views  # noqa: E402

from steer_sync.emulator import Emulator  # noqa: E402


def prompt(**script: Any) -> str:
    return f"q [[emulator:{json.dumps(script)}]]"


# Two words arrive (the third event), then the model "thinks" for 30 s (keep-alives
# meanwhile).
PAUSED = prompt(
    text="one two three four", chunk_chars=4, pause_after_events=3, pause_seconds=30,
    keepalive_every=0.05,
)  # fmt: skip
# A long reply written steadily, for a browser that leaves half way.
STEADY = prompt(text="word " * 2000, chunk_chars=5, event_delay=0.01)


def test_sync_view_hands_on_each_chunk_and_closes_upstream(steer_emulator: Emulator) -> None:
    started = time.monotonic()
    response = Client().get("/stream", {"q": PAUSED})
    assert response.streaming and response["Content-Type"].startswith("text/plain")
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"one "  # while the server pauses for 30 s
    assert time.monotonic() - started < 10
    response.close()  # the browser went away: Django closes the iterator
    assert steer_emulator.wait_for_disconnect(1, timeout=5)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def live_server() -> Iterator[str]:
    server = make_server(
        "127.0.0.1", 0, get_wsgi_application(), server_class=_Server, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _get(address: str, path: str) -> socket.socket:
    host, port = address.split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n".encode())
    return sock


def _read_until(sock: socket.socket, marker: bytes) -> bytes:
    data = b""
    while marker not in data:
        piece = sock.recv(4096)
        assert piece, f"the server closed before {marker!r}: {data!r}"
        data += piece
    return data


@pytest.fixture
def asgi_server() -> Iterator[str]:
    """The project under uvicorn (ASGI), as ``uvicorn streamapp.asgi:application`` runs it."""
    import uvicorn
    from django.core.asgi import get_asgi_application

    listener = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(get_asgi_application(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
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


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
@pytest.mark.parametrize("view", ["/stream", "/astream"])
def test_each_view_streams_under_each_kind_of_server(
    steer_emulator: Emulator, request: pytest.FixtureRequest, server: str, view: str
) -> None:
    # Under runserver, /astream arrived all at once (a WSGI server cannot iterate an async
    # iterator as it goes); under uvicorn, /stream did (an ASGI server reads a sync one to
    # its end first). Each view now hands its server the iterator it streams.
    address = request.getfixturevalue("live_server" if server == "wsgi" else "asgi_server")
    started = time.monotonic()
    with _get(address, view + "?" + urlencode({"q": PAUSED})) as sock:
        data = _read_until(sock, b"two ")  # (uvicorn frames each chunk: chunked encoding)
        assert b" 200 " in data.split(b"\r\n")[0] and b"one " in data
        assert time.monotonic() - started < 10  # the first words, during the 30 s pause


def test_live_server_streams_incrementally(steer_emulator: Emulator, live_server: str) -> None:
    started = time.monotonic()
    with _get(live_server, "/stream?" + urlencode({"q": PAUSED})) as sock:
        data = _read_until(sock, b"one two ")
        assert data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n")[0]
        assert time.monotonic() - started < 10  # the first words, during the 30 s pause


def test_live_server_closes_upstream_when_the_browser_leaves(
    steer_emulator: Emulator, live_server: str
) -> None:
    with _get(live_server, "/stream?" + urlencode({"q": STEADY})) as sock:
        _read_until(sock, b"word word ")
    # Django's next write fails, it closes the response, the client closes its connection.
    assert steer_emulator.wait_for_disconnect(1, timeout=10)


async def test_async_view_hands_on_each_chunk_and_closes_upstream(
    steer_emulator: Emulator,
) -> None:
    response = await AsyncClient().get("/astream", {"q": PAUSED})
    first: list[bytes] = []
    got_one = asyncio.Event()

    async def consume() -> None:
        async for chunk in response.streaming_content:
            first.append(chunk)
            got_one.set()

    task = asyncio.ensure_future(consume())
    await asyncio.wait_for(got_one.wait(), 10)  # while the server pauses for 30 s
    assert first[0] == b"one "
    task.cancel()  # the ASGI server cancels the response when the browser leaves
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await asyncio.to_thread(steer_emulator.wait_for_disconnect, 1, 5)
    await views.async_client.aclose()  # this event loop's pool
