"""The chunked-framing decoder: any split gives the same body, strict about the framing."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steer_common.chunked import MAX_LINE, MAX_TRAILERS, ChunkedDecoder
from steer_common.errors import ProtocolError


def frame(*pieces: bytes, trailers: bytes = b"", extension: bytes = b"") -> bytes:
    body = b"".join(b"%x%s\r\n%s\r\n" % (len(p), extension, p) for p in pieces if p)
    return body + b"0\r\n" + trailers + b"\r\n"


def decode(wire: bytes, cuts: list[int] | None = None) -> tuple[bytes, ChunkedDecoder]:
    decoder = ChunkedDecoder()
    points = sorted({0, *(cuts or []), len(wire)})
    out = b"".join(decoder.feed(wire[a:b]) for a, b in itertools.pairwise(points))
    return out, decoder


PIECES = [b"data: one\n\n", b"data: t", b"wo\n\n", b"x" * 70_000, "é€😀".encode()]
BODY = b"".join(PIECES)
SAMPLES = [
    (frame(*PIECES), BODY),
    (frame(*PIECES, extension=b";name=value"), BODY),
    (frame(*PIECES, extension=b' ; q="quoted"'), BODY),
    (frame(*PIECES, trailers=b"Expires: never\r\nx-checksum: abc\r\n"), BODY),
    (frame(b"A" * 255, b"b" * 16), b"A" * 255 + b"b" * 16),
    (frame(), b""),
]


@pytest.mark.parametrize(("wire", "body"), SAMPLES)
def test_whole_and_byte_by_byte(wire: bytes, body: bytes) -> None:
    whole, decoder = decode(wire)
    assert whole == body
    assert decoder.done and decoder.trailing == b""
    if len(wire) < 5000:
        one_by_one, decoder = decode(wire, list(range(len(wire))))
        assert one_by_one == body and decoder.done


@given(st.sampled_from(SAMPLES), st.lists(st.integers(min_value=0, max_value=80_000), max_size=30))
def test_any_split_gives_the_same_body(sample: tuple[bytes, bytes], cuts: list[int]) -> None:
    wire, body = sample
    assert decode(wire, [c % (len(wire) + 1) for c in cuts])[0] == body


def test_upper_case_hex_and_the_end_of_the_body() -> None:
    body, decoder = decode(b"1F\r\n" + b"z" * 31 + b"\r\n0\r\n\r\n")
    assert body == b"z" * 31 and decoder.done
    assert decoder.feed(b"") == b""


def test_not_done_until_the_last_empty_line() -> None:
    decoder = ChunkedDecoder()
    assert decoder.feed(b"3\r\nabc\r\n0\r\n") == b"abc"
    assert not decoder.done
    decoder.feed(b"\r\n")
    assert decoder.done


def test_bytes_after_the_body_are_kept_as_trailing() -> None:
    _, decoder = decode(frame(b"abc") + b"HTTP/1.1 200 OK\r\n")
    assert decoder.done and decoder.trailing == b"HTTP/1.1 200 OK\r\n"


@pytest.mark.parametrize(
    ("wire", "what"),
    [
        (b"0x10\r\n", "malformed chunk-size line"),
        (b"+10\r\n", "malformed chunk-size line"),
        (b"1_0\r\n", "malformed chunk-size line"),
        (b" 10\r\n", "malformed chunk-size line"),
        (b"\r\n", "malformed chunk-size line"),
        (b"zz\r\n", "malformed chunk-size line"),
        (b"1" * 17 + b"\r\n", "malformed chunk-size line"),
        (b"10;ext\x00\r\n", "malformed chunk-size line"),
        (b"3\nabc\n", "not ended by CRLF"),
        (b"3\r\nabcd\r\n", "chunk data longer than its size"),
        (b"3\r\nabc\n0\r\n", "chunk data longer than its size"),
        (b"3" + b";" * MAX_LINE + b"\r\n", f"longer than {MAX_LINE} bytes"),
        (b"0\r\nno colon\r\n\r\n", "malformed trailer field"),
        (b"0\r\nx: " + b"y" * MAX_TRAILERS + b"\r\n", f"over {MAX_TRAILERS} bytes"),
    ],
)
def test_malformed_framing_is_a_protocol_error(wire: bytes, what: str) -> None:
    with pytest.raises(ProtocolError, match="malformed chunked body") as caught:
        decode(wire)
    assert what in str(caught.value)
    # The same whatever the split.
    with pytest.raises(ProtocolError, match=what):
        decode(wire, list(range(len(wire))))


def test_an_error_says_where() -> None:
    with pytest.raises(ProtocolError, match=r"at byte 7 \(b'q"):
        decode(b"2\r\nab\r\nq\r\n")
