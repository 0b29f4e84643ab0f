"""The browser encoders (steer_common.relay), without sockets: every recorded stream through
each protocol, read back with an SSE decoder; what a browser learns of an error; the
heartbeat decision on a hand-held clock."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from steer_common.agents.loop import AgentEvent
from steer_common.errors import (
    ConfigurationError,
    InvalidStateError,
    RateLimitError,
    StreamInterruptedError,
    register_secret,
)
from steer_common.models.events import StreamEvent
from steer_common.models.response import ToolCall
from steer_common.relay import (
    HEARTBEAT,
    PROTOCOLS,
    Heartbeat,
    buffering_middleware,
    encoder,
    error_text,
    parse_last_event_id,
)
from steer_common.sse import ServerSentEvent, SSEDecoder
from tests.fixtures import STREAMS, by_name, parse


def read(frames: list[bytes]) -> list[ServerSentEvent]:
    """The frames as a browser's SSE parser reads them, each frame checked to be one event."""
    events = []
    for frame in frames:
        assert frame.endswith(b"\n\n") and frame.count(b"\n\n") == 1, frame
        got = SSEDecoder().feed(frame)
        assert len(got) == 1, frame
        events.append(got[0])
    return events


def run(
    protocol: str, events: list[Any], error: BaseException | None = None, **options: Any
) -> list[ServerSentEvent]:
    enc = encoder(protocol, **options)
    frames: list[bytes] = []
    for event in events:
        frames += enc.feed(event)
    frames += enc.close(error)
    out = read(frames)
    assert [int(e.id) for e in out] == list(range(1, len(out) + 1))  # consecutive ids
    assert enc.last_id == len(out)
    return out


def ai_chunks(out: list[ServerSentEvent]) -> list[dict[str, Any]]:
    assert out[-1].data == "[DONE]"
    return [json.loads(e.data) for e in out[:-1]]


TOOL = [
    StreamEvent("stream_start", id="resp_1", model="m"),
    StreamEvent("text_delta", "Let me look."),
    StreamEvent("tool_call_start", index=1, id="call_1", name="lookup"),
    StreamEvent("tool_call_delta", '{"city":', index=1, id="call_1", name="lookup"),
    StreamEvent("tool_call_delta", '"Oslo"}', index=1, id="call_1", name="lookup"),
    StreamEvent(
        "tool_call_end", index=1, id="call_1", name="lookup",
        tool_call=ToolCall(id="call_1", name="lookup", arguments={"city": "Oslo"}, arguments_raw='{"city":"Oslo"}'),
    ),
    StreamEvent("usage", usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12, "raw": {"x": 1}}),
    StreamEvent("stream_end", finish_reason="tool_calls"),
]  # fmt: skip


def test_sse_names_each_event_and_ends_with_done() -> None:
    out = run("sse", TOOL)
    assert [(e.event, json.loads(e.data)) for e in out] == [
        ("text", {"delta": "Let me look."}),
        ("tool_call_start", {"id": "call_1", "name": "lookup", "index": 1}),
        ("tool_call_delta", {"id": "call_1", "index": 1, "delta": '{"city":'}),
        ("tool_call_delta", {"id": "call_1", "index": 1, "delta": '"Oslo"}'}),
        (
            "tool_call_end",
            {"id": "call_1", "name": "lookup", "index": 1, "arguments": {"city": "Oslo"}},
        ),
        ("usage", {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12}),
        ("done", {"finish_reason": "tool_calls"}),
    ]


def test_ai_sdk_chunks_of_a_tool_call() -> None:
    out = run("ai-sdk", TOOL, message_id="msg-1")
    assert ai_chunks(out) == [
        {"type": "start", "messageId": "msg-1"},
        {"type": "start-step"},
        {"type": "text-start", "id": "text-1"},
        {"type": "text-delta", "id": "text-1", "delta": "Let me look."},
        {"type": "text-end", "id": "text-1"},
        {"type": "tool-input-start", "toolCallId": "call_1", "toolName": "lookup"},
        {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '{"city":'},
        {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '"Oslo"}'},
        {"type": "tool-input-available", "toolCallId": "call_1", "toolName": "lookup", "input": {"city": "Oslo"}},
        {"type": "finish-step"},
        {"type": "finish", "finishReason": "tool-calls"},
    ]  # fmt: skip


