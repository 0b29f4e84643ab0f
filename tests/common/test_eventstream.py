"""The AWS event stream decoder: botocore's own parser as the oracle, any split, every
single flipped byte, bounded sizes, and Bedrock's exceptions typed.

botocore is used here only as the oracle (``botocore.eventstream.EventStreamBuffer``);
the library's decoder is its own sans-IO module, ``steer_common.eventstream``.
"""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest
from botocore.eventstream import EventStreamBuffer
from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common import StreamParser
from steer_common.errors import (
    APIError,
    BadRequestError,
    InternalServerError,
    OverloadedError,
    ProtocolError,
    RateLimitError,
    SteerError,
    StreamInterruptedError,
)
from steer_common.eventstream import EventStreamDecoder, Message, encode
from tests.fixtures import STREAMS, Fixture, split_at

RECORDINGS = [f for f in STREAMS if f.group == "bedrock"]
HEADERS = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}


def ours(body: bytes, pieces: list[bytes] | None = None) -> list[Message]:
    decoder = EventStreamDecoder()
    messages: list[Message] = []
    for piece in pieces if pieces is not None else [body]:
        messages += decoder.feed(piece)
    assert decoder.pending == 0
    return messages


def oracle(body: bytes) -> list[tuple[dict[str, Any], bytes]]:
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    return [(message.headers, message.payload) for message in buffer]


def events(fixture: Fixture, body: bytes) -> tuple[list[Any], SteerError | None]:
    parser = StreamParser(fixture.wire_format)
    out: list[Any] = []
    try:
        out += parser.feed(body)
        out += parser.close()
    except SteerError as exc:
        return out + exc.events, exc
    return out, None


@pytest.mark.parametrize("fixture", RECORDINGS, ids=lambda f: f.name)
def test_every_recording_decodes_as_botocore_decodes_it(fixture: Fixture) -> None:
    messages = ours(fixture.body)
    assert [(m.headers, m.payload) for m in messages] == oracle(fixture.body)
    assert len(messages) == fixture.meta["eventstream"]["messages"]
    # And the encoder gives back the recorded bytes, message by message.
    assert b"".join(encode(m.headers, m.payload) for m in messages) == fixture.body


@pytest.mark.parametrize("fixture", RECORDINGS, ids=lambda f: f.name)
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_any_split_gives_the_same_messages(fixture: Fixture, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(fixture.body)), max_size=60))
    assert ours(fixture.body, split_at(fixture.body, cuts)) == ours(fixture.body)


@pytest.mark.parametrize("fixture", RECORDINGS, ids=lambda f: f.name)
def test_every_single_flipped_byte_is_a_typed_error_never_a_wrong_event(
    fixture: Fixture,
) -> None:
    clean, clean_error = events(fixture, fixture.body)
    body = bytearray(fixture.body)
    for position in range(len(body)):
        body[position] ^= 0xFF
        got, error = events(fixture, bytes(body))
        body[position] ^= 0xFF
        assert isinstance(error, ProtocolError | StreamInterruptedError), position
        # What came before the damaged message is what the clean stream gave, no more.
        assert got == clean[: len(got)], position
    assert clean_error is None or isinstance(clean_error, APIError)


@pytest.mark.parametrize("fixture", RECORDINGS, ids=lambda f: f.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_any_corrupted_byte_value_is_caught(fixture: Fixture, data: st.DataObject) -> None:
    body = bytearray(fixture.body)
    position = data.draw(st.integers(0, len(body) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != body[position]))
    body[position] = value
    with pytest.raises(ProtocolError, match="invalid event stream at byte"):
        ours(bytes(body))


def prelude(total: int, headers: int) -> bytes:
    head = struct.pack(">II", total, headers)
    return head + struct.pack(">I", zlib.crc32(head))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (prelude(100 * 1024 * 1024, 0), "message length of 104857600 bytes is out of bounds"),
        (prelude(8, 0), "message length of 8 bytes is out of bounds"),
        (prelude(64, 60), "headers length of 60 bytes is out of bounds"),
        (struct.pack(">III", 64, 0, 0), "prelude checksum does not match"),
    ],
)
def test_a_hostile_prelude_is_refused_before_anything_is_buffered(data: bytes, reason: str) -> None:
    decoder = EventStreamDecoder()
    with pytest.raises(ProtocolError, match=reason):
        decoder.feed(data)
    with pytest.raises(ProtocolError, match="already failed"):
        decoder.feed(b"")


