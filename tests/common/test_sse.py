"""The SSE decoder against the WHATWG rules: the conformance vectors and named cases.

Every case runs three ways (the h11 ``tr()`` habit): whole, one byte at a time, and at
Hypothesis-chosen cut points; the events must not change.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steer_common.errors import InvalidStateError, ProtocolError
from steer_common.sse import DiscardedInput, ServerSentEvent, SSEComment, SSEDecoder
from tests.fixtures import SSE_VECTORS, Fixture, byte_at_a_time, split_at


def decode(pieces: list[bytes], **kwargs: int | bool) -> tuple[list[object], SSEDecoder]:
    decoder = SSEDecoder(**kwargs)  # type: ignore[arg-type]
    out: list[object] = []
    for piece in pieces:
        out += decoder.feed(piece)
    out += decoder.close()
    return out, decoder


def three_ways(data: bytes) -> list[object]:
    """Decode whole and byte at a time; both must agree. Returns the events."""
    whole, _ = decode([data])
    assert decode(byte_at_a_time(data))[0] == whole
    return whole


# -- the WHATWG / web-platform-tests vectors -------------------------------------------


@pytest.mark.parametrize("fixture", SSE_VECTORS, ids=lambda f: f.name)
def test_conformance_vector(fixture: Fixture) -> None:
    exp = fixture.expected
    for pieces in ([fixture.body], byte_at_a_time(fixture.body)):
        events, decoder = decode(pieces)
        assert [
            {"type": e.event, "data": e.data, "last_event_id": e.id}
            for e in events
            if isinstance(e, ServerSentEvent)
        ] == exp["events"]
        assert decoder.retry == exp["reconnection_time_ms_after_stream"]
        discarded = exp["discarded_at_eof"]
        if discarded is None:
            assert decoder.discarded is None
        else:
            assert decoder.discarded == DiscardedInput(**discarded)


@pytest.mark.parametrize("fixture", SSE_VECTORS, ids=lambda f: f.name)
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_conformance_vector_random_cuts(fixture: Fixture, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(fixture.body)), max_size=30))
    assert decode(split_at(fixture.body, cuts))[0] == decode([fixture.body])[0]


# -- named cases ------------------------------------------------------------------------


def test_crlf_split_across_reads_is_one_line_ending() -> None:
    events, _ = decode([b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n"])
    assert [e.data for e in events] == ["a", "b"]  # type: ignore[attr-defined]


def test_cr_then_cr_lf_is_two_line_endings() -> None:
    assert [e.data for e in three_ways(b"data: x\r\r\n")] == ["x"]  # type: ignore[attr-defined]


def test_multibyte_character_split_across_reads() -> None:
    data = "data: olá 👋 °C\n\n".encode()
    for cut in range(len(data)):
        events, _ = decode([data[:cut], data[cut:]])
        assert [e.data for e in events] == ["olá 👋 °C"]  # type: ignore[attr-defined]


def test_unicode_line_separators_are_not_line_endings() -> None:
    # str.splitlines would split on these; SSE must not.
    text = "a\u2028b\u2029c\x1cd\x85e"
    (event,) = three_ways(f"data: {text}\n\n".encode())
    assert event == ServerSentEvent("message", text)


def test_invalid_utf8_becomes_replacement_character() -> None:
    (event,) = three_ways(b"data: a\xffb\n\n")
    assert event == ServerSentEvent("message", "a\ufffdb")


def test_bom_split_across_reads_is_stripped_once() -> None:
    data = b"\xef\xbb\xbfdata: 1\n\n"
    for cut in range(4):
        events, _ = decode([data[:cut], data[cut:]])
        assert [e.data for e in events] == ["1"]  # type: ignore[attr-defined]


def test_a_stream_that_is_only_part_of_a_bom() -> None:
    events, decoder = decode([b"\xef\xbb"])
    assert events == []
    assert decoder.discarded == DiscardedInput("\ufffd", [])


def test_event_name_applies_to_one_event_only() -> None:
    events = three_ways(b"event: ping\ndata: 1\n\ndata: 2\n\n")
    assert [(e.event, e.data) for e in events] == [("ping", "1"), ("message", "2")]  # type: ignore[attr-defined]


def test_comments_are_returned_only_when_asked() -> None:
    data = b": keep-alive\n\ndata: x\n:  two\n\n"
    assert decode([data])[0] == [ServerSentEvent("message", "x")]
    assert decode([data], comments=True)[0] == [
        SSEComment("keep-alive"),
        SSEComment(" two"),
        ServerSentEvent("message", "x"),
    ]


def test_retry_must_be_all_digits() -> None:
    _, decoder = decode([b"retry: 12a\n\nretry: 3000\n\nretry: -1\n\nretry: \n\n"])
    assert decoder.retry == 3000


def test_an_event_over_the_cap_raises_instead_of_growing() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    decoder.feed(b"data: " + b"x" * 500)
    with pytest.raises(ProtocolError, match="exceeded 1000 bytes"):
        decoder.feed(b"x" * 600)
    with pytest.raises(InvalidStateError):
        decoder.feed(b"\n\n")


def test_many_lines_of_one_event_count_toward_the_cap() -> None:
    decoder = SSEDecoder(max_event_size=1000)
    with pytest.raises(ProtocolError):
        for _ in range(200):
            decoder.feed(b"data: xxxxxxxx\n")


def test_the_cap_resets_at_each_dispatch() -> None:
    decoder = SSEDecoder(max_event_size=100)
    for _ in range(1000):
        assert len(decoder.feed(b"data: " + b"y" * 80 + b"\n\n")) == 1


def test_a_line_without_newline_is_scanned_once() -> None:
    # 10 MB arriving in 1 KB pieces with no newline: each feed scans only its own bytes.
    decoder = SSEDecoder(max_event_size=20 * 1024 * 1024)
    piece = b"z" * 1024
    for _ in range(10 * 1024):
        assert decoder.feed(piece) == []
    assert decoder.feed(b"\n\n") == []  # a field named zzz..., no data: nothing dispatched


def test_feed_after_close_is_misuse() -> None:
    decoder = SSEDecoder()
    decoder.close()
    assert decoder.close() == []
    with pytest.raises(InvalidStateError):
        decoder.feed(b"data: x\n\n")


def test_empty_feed_changes_nothing() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(b"data: x\n") == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b"\n") == [ServerSentEvent("message", "x")]


def test_last_event_id_is_sticky() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 7\ndata: a\n\ndata: b\n\n")
    assert decoder.last_event_id == "7"


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["data", "event", "id", "retry", ":", "bogus"]),
            st.text(
                alphabet=st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                max_size=12,
            ),
        ),
        max_size=12,
    ),
    st.sampled_from([b"\n", b"\r", b"\r\n"]),
    st.data(),
)
def test_any_stream_any_split_same_events(
    fields: list[tuple[str, str]], eol: bytes, data: st.DataObject
) -> None:
    body = b""
    for i, (name, value) in enumerate(fields):
        body += (name if name == ":" else name + ": ").encode() + value.encode() + eol
        if i % 3 == 2:
            body += eol
    cuts = data.draw(st.lists(st.integers(0, len(body)), max_size=20))
    assert decode(split_at(body, cuts))[0] == decode([body])[0]


#: The lines of one event as servers write them, and near misses of the one-event read
#: (the decoder's fast path): names repeated or not, no space, no data, two data lines,
#: an id, a comment, a CR, invalid UTF-8.
event_lines = st.lists(
    st.sampled_from(
        [
            b"event: delta",
            b"event: delta",
            b"event: other",
            b"event: ",
            b"event:delta",
            b"data: {}",
            b"data: {}",
            b"data: ",
            b"data:{}",
            b"data",
            b"data: a\rb",
            b"data: \xff\xfe",
            b"data: caf\xc3\xa9",
            b"id: 3",
            b"retry: 10",
            b": keep-alive",
            b"",
        ]
    ),
    min_size=1,
    max_size=3,
)


#: How a read ends: most often with the blank line that dispatches its event.
read_ends = st.sampled_from([b"\n\n", b"\n\n", b"\n\n", b"\n", b"\nx", b"\n\nx", b""])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(event_lines, read_ends), max_size=8), st.booleans())
def test_one_event_per_read_same_events(
    events: list[tuple[list[bytes], bytes]], comments: bool
) -> None:
    """Each event in a read of its own (what a server flushing one event per chunk sends,
    which the decoder reads without splitting it into lines) gives the events of the
    whole body read at once and one byte at a time."""
    reads = [b"\n".join(lines) + end for lines, end in events]
    body = b"".join(reads)
    whole = decode([body], comments=comments)[0]
    assert decode(reads, comments=comments)[0] == whole
    assert decode(byte_at_a_time(body), comments=comments)[0] == whole


def test_a_pending_event_line_names_the_next_reads_event() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"event: delta\ndata: a\n\n") == [ServerSentEvent("delta", "a")]
    assert decoder.feed(b"event: other\n") == []
    assert decoder.feed(b"data: b\n\n") == [ServerSentEvent("other", "b")]
    assert decoder.feed(b"data: c\n") == []
    assert decoder.feed(b"event: delta\ndata: d\n\n") == [ServerSentEvent("delta", "c\nd")]


@pytest.mark.parametrize("comments", [False, True])
def test_a_read_that_ends_inside_an_event_then_brings_whole_ones(comments: bool) -> None:
    # Most reads of a busy stream end inside an event; the next read finishes it and
    # brings whole events. Cut anywhere, the two reads give the events of the whole body.
    body = (
        b'event: content_block_delta\ndata: {"a": 1}\n\n'
        b": keep-alive\n\n"
        b'event: content_block_delta\ndata: {"a": 2}\n\n'
        b"id: 7\nevent: other\ndata: x\ndata: y\n\n"
        b"data: caf\xc3\xa9\n\n"
        b'event: content_block_delta\ndata: {"a": 3}\n\n'
    )
    whole = decode([body], comments=comments)[0]
    assert len(whole) == 5 + comments
    for cut in range(len(body) + 1):
        for second in (len(body), len(body) - 2):  # the last event whole, or not yet
            reads = [body[:cut], body[cut:second], body[second:]]
            assert decode(reads, comments=comments)[0] == whole, (cut, second)