def test_headers_stop_buffering() -> None:
    for protocol in PROTOCOLS:
        headers = encoder(protocol).headers
        assert headers["Content-Type"].startswith("text/event-stream")
        assert headers["Cache-Control"].startswith("no-cache")
        assert headers["X-Accel-Buffering"] == "no"
    assert encoder("ai-sdk").headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert encoder("sse").heartbeat() == HEARTBEAT
    assert SSEDecoder(comments=True).feed(HEARTBEAT)[0].text.strip() == "heartbeat"


def _text(protocol: str, out: list[ServerSentEvent]) -> str:
    if protocol == "sse":
        return "".join(json.loads(e.data)["delta"] for e in out if e.event in ("text", "refusal"))
    if protocol == "ai-sdk":
        return "".join(c["delta"] for c in ai_chunks(out) if c["type"] == "text-delta")
    return "".join(
        json.loads(e.data)["delta"]
        for e in out
        if json.loads(e.data)["type"] == "TEXT_MESSAGE_CONTENT"
    )


def _calls(protocol: str, out: list[ServerSentEvent]) -> list[tuple[str, Any]]:
    if protocol == "sse":
        ends = [json.loads(e.data) for e in out if e.event == "tool_call_end"]
        return [(c["name"], c["arguments"]) for c in ends]
    if protocol == "ai-sdk":
        chunks = ai_chunks(out)
        return [(c["toolName"], c["input"]) for c in chunks if c["type"] == "tool-input-available"]
    args: dict[str, str] = {}
    names: dict[str, str] = {}
    for e in out:
        data = json.loads(e.data)
        if data["type"] == "TOOL_CALL_START":
            names[data["toolCallId"]] = data["toolCallName"]
            args[data["toolCallId"]] = ""
        elif data["type"] == "TOOL_CALL_ARGS":
            args[data["toolCallId"]] += data["delta"]
    return [(names[k], json.loads(v or "{}")) for k, v in args.items()]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("fixture", STREAMS, ids=lambda f: f.name)
def test_every_recording_keeps_its_text_and_tool_calls(protocol: str, fixture: Any) -> None:
    events, response, error = parse(fixture)
    out = run(protocol, events, error)
    refusal = response.refusal or ""
    assert _text(protocol, out) in (response.text, response.text + refusal)
    complete = [c for c in response.tool_calls if c.complete and c.parse_error is None]
    if protocol != "ag-ui" or error is None:
        assert [c for c in _calls(protocol, out) if c[1] is not None][: len(complete)] == [
            (c.name, c.arguments) for c in complete
        ]
    if protocol == "ag-ui":
        _check_ag_ui(out)
    if protocol == "ai-sdk":
        _check_ai_sdk(ai_chunks(out))
    last = json.loads(out[-1].data) if protocol != "ai-sdk" else ai_chunks(out)[-1]
    if error is None:
        assert (
            last in ({"finish_reason": response.finish_reason}, {"type": "RUN_FINISHED", **last})
            or last["type"] == "finish"
        )
    else:
        assert type(error).__name__ in "".join(e.data for e in out[-3:])


def _check_ai_sdk(chunks: list[dict[str, Any]]) -> None:
    """The order the AI SDK's reader relies on: one start, parts opened before their
    deltas and closed once, steps balanced, finish last."""
    assert chunks[0]["type"] == "start" and chunks[-1]["type"] == "finish"
    assert [c["type"] for c in chunks].count("start") == 1
    open_parts: set[str] = set()
    step = False
    for chunk in chunks[1:-1]:
        kind = chunk["type"]
        if kind == "start-step":
            assert not step
            step = True
        elif kind == "finish-step":
            assert step and not open_parts
            step = False
        elif kind.endswith("-start") and kind.split("-")[0] in ("text", "reasoning"):
            assert step and chunk["id"] not in open_parts
            open_parts.add(chunk["id"])
        elif kind.endswith("-delta") and kind.split("-")[0] in ("text", "reasoning"):
            assert chunk["id"] in open_parts
        elif kind.endswith("-end"):
            open_parts.remove(chunk["id"])


