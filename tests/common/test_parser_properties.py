"""Properties of StreamParser that must hold for any input, not just the recordings.

- Whatever bytes arrive, only SteerError subclasses escape (the h11 invariant: anything
  else is a bug), for every wire format; random bytes and random JSON-shaped events both.
- Memory stays bounded: a server that never ends a line gets a ProtocolError at the cap.
- A failed parser latches; a closed one refuses more input.
- Tool-call events pair up: every start has one end with the same key and id.
"""

from __future__ import annotations

import contextlib
import json
import struct
import tracemalloc
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common import StreamParser
from steer_common.errors import (
    InvalidStateError,
    ProtocolError,
    SteerError,
    StreamInterruptedError,
)
from steer_common.providers import ADAPTERS, get_format
from steer_emulator import ScriptedReply, render
from tests.fixtures import STREAMS

WIRE_FORMATS = sorted(ADAPTERS)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "choices",
                    "delta",
                    "content",
                    "index",
                    "tool_calls",
                    "function",
                    "arguments",
                    "id",
                    "name",
                    "usage",
                    "error",
                    "message",
                    "content_block",
                    "item",
                    "response",
                    "output_index",
                    "item_id",
                    "finish_reason",
                    "stop_reason",
                    "partial_json",
                    "text",
                    "iterations",
                    "input_tokens",
                    "prompt_tokens_details",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)
event_names = st.sampled_from(
    [
        "message",
        "error",
        "ping",
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "response.created",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.output_item.done",
        "response.completed",
        "response.failed",
    ]
)


def feed_all(parser: StreamParser, pieces: list[bytes]) -> None:
    for piece in pieces:
        parser.feed(piece)
    parser.close()


@pytest.mark.parametrize("wire_format", WIRE_FORMATS)
@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(st.binary(max_size=64), max_size=8))
def test_random_bytes_raise_only_steer_errors(wire_format: str, pieces: list[bytes]) -> None:
    parser = StreamParser(wire_format)
    with contextlib.suppress(SteerError):
        feed_all(parser, pieces)


@pytest.mark.parametrize("wire_format", WIRE_FORMATS)
@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(st.tuples(event_names, json_values), max_size=10),
)
def test_random_json_events_raise_only_steer_errors(
    wire_format: str, events: list[tuple[str, Any]]
) -> None:
    body = b"".join(
        f"event: {name}\ndata: {json.dumps(value)}\n\n".encode() for name, value in events
    )
    parser = StreamParser(wire_format)
    with contextlib.suppress(SteerError):
        feed_all(parser, [body])


@pytest.mark.parametrize("wire_format", WIRE_FORMATS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_recordings_with_a_corrupted_byte_raise_only_steer_errors(
    wire_format: str, data: st.DataObject
) -> None:
    bodies = [f.body for f in STREAMS if f.wire_format == wire_format]
    if not bodies:  # no recording yet (gemini_interactions): the emulator's rendering
        bodies = [b"".join(render(wire_format, ScriptedReply(text="Hi there!", reasoning="Hm.")))]
    body = bytearray(data.draw(st.sampled_from(bodies)))
    position = data.draw(st.integers(0, len(body) - 1))
    body[position] = data.draw(st.integers(0, 255))
    parser = StreamParser(wire_format)
    with contextlib.suppress(SteerError):
        feed_all(parser, [bytes(body)])


@pytest.mark.parametrize("wire_format", WIRE_FORMATS)
def test_a_line_that_never_ends_is_stopped_at_the_cap(wire_format: str) -> None:
    cap = 256 * 1024
    parser = StreamParser(wire_format, max_event_size=cap)
    piece = b"data: " + b"x" * 8192
    if get_format(wire_format).framing == "eventstream":
        # A message that says it is 1 MiB long: refused at its prelude, nothing buffered.
        head = struct.pack(">II", 1024 * 1024, 0)
        piece = head + struct.pack(">I", zlib.crc32(head)) + b"x" * 8192
    tracemalloc.start()
    try:
        with pytest.raises(ProtocolError, match=r"exceeded|out of bounds"):
            for _ in range(10_000):  # up to 80 MB if nothing stopped it
                parser.feed(piece)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * cap
    with pytest.raises(InvalidStateError):
        parser.feed(b"\n\n")


def test_a_long_valid_stream_keeps_memory_flat_without_text() -> None:
    # keep_text=False: the low-memory mode a consumer that keeps the text itself uses.
    parser = StreamParser("openai", keep_text=False)
    chunk = (
        b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"'
        + b"w" * 200
        + b'"},"finish_reason":null}]}\n\n'
    )
    parser.feed(chunk * 100)
    tracemalloc.start()
    try:
        for _ in range(2_000):  # ~50 MB of stream
            parser.feed(chunk * 100)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert parser.accumulator.text_chars == 200 * 100 * 2_001


def test_interrupted_stream_raises_on_close_with_partial_response() -> None:
    parser = StreamParser("anthropic")
    fixture = next(f for f in STREAMS if f.name == "anthropic/text")
    cut = fixture.body.index(b"event: message_delta")
    parser.feed(fixture.body[:cut])
    with pytest.raises(StreamInterruptedError, match="message_stop") as info:
        parser.close()
    partial = info.value.partial_response
    assert partial is not None and not partial.complete
    assert partial.text == fixture.expected["text"]
    assert parser.close() == []  # closing a failed parser is a no-op


def test_a_failed_parser_latches() -> None:
    parser = StreamParser("openai")
    with pytest.raises(ProtocolError):
        parser.feed(b"data: {not json\n\n")
    with pytest.raises(InvalidStateError, match="already failed"):
        parser.feed(b'data: {"choices":[]}\n\n')


def test_feed_after_close_is_misuse() -> None:
    parser = StreamParser("openai")
    parser.feed(b"data: [DONE]\n\n")
    assert parser.close() == []
    with pytest.raises(InvalidStateError, match="after close"):
        parser.feed(b"data: [DONE]\n\n")


def test_unknown_wire_format_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="unknown wire format 'cohere'"):
        StreamParser("cohere")


@pytest.mark.parametrize("fixture", STREAMS, ids=lambda f: f.name)
def test_tool_call_events_pair_up(fixture: Any) -> None:
    parser = StreamParser(fixture.wire_format)
    events = []
    try:
        events = parser.feed(fixture.body) + parser.close()
    except SteerError as exc:
        events = exc.events
    open_calls: dict[int | None, str | None] = {}
    ended = []
    for event in events:
        if event.type == "tool_call_start":
            assert event.index not in open_calls
            open_calls[event.index] = event.id
        elif event.type == "tool_call_delta":
            assert open_calls[event.index] == event.id
        elif event.type == "tool_call_end":
            assert open_calls.pop(event.index) == event.id
            assert event.tool_call is not None and event.tool_call.id == event.id
            ended.append(event.tool_call)
    if parser.done:
        assert not open_calls
        assert ended == parser.response.tool_calls
