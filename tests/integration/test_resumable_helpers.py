"""The Starlette helpers' resumable mode under uvicorn, over real sockets, as the AI SDK's
``useChat({resume: true})`` and a reconnecting ``EventSource`` use it: the first request
leaves half way, the generation goes on, the resume request gets the whole reply once.
(The Django helpers are run in a browser: tests/integration/test_chromium.py.)"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import steer_async
import steer_async.web.starlette
from steer_common.sse import SSEDecoder
from steer_emulator import Emulator

REPLY = "".join(f"piece{n:02d} " for n in range(30))
SLOW = "q [[emulator:" + json.dumps({"text": REPLY, "chunk_chars": 8, "event_delay": 0.03}) + "]]"


@pytest.fixture
def app_server(steer_emulator: Emulator) -> Iterator[str]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from steer_async.web.registry import StreamRegistry

    client = steer_async.SteerLLMClient()
    registry = StreamRegistry()

    async def send(request: Request) -> Response:
        protocol = request.query_params.get("protocol", "ai-sdk")
        events = client.stream_events(SLOW, model="gpt-4o-mini")
        return steer_async.web.starlette.stream_response(
            events, protocol, stream_id=request.path_params["chat_id"], registry=registry
        )

    async def resume(request: Request) -> Response:
        protocol = request.query_params.get("protocol", "ai-sdk")
        chat_id = request.path_params["chat_id"]
        return await steer_async.web.starlette.resume_response(
            request, chat_id, protocol, registry=registry
        )

    app = Starlette(
        routes=[
            Route("/api/chat/{chat_id}", send, methods=["POST"]),
            Route("/api/chat/{chat_id}/stream", resume),
        ]
    )
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


def leave_after(address: str, path: str, frames: int) -> list[Any]:
    """POST, read ``frames`` SSE events, and go away; answer the events read."""
    host, port = address.split(":")
    decoder = SSEDecoder()
    got: list[Any] = []
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        body = data.split(b"\r\n\r\n", 1)[1]
        while True:
            # The body is chunked: the decoder skips the size lines as lines it cannot read,
            # and this test only needs whole frames' ids and data.
            got += [e for e in decoder.feed(body) if e.data]
            if len(got) >= frames:
                return got[:frames]
            body = sock.recv(4096)
            assert body, "the stream ended before the test left"


def get(address: str, path: str, last_event_id: str | None = None) -> tuple[int, bytes]:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def chunks(data: bytes) -> list[Any]:
    decoder = SSEDecoder()
    return [e for e in decoder.feed(data) + decoder.close() if e.data]


def test_use_chat_resume_gets_the_whole_reply_after_the_first_request_left(
    app_server: str, steer_emulator: Emulator
) -> None:
    leave_after(app_server, "/api/chat/c1", 4)  # start, start-step, text-start, a delta
    status, data = get(app_server, "/api/chat/c1/stream")
    assert status == 200
    parts = [json.loads(e.data) for e in chunks(data) if e.data != "[DONE]"]
    assert parts[0]["type"] == "start" and parts[-1]["type"] == "finish"
    assert "".join(p["delta"] for p in parts if p["type"] == "text-delta") == REPLY
    assert chunks(data)[-1].data == "[DONE]"
    assert get(app_server, "/api/chat/c1/stream") == (204, b"")  # finished: nothing to resume
    assert len(steer_emulator.requests) == 1  # one generation


def test_event_source_reconnect_gets_the_rest_once(app_server: str) -> None:
    seen = leave_after(app_server, "/api/chat/c2?protocol=sse", 3)
    status, data = get(app_server, "/api/chat/c2/stream?protocol=sse", seen[-1].id)
    assert status == 200
    rest = chunks(data)
    text = "".join(json.loads(e.data)["delta"] for e in [*seen, *rest] if e.event == "text")
    assert text == REPLY
    assert rest[-1].event == "done"
    assert get(app_server, "/api/chat/c2/stream?protocol=sse", rest[-1].id)[0] == 204


def test_a_stream_no_one_holds_is_204_or_an_error_event(app_server: str) -> None:
    assert get(app_server, "/api/chat/nothing/stream")[0] == 204
    status, data = get(app_server, "/api/chat/nothing/stream?protocol=sse", "12")
    assert status == 200
    assert json.loads(chunks(data)[0].data)["type"] == "StreamExpiredError"


def post(address: str, path: str) -> tuple[int, bytes]:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    connection.request("POST", path)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def test_a_chat_id_as_stream_id_serves_each_message_and_refuses_one_while_it_runs(
    app_server: str,
) -> None:
    # The documented route: stream_id=request.path_params["chat_id"].
    seen = leave_after(app_server, "/api/chat/c4?protocol=sse", 2)  # the reply runs on
    status, data = post(app_server, "/api/chat/c4?protocol=sse")
    assert status == 200
    refused = chunks(data)
    assert [e.event for e in refused] == ["error", "done"]
    assert json.loads(refused[0].data)["type"] == "StreamRunningError"
    rest = chunks(get(app_server, "/api/chat/c4/stream?protocol=sse", seen[-1].id)[1])
    assert rest[-1].event == "done"  # the first reply ran to its end, untouched
    status, data = post(app_server, "/api/chat/c4?protocol=sse")  # the chat's next message
    assert status == 200
    text = "".join(json.loads(e.data)["delta"] for e in chunks(data) if e.event == "text")
    assert text == REPLY
