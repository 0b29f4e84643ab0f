"""The loopback emulator over real sockets, read by the official SDKs and by raw HTTP.

The official ``openai`` and ``anthropic`` SDKs must accept its streams (text, tool calls,
reasoning, usage, retries on a scripted 429/529); raw ``http.client`` and socket reads
check the framing (chunked, one SSE event per chunk, keep-alive, 401 without a key,
truncation without the last chunk, gzip) and the fault injection (pauses with
keep-alives, a client that leaves early).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

from steer_common import SSEDecoder, StreamParser
from steer_common.errors import OverloadedError
from steer_emulator import ScriptedReply, reply_for_request
from steer_sync.emulator import Emulator


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(lifetime=120) as server:
        yield server


@pytest.fixture
def oai(emu: Emulator) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(base_url=emu.base_urls["openai"], api_key="test", max_retries=0)
    yield client
    client.close()


@pytest.fixture
def claude(emu: Emulator) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(base_url=emu.base_urls["anthropic"], api_key="test", max_retries=0)
    yield client
    client.close()


def directive(**fields: Any) -> str:
    return f"[[emulator:{json.dumps(fields)}]]"


def post(
    emu: Emulator, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=10)
    conn.request(
        "POST", path, json.dumps(body), {"Content-Type": "application/json", **(headers or {})}
    )
    return conn, conn.getresponse()


def raw_chunks(
    emu: Emulator, path: str, body: dict[str, Any], headers: str = ""
) -> tuple[bytes, list[bytes], bool]:
    """Send one request on a raw socket; return the head, the chunk payloads, and whether
    the zero-length last chunk came."""
    payload = json.dumps(body).encode()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\n{headers}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    with socket.create_connection((emu.host, emu.port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, rest = data.split(b"\r\n\r\n", 1)
        buffer = rest
        chunks: list[bytes] = []
        while True:
            while b"\r\n" not in buffer:
                more = sock.recv(65536)
                if not more:
                    return head, chunks, False
                buffer += more
            size_line, buffer = buffer.split(b"\r\n", 1)
            size = int(size_line, 16)
            while len(buffer) < size + 2:
                more = sock.recv(65536)
                if not more:
                    return head, chunks, False
                buffer += more
            if size == 0:
                return head, chunks, True
            chunks.append(buffer[:size])
            assert buffer[size : size + 2] == b"\r\n"
            buffer = buffer[size + 2 :]


def chat_body(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        **extra,
    }


# -- the official openai SDK ----------------------------------------------------------------


def test_openai_chat_stream_text_and_usage(emu: Emulator, oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Hello, emulator!"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage, finish = "", None, None
    for chunk in stream:
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
        usage = chunk.usage or usage
    assert text == "Echo: Hello, emulator!"
    assert finish == "stop"
    expected = reply_for_request("openai", emu.requests[-1].body).usage()
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == expected[:2]
    assert usage.total_tokens == expected.prompt_tokens + expected.completion_tokens


def test_openai_chat_parallel_tool_calls_with_the_stream_helper(oai: openai.OpenAI) -> None:
    calls = [
        {"name": "get_weather", "arguments": {"city": "Paris"}},
        {"name": "add", "arguments": {"a": 2, "b": 3}},
    ]
    with oai.chat.completions.stream(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "go " + directive(tool_calls=calls, chunk_chars=3)}],
    ) as stream:
        completion = stream.get_final_completion()
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    tool_calls = choice.message.tool_calls or []
    got = [(c.function.name, json.loads(c.function.arguments)) for c in tool_calls]  # type: ignore[union-attr]
    assert got == [("get_weather", {"city": "Paris"}), ("add", {"a": 2, "b": 3})]
    assert all(c.id.startswith("call_") for c in tool_calls)


def test_xai_dialect_reasoning_and_usage_arithmetic(emu: Emulator) -> None:
    with openai.OpenAI(base_url=emu.base_urls["xai"], api_key="test", max_retries=0) as client:
        stream = client.chat.completions.create(
            model="grok-3-mini",
            messages=[
                {
                    "role": "user",
                    "content": "hi "
                    + directive(
                        text="Hey", reasoning="Greeting.", reasoning_tokens=30, completion_tokens=32
                    ),
                }
            ],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    reasoning = "".join(
        (c.choices[0].delta.model_extra or {}).get("reasoning_content", "")
        for c in chunks
        if c.choices
    )
    assert reasoning == "Greeting."
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.completion_tokens, usage.total_tokens - usage.prompt_tokens) == (2, 32)
    assert len(chunks[0].id) == 36  # a UUID, as xAI sends


def test_openai_responses_create_and_stream_helper(oai: openai.OpenAI) -> None:
    events = list(
        oai.responses.create(
            model="gpt-4o-mini",
            input="Hi "
            + directive(reasoning="Think.", text="Yo!", prompt_tokens=20, cached_tokens=5),
            stream=True,
        )
    )
    assert [e.sequence_number for e in events] == list(range(len(events)))
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == "Yo!"
    assert final.response.usage != {}
    assert (
        final.response.usage.input_tokens,
        final.response.usage.input_tokens_details.cached_tokens,
    ) == (20, 5)
    tool = {
        "type": "function",
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    with oai.responses.stream(
        model="gpt-4o-mini", input="Weather in Rome? use get_weather", tools=[tool]
    ) as stream:  # type: ignore[list-item]
        response = stream.get_final_response()
    [call] = response.output
    assert call.type == "function_call"
    assert (call.name, json.loads(call.arguments)) == ("get_weather", {"city": "Rome"})


def test_background_mode_as_openai_python_reads_it(emu: Emulator, oai: openai.OpenAI) -> None:
    """The official SDK starts a background response, is cut, picks the stream up with
    ``responses.retrieve(stream=True, starting_after=...)``, reads it whole, and cancels
    another; every event validates as its own types."""
    emu.enqueue(ScriptedReply(text="Kept on the server, whoever listens.", cuts=(6,)))
    first = oai.responses.create(model="gpt-4o-mini", input="hi", stream=True, background=True)
    seen = []
    with pytest.raises(openai.APIConnectionError):
        for event in first:
            seen.append(event)
    assert [e.type for e in seen[:3]] == [
        "response.created",
        "response.queued",
        "response.in_progress",
    ]
    assert seen[0].response.status == "queued" and seen[0].response.background is True
    response_id, last = seen[0].response.id, seen[-1].sequence_number
    assert last == 5
    rest = list(oai.responses.retrieve(response_id, stream=True, starting_after=last))
    assert [e.sequence_number for e in rest] == list(range(last + 1, last + 1 + len(rest)))
    assert rest[-1].type == "response.completed"
    assert rest[-1].response.output_text == "Kept on the server, whoever listens."
    assert oai.responses.retrieve(response_id).status == "completed"
    assert oai.responses.cancel(response_id).status == "cancelled"
    assert emu.background.cancelled == [response_id]
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve("resp_never_made")


def test_a_kept_response_expires() -> None:
    with Emulator(background_ttl=0.0) as short:
        client = openai.OpenAI(base_url=short.base_urls["openai"], api_key="t", max_retries=0)
        events = list(
            client.responses.create(model="gpt-4o-mini", input="hi", stream=True, background=True)
        )
        with pytest.raises(openai.NotFoundError):
            client.responses.retrieve(events[0].response.id, stream=True, starting_after=1)
        client.close()


def test_openai_sdk_retries_a_scripted_429_honouring_retry_after(emu: Emulator) -> None:
    prompt = "retry me " + directive(status=429, retry_after=0.2, fail_times=1, text="made it")
    with openai.OpenAI(base_url=emu.base_urls["openai"], api_key="test", max_retries=2) as client:
        start = time.monotonic()
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
            )
        )
        elapsed = time.monotonic() - start
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "made it"
    assert len(emu.requests) == 2
    assert elapsed >= 0.2


def test_openai_sdk_without_retries_sees_the_429_body_and_header(oai: openai.OpenAI) -> None:
    prompt = "fail " + directive(status=429, retry_after=0.2)
    with pytest.raises(openai.RateLimitError) as info:
        oai.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
        )
    assert info.value.response.headers["retry-after"] == "0.2"
    assert info.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]


# -- the official anthropic SDK -------------------------------------------------------------


def test_anthropic_stream_thinking_text_tools_and_usage(claude: anthropic.Anthropic) -> None:
    script = directive(
        reasoning="Let me think.",
        text="Calling.",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Florence, Italy"}}],
        prompt_tokens=100,
        cached_tokens=60,
    )
    with claude.messages.stream(
        model="claude-sonnet-4-20250514",
        max_tokens=512,
        messages=[{"role": "user", "content": "Weather? " + script}],
    ) as stream:
        texts = list(stream.text_stream)
        message = stream.get_final_message()
    assert "".join(texts) == "Calling."
    assert [b.type for b in message.content] == ["thinking", "text", "tool_use"]
    thinking, _, tool = message.content
    assert (
        thinking.type == "thinking" and thinking.thinking == "Let me think." and thinking.signature
    )
    assert tool.type == "tool_use" and tool.input == {"city": "Florence, Italy"}
    assert tool.id.startswith("toolu_01")
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (40, 60)


def test_anthropic_create_stream_events_and_in_band_overload(claude: anthropic.Anthropic) -> None:
    events = list(
        claude.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=64,
            messages=[{"role": "user", "content": "Hi"}],
            stream=True,
        )
    )
    assert [e.type for e in events][:2] == ["message_start", "content_block_start"]
    assert events[-1].type == "message_stop"
    text = "".join(
        e.delta.text
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "text_delta"
    )
    assert text == "Echo: Hi"
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        list(
            claude.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "x " + directive(error_after_chars=3)}],
                stream=True,
            )
        )


def test_anthropic_sdk_retries_a_scripted_529(emu: Emulator) -> None:
    with anthropic.Anthropic(
        base_url=emu.base_urls["anthropic"], api_key="test", max_retries=1
    ) as client:
        with client.messages.stream(
            model="claude-sonnet-4-5",
            max_tokens=64,
            messages=[
                {"role": "user", "content": "x " + directive(status=529, retry_after=0, text="ok")}
            ],
        ) as stream:
            assert stream.get_final_text() == "ok"
    assert len(emu.requests) == 2


# -- raw HTTP: framing, auth, faults ---------------------------------------------------------


def test_body_is_chunked_one_sse_event_per_chunk_over_keep_alive(emu: Emulator) -> None:
    body = chat_body("Hello " + directive(chunk_chars=2), stream_options={"include_usage": True})
    head, chunks, finished = raw_chunks(emu, "/v1/chat/completions", body)
    assert finished
    assert b"Transfer-Encoding: chunked" in head
    assert b"Content-Type: text/event-stream" in head
    for chunk in chunks:
        decoder = SSEDecoder()
        assert len(decoder.feed(chunk)) == 1 and chunk.endswith(b"\n\n")
    parser = StreamParser("openai")
    for chunk in chunks:
        parser.feed(chunk)
    parser.close()
    assert parser.response.text == "Echo: Hello"
    assert (
        len(chunks) == -(-len("Echo: Hello") // 2) + 1 + 1 + 1 + 1
    )  # deltas, role, finish, usage, [DONE]
    conn = http.client.HTTPConnection(emu.host, emu.port, timeout=10)
    try:
        for _ in range(2):  # one connection, two streams: keep-alive works
            messages = {**chat_body("a", max_tokens=100), "model": "claude-sonnet-4-5"}
            conn.request("POST", "/v1/messages", json.dumps(messages), {"x-api-key": "k"})
            response = conn.getresponse()
            assert response.status == 200
            assert b"event: message_stop" in response.read()
    finally:
        conn.close()


def test_requests_without_a_key_get_401_with_the_provider_body(emu: Emulator) -> None:
    for path, expected in (
        ("/v1/chat/completions", "invalid_api_key"),
        ("/v1/responses", "invalid_api_key"),
        ("/v1/messages", "authentication_error"),
    ):
        conn, response = post(emu, path, chat_body("hi"))
        error = json.loads(response.read())["error"]
        conn.close()
        assert response.status == 401
        assert expected in (error.get("code"), error.get("type"))
    conn, response = post(emu, "/compat/v1/chat/completions", chat_body("hi"))  # keyless is fine
    assert response.status == 200 and b"[DONE]" in response.read()
    conn.close()
    conn, response = post(
        emu, "/v1/chat/completions", chat_body("hi", stream=False), {"Authorization": "Bearer k"}
    )
    assert response.status == 400 and b"only streams" in response.read()
    conn.close()
    assert [r.path for r in emu.requests][:3] == [
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
    ]
    assert emu.requests[-1].headers["authorization"] == "Bearer k"
    assert emu.requests[-1].body["stream"] is False


def test_truncation_drops_the_connection_without_the_last_chunk(emu: Emulator) -> None:
    body = chat_body("Hello " + directive(truncate_after_events=3))
    _, chunks, finished = raw_chunks(emu, "/v1/chat/completions", body)
    assert not finished
    assert len(chunks) == 3
    conn, response = post(
        emu,
        "/v1/responses",
        {"model": "gpt-5-mini", "input": "x " + directive(truncate_after_events=4), "stream": True},
        {"Authorization": "Bearer k"},
    )
    with pytest.raises(http.client.IncompleteRead):
        response.read()
    conn.close()


def test_enqueued_reply_wins_and_in_band_error_before_content(
    emu: Emulator, oai: openai.OpenAI
) -> None:
    emu.enqueue({"text": "forced reply"})
    emu.enqueue(ScriptedReply(error_before_content=True, error_message="boom"))
    stream = oai.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "anything"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "forced reply"
    with pytest.raises(openai.APIError, match="boom"):
        list(
            oai.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
            )
        )
    stream = oai.chat.completions.create(  # the retry gets the same script, clean
        model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: x"


def test_in_band_overload_at_the_start_then_success_on_retry(emu: Emulator) -> None:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi " + directive(error_before_content=True)}],
        "stream": True,
    }
    outcomes = []
    for _ in range(2):
        conn, response = post(emu, "/v1/messages", body, {"x-api-key": "k"})
        parser = StreamParser("anthropic")
        try:
            while chunk := response.read1(65536):
                parser.feed(chunk)
            parser.close()
            outcomes.append(parser.response.text)
        except OverloadedError as exc:
            assert exc.partial_response is not None and exc.partial_response.text == ""
            outcomes.append("overloaded")
        finally:
            conn.close()
    assert outcomes == ["overloaded", "Echo: hi"]


def test_pause_sends_keepalives_and_a_client_leaving_is_seen(emu: Emulator) -> None:
    script = directive(pause_after_events=2, pause_seconds=5, keepalive_every=0.05)
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 9,
        "messages": [{"role": "user", "content": "x " + script}],
        "stream": True,
    }
    conn, response = post(emu, "/v1/messages", body, {"x-api-key": "k"})
    seen = b""
    while seen.count(b"event: ping") < 3:  # one ping from the stream itself, then keep-alives
        seen += response.read1(65536)
    assert b"message_stop" not in seen
    start = time.monotonic()
    response.close()
    conn.close()
    assert emu.wait_for_disconnect(timeout=3)
    assert time.monotonic() - start < 2
    assert emu.disconnects == 1


def test_client_leaving_during_event_delay_is_seen(emu: Emulator) -> None:
    body = chat_body("x " + directive(text="a" * 200, chunk_chars=1, event_delay=0.02))
    conn, response = post(emu, "/v1/chat/completions", body, {"Authorization": "Bearer k"})
    assert response.read1(65536)
    response.close()
    conn.close()
    assert emu.wait_for_disconnect(timeout=3)


def test_gzip_when_the_script_asks_and_the_client_accepts(
    emu: Emulator, oai: openai.OpenAI
) -> None:
    body = chat_body("zip " + directive(gzip=True))
    head, chunks, finished = raw_chunks(
        emu, "/v1/chat/completions", body, "Accept-Encoding: gzip\r\n"
    )
    assert finished and b"Content-Encoding: gzip" in head
    inflate = zlib.decompressobj(wbits=31)
    events = [inflate.decompress(chunk) for chunk in chunks]
    assert all(e.endswith(b"\n\n") for e in events[:-1])  # each chunk inflates on arrival
    parser = StreamParser("openai")
    for event in events:
        parser.feed(event)
    parser.close()
    assert parser.response.text == "Echo: zip"
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "zip " + directive(gzip=True)}],
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: zip"


def test_close_ends_open_streams_promptly() -> None:
    server = Emulator()
    conn, response = post(
        server,
        "/v1/chat/completions",
        chat_body("x " + directive(pause_after_events=1, pause_seconds=30)),
        {"Authorization": "Bearer k"},
    )
    assert response.read1(65536)
    start = time.monotonic()
    server.close()
    assert time.monotonic() - start < 3
    with pytest.raises((http.client.IncompleteRead, ConnectionError, OSError)):
        response.read()
    conn.close()
    assert server.closed


def test_command_line_prints_base_urls_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "steer_sync.emulator", "--port", "0", "--lifetime", "20"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("steer emulator listening on http://127.0.0.1:")
        url = first.split()[-1]
        lines = [process.stdout.readline() for _ in range(4)]
        assert any(f"{url}/v1" in line for line in lines)
        with openai.OpenAI(base_url=f"{url}/v1", api_key="k", max_retries=0) as client:
            stream = client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "cli"}], stream=True
            )
            assert (
                "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
                == "Echo: cli"
            )
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize(
    ("path", "model", "fmt"),
    [
        ("/v1/chat/completions", "gpt-4o-mini", "openai"),
        ("/v1/chat/completions", "grok-3-mini", "xai"),
        ("/xai/v1/chat/completions", "grok-4", "xai"),
        ("/compat/v1/chat/completions", "meta/llama", "openai_compatible"),
        ("/v1/responses", "gpt-4o", "openai_responses"),
        ("/v1/messages", "claude-sonnet-4-5", "anthropic"),
    ],
)
def test_every_wire_format_parses_with_the_core(
    emu: Emulator, path: str, model: str, fmt: str
) -> None:
    prompt = "Hi " + directive(reasoning="Why not.", cached_tokens=3, chunk_chars=3)
    body: dict[str, Any] = {"model": model, "stream": True}
    if fmt == "openai_responses":
        body["input"] = [{"role": "user", "content": [{"type": "input_text", "text": prompt}]}]
        body["max_output_tokens"] = 50
    else:
        body["messages"] = [{"role": "user", "content": prompt}]
        body["max_tokens"] = 50
        if fmt != "anthropic":
            body["stream_options"] = {"include_usage": True}
    conn, response = post(emu, path, body, {"Authorization": "Bearer k"})
    parser = StreamParser(fmt)
    while chunk := response.read1(65536):
        parser.feed(chunk)
    parser.close()
    conn.close()
    expected = reply_for_request(fmt, body)
    got = parser.response
    assert (got.text, got.model, got.finish_reason) == ("Echo: Hi", model, "stop")
    assert got.reasoning == (None if fmt == "openai" else "Why not.")
    assert got.usage != {}
    prompt_tokens, completion_tokens, cached, _ = expected.usage()
    assert (got.usage["prompt_tokens"], got.usage["completion_tokens"]) == (
        prompt_tokens,
        completion_tokens,
    )
    assert got.usage["cache_info"]["cached_tokens"] == cached == 3


def test_gemini_interactions_background_as_google_genai_reads_it(emu: Emulator) -> None:
    """The official google-genai SDK starts a background interaction, is cut, picks the
    stream up with ``interactions.get(id, stream=True, last_event_id=...)``, reads it
    whole as its own event types, answers the interaction, and cancels it."""
    from google import genai
    from google.genai import types

    text = "Kept on the server, whoever listens."
    call = {"id": "fc_1", "name": "note", "arguments": {"mood": "calm"}}
    emu.enqueue(ScriptedReply(text=text, reasoning="Think.", tool_calls=[call], cuts=(6,)))
    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=emu.url))
    seen: list[Any] = []
    with pytest.raises(Exception, match=r"incomplete chunked read|peer closed"):
        for event in client.interactions.create(
            model="gemini-2.5-flash", input="hi", stream=True, background=True
        ):
            seen.append(event)
    assert [e.event_type for e in seen[:3]] == [
        "interaction.created",
        "interaction.status_update",
        "step.start",
    ]
    interaction_id, last = seen[0].interaction.id, seen[-1].event_id
    rest = list(client.interactions.get(interaction_id, stream=True, last_event_id=last))
    events = [*seen, *rest]
    assert all(e.event_id for e in events)
    assert len({e.event_id for e in events}) == len(events)  # each event once
    texts = [
        e.delta.text for e in events if e.event_type == "step.delta" and e.delta.type == "text"
    ]
    assert "".join(texts) == text
    arguments = "".join(
        e.delta.arguments
        for e in events
        if e.event_type == "step.delta" and e.delta.type == "arguments_delta"
    )
    assert json.loads(arguments) == call["arguments"]
    calls = [
        e.step for e in events if e.event_type == "step.start" and e.step.type == "function_call"
    ]
    assert [(c.id, c.name) for c in calls] == [("fc_1", "note")]
    completed = events[-1]
    assert completed.event_type == "interaction.completed"
    assert completed.interaction.status == "requires_action"
    assert completed.interaction.usage.total_thought_tokens > 0
    assert client.interactions.get(interaction_id).status == "requires_action"
    assert client.interactions.cancel(interaction_id).status == "cancelled"
    assert emu.background.cancelled == [interaction_id]
    gets = [r for r in emu.requests if r.method == "GET"]
    assert f"last_event_id={last}" in gets[0].query
    client.close()


def test_a_kept_interaction_expires() -> None:
    from google import genai
    from google.genai import types

    with Emulator(background_ttl=0.0) as short:
        client = genai.Client(api_key="t", http_options=types.HttpOptions(base_url=short.url))
        events = list(
            client.interactions.create(
                model="gemini-2.5-flash", input="hi", stream=True, background=True
            )
        )
        with pytest.raises(Exception, match="not found") as caught:
            list(client.interactions.get(events[0].interaction.id, stream=True))
        assert getattr(caught.value, "status_code", None) == 404
        client.close()