def test_headers_that_run_past_their_end_are_refused() -> None:
    name = b":event-type"
    header = bytes([len(name)]) + name + b"\x07" + struct.pack(">H", 200) + b"chunk"
    total = 16 + len(header)
    body = prelude(total, len(header)) + header
    message = body + struct.pack(">I", zlib.crc32(body))
    with pytest.raises(ProtocolError, match="malformed headers"):
        EventStreamDecoder().feed(message)


def test_every_header_type_is_read() -> None:
    def header(name: str, kind: int, value: bytes) -> bytes:
        return bytes([len(name)]) + name.encode() + bytes([kind]) + value

    headers = b"".join(
        [
            header("t", 0, b""),
            header("f", 1, b""),
            header("b", 2, struct.pack(">b", -2)),
            header("s", 3, struct.pack(">h", 300)),
            header("i", 4, struct.pack(">i", -70000)),
            header("l", 5, struct.pack(">q", 2**40)),
            header("y", 6, struct.pack(">H", 2) + b"\x00\xff"),
            header("str", 7, struct.pack(">H", 4) + "olá".encode()),
            header("ts", 8, struct.pack(">q", 1_700_000_000_000)),
            header("u", 9, bytes(range(16))),
        ]
    )
    body = prelude(16 + len(headers) + 2, len(headers)) + headers + b"{}"
    message = body + struct.pack(">I", zlib.crc32(body))
    (decoded,) = EventStreamDecoder().feed(message)
    assert decoded.payload == b"{}"
    assert decoded.headers == {
        "t": True,
        "f": False,
        "b": -2,
        "s": 300,
        "i": -70000,
        "l": 2**40,
        "y": b"\x00\xff",
        "str": "olá",
        "ts": 1_700_000_000_000,
        "u": bytes(range(16)),
    }


def test_a_stream_cut_before_message_stop_is_interrupted() -> None:
    fixture = next(f for f in RECORDINGS if f.name == "bedrock/converse-text-nova-micro")
    parser = StreamParser("bedrock")
    parser.feed(fixture.body[: len(fixture.body) // 2])
    with pytest.raises(StreamInterruptedError) as caught:
        parser.close()
    assert caught.value.partial_response is not None
    assert fixture.expected["text"].startswith(caught.value.partial_response.text)


def exception(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode(headers, json.dumps(payload).encode())


@pytest.mark.parametrize(
    ("kind", "cls", "retryable"),
    [
        ("throttlingException", RateLimitError, True),
        ("serviceUnavailableException", OverloadedError, True),
        ("internalServerException", InternalServerError, True),
        ("modelStreamErrorException", InternalServerError, True),
        ("validationException", BadRequestError, False),
    ],
)
@pytest.mark.parametrize("wire_format", ["bedrock", "bedrock_anthropic"])
def test_exceptions_are_typed_with_the_usual_retry_rules(
    kind: str, cls: type[APIError], retryable: bool, wire_format: str
) -> None:
    payload = {"message": "upstream trouble", "originalStatusCode": 503}
    if kind != "modelStreamErrorException":
        payload.pop("originalStatusCode")
    parser = StreamParser(wire_format)
    with pytest.raises(cls) as caught:
        parser.feed(exception(kind, payload))
    error = caught.value
    assert error.retryable is retryable and error.in_band and error.error_type == kind
    assert "upstream trouble" in str(error) and error.body == payload