def _check_ag_ui(out: list[ServerSentEvent]) -> None:
    from ag_ui.core import Event
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(Event)
    events = [adapter.validate_json(e.data) for e in out]  # the package's own models
    kinds = [e.type.value for e in events]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] in ("RUN_FINISHED", "RUN_ERROR")
    assert (
        kinds.count("TEXT_MESSAGE_START") == kinds.count("TEXT_MESSAGE_END")
        or kinds[-1] == "RUN_ERROR"
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_failure_after_content_is_an_error_event_then_the_end(protocol: str) -> None:
    error = StreamInterruptedError("the stream ended without message_stop")
    out = run(protocol, TOOL[:2], error)
    text = "StreamInterruptedError: the stream ended without message_stop"
    if protocol == "sse":
        assert [e.event for e in out[-2:]] == ["error", "done"]
        assert json.loads(out[-2].data) == {"type": "StreamInterruptedError", "message": text}
    elif protocol == "ai-sdk":
        assert ai_chunks(out)[-2:] == [
            {"type": "error", "errorText": text},
            {"type": "finish", "finishReason": "error"},
        ]
    else:
        assert json.loads(out[-1].data) == {
            "type": "RUN_ERROR",
            "message": text,
            "code": "StreamInterruptedError",
        }


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_failure_before_content_is_still_a_whole_stream(protocol: str) -> None:
    out = run(protocol, [], RateLimitError("Rate limit reached", provider="openai"))
    assert "RateLimitError: Rate limit reached" in "".join(e.data for e in out)
    first = json.loads(out[0].data)
    assert first.get("type") in ("RateLimitError", "start", "RUN_STARTED")


def test_the_upstream_host_does_not_reach_the_browser() -> None:
    # The client says where a call failed (for the server's log); the page is told what.
    from steer_common.errors import where

    error = RateLimitError("Rate limit reached for gpt-4o-mini")
    where(error, "azure", "https://gw.internal.example:8443", 4)
    assert str(error) == (
        "azure: Rate limit reached for gpt-4o-mini "
        "(at https://gw.internal.example:8443, after 4 attempts)"
    )
    told = error_text(error)
    assert told == "RateLimitError: azure: Rate limit reached for gpt-4o-mini"
    for protocol in PROTOCOLS:
        sent = b"".join(encoder(protocol).close(error))
        assert b"gw.internal" not in sent and b"attempts" not in sent
        assert b"Rate limit reached for gpt-4o-mini" in sent
    where(error, "azure", "https://gw.internal.example:8443", 5)  # failed once more
    assert str(error).endswith(
        "gpt-4o-mini (at https://gw.internal.example:8443, after 5 attempts)"
    )
    assert error_text(error) == told


def test_no_key_reaches_the_browser() -> None:
    key = "sk-proj-abcdefghijklmnopqrstuvwx0123"
    register_secret(key)
    error = RateLimitError(f"quota of {key} exceeded")
    assert key not in error_text(error)
    error.message = (
        f"set by hand: {key} and a shape sk-ant-api03-zzzzzzzzzzzzzzzz"  # past the constructor
    )
    assert key not in error_text(error) and "sk-ant-api03" not in error_text(error)
    # Any other exception: its class only (its message stays in the server's log).
    assert error_text(KeyError(key)) == "KeyError"
    for protocol in PROTOCOLS:
        assert key.encode() not in b"".join(encoder(protocol).close(ValueError(key)))


def test_misuse_is_refused() -> None:
    enc = encoder("sse")
    enc.close()
    assert enc.close() == []  # a second close ends nothing more
    with pytest.raises(InvalidStateError):
        enc.feed(StreamEvent("text_delta", "late"))
    with pytest.raises(ConfigurationError, match="unknown protocol 'websocket'"):
        encoder("websocket")
    with pytest.raises(ConfigurationError, match="sse encoder"):
        encoder("sse", message_id="x")


def test_ag_ui_without_its_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ag_ui.core", None)
    with pytest.raises(ConfigurationError, match=r"pip install -e '\.\[ag-ui\]'"):
        encoder("ag-ui")


def test_pings_errors_and_empty_deltas_write_nothing() -> None:
    for protocol in PROTOCOLS:
        enc = encoder(protocol)
        for event in [
            StreamEvent("ping"),
            StreamEvent("error", error={"type": "overloaded_error", "message": "busy"}),
            StreamEvent("reasoning_delta", "", metadata={"signature": "sig"}),
            StreamEvent("text_delta", ""),
        ]:
            assert enc.feed(event) == [], (protocol, event)


def _agent_run() -> list[AgentEvent]:
    call = ToolCall(
        id="call_9", name="factorial", arguments={"n": 4}, arguments_raw='{"n": 4}', index=0
    )
    meta = {"tool": "factorial", "arguments": {"n": 4}, "id": "call_9"}
    return [
        AgentEvent("tool_call", step=1, metadata=meta, tool_call=call),
        AgentEvent(
            "tool_result",
            step=1,
            metadata={**meta, "output": "24", "is_error": False},
            tool_call=call,
        ),
        AgentEvent("usage", step=1, metadata={"usage": {"total_tokens": 9}, "cost_usd": None}),
        AgentEvent("step", step=1),
        AgentEvent("delta", "It is 24.", step=2),
        AgentEvent("step", step=2),
        AgentEvent("complete", step=2),
    ]


def test_an_agent_run_in_each_protocol() -> None:
    sse = [(e.event, json.loads(e.data)) for e in run("sse", _agent_run())]
    assert sse == [
        ("tool_call_start", {"id": "call_9", "name": "factorial", "index": 0}),
        ("tool_call_end", {"id": "call_9", "name": "factorial", "index": 0, "arguments": {"n": 4}}),
        ("tool_result", {"id": "call_9", "name": "factorial", "output": "24", "is_error": False}),
        ("usage", {"total_tokens": 9}),
        ("text", {"delta": "It is 24."}),
        ("done", {"finish_reason": "stop"}),
    ]
    chunks = ai_chunks(run("ai-sdk", _agent_run(), message_id="m"))
    assert [c["type"] for c in chunks] == [
        "start", "start-step", "tool-input-start", "tool-input-available", "tool-output-available",
        "finish-step", "start-step", "text-start", "text-delta", "text-end", "finish-step", "finish",
    ]  # fmt: skip
    assert chunks[4] == {"type": "tool-output-available", "toolCallId": "call_9", "output": "24"}
    _check_ai_sdk(chunks)
    ag = run("ag-ui", _agent_run(), run_id="r")
    _check_ag_ui(ag)
    kinds = [json.loads(e.data)["type"] for e in ag]
    assert kinds == [
        "RUN_STARTED", "STEP_STARTED", "TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END",
        "TOOL_CALL_RESULT", "STEP_FINISHED", "STEP_STARTED", "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT", "TEXT_MESSAGE_END", "STEP_FINISHED", "RUN_FINISHED",
    ]  # fmt: skip


def test_ids_go_on_from_start_id() -> None:
    enc = encoder("sse", start_id=41)
    frames = enc.feed(StreamEvent("text_delta", "a")) + enc.feed(StreamEvent("text_delta", "b"))
    assert [e.id for e in read(frames)] == ["42", "43"] and enc.last_id == 43


def test_last_event_id() -> None:
    assert parse_last_event_id("17") == 17
    assert parse_last_event_id(" 17 ") == 17
    for bad in (None, "", "x", "-1", "1.5", "١٢"):
        assert parse_last_event_id(bad) is None


def test_heartbeat_is_due_after_the_silence() -> None:
    beat = Heartbeat(15.0, now=100.0)
    assert beat.timeout(100.0) == 15.0 and not beat.due(114.9)
    assert beat.due(115.0) and beat.timeout(120.0) == 0.0
    beat.wrote(120.0)
    assert beat.timeout(125.0) == 10.0
    off = Heartbeat(None)
    assert off.timeout(1e9) is None and not off.due(1e9)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ConfigurationError):
            Heartbeat(bad)


def test_gzip_middleware_is_spotted() -> None:
    middleware = [
        "django.middleware.common.CommonMiddleware",
        "django.middleware.gzip.GZipMiddleware",
    ]
    (found,) = buffering_middleware(middleware)
    assert found.startswith("django.middleware.gzip.GZipMiddleware: ")
    assert buffering_middleware(middleware[:1]) == []


def test_events_have_a_json_form() -> None:
    events, _, _ = parse(by_name("anthropic/thinking-tool-use"))
    for event in events:
        data = json.loads(json.dumps(event.to_dict()))
        assert data["type"] == event.type
    end = next(e for e in events if e.type == "tool_call_end")
    assert end.to_dict()["tool_call"]["name"] == end.name
