"""The events the adapters build inline are whole StreamEvents."""

from __future__ import annotations

import dataclasses

from steer_common import StreamParser
from steer_common.models.events import StreamEvent

# The adapters' hot paths (openai_chat, anthropic, openai_responses) build text and
# tool-argument deltas with ``new_event`` and set each of these fields inline: a field added
# to StreamEvent must be set there too.
INLINE_FIELDS = (
    "type",
    "delta",
    "index",
    "id",
    "name",
    "model",
    "usage",
    "finish_reason",
    "error",
    "tool_call",
    "metadata",
)


def test_the_fields_set_inline_are_every_field() -> None:
    assert StreamEvent.__slots__ == INLINE_FIELDS
    assert tuple(f.name for f in dataclasses.fields(StreamEvent)) == INLINE_FIELDS


def _events(wire: str, body: bytes) -> list[StreamEvent]:
    parser = StreamParser(wire, usage_expected=False)
    return [e for chunk in body.split(b"\n\n")[:-1] for e in parser.feed(chunk + b"\n\n")]


def test_inline_deltas_equal_constructed_ones() -> None:
    chat = _events(
        "openai",
        b'data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\n'
        b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
        b'"id":"call_1","function":{"name":"f","arguments":""}}]}}]}\n\n'
        b'data: {"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,'
        b'"function":{"arguments":"{}"}}]}}]}\n\n',
    )
    assert chat[1] == StreamEvent("text_delta", "Hi")
    assert chat[3] == StreamEvent("tool_call_delta", "{}", 0, "call_1")
    anthropic = _events(
        "anthropic",
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":2,'
        b'"delta":{"type":"text_delta","text":"Hi"}}\n\n',
    )
    assert anthropic == [StreamEvent("text_delta", "Hi", 2)]
    responses = _events(
        "openai_responses",
        b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta",'
        b'"delta":"Hi","sequence_number":4}\n\n',
    )
    assert responses == [StreamEvent("text_delta", "Hi")]
    for event in (*chat, *anthropic, *responses):
        event.metadata = {"mutable": True}  # still a mutable StreamEvent
        assert repr(event).startswith("StreamEvent(")
