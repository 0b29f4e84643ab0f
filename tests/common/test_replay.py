"""The decisions of resumable streams (steer_common.relay.replay), without sockets or clocks.

A store here is a list that applies the :class:`Window`'s answers; the property tests say
that a reader, wherever it reconnects and however the bounds cut, gets exactly the frames
after the id it saw, or an error that says frames are missing: never a stream with a hole.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steer_common.relay.replay import (
    START,
    Position,
    RegistryFullError,
    ReplayError,
    ReplayGapError,
    ReplayLimits,
    StreamTable,
    Window,
    abandoned,
    frame_id,
    make_room,
    resume_after,
)


def sse(number: int | None, data: str = "x") -> bytes:
    head = f"id: {number}\n" if number is not None else ""
    return f"{head}event: text\ndata: {data}\n\n".encode()


class ListStore:
    """The smallest store: keeps what the window keeps."""

    def __init__(self, limits: ReplayLimits) -> None:
        self.window = Window(limits)
        self.frames: list[tuple[Position, bytes]] = []

    def add(self, frame: bytes) -> None:
        position, drop = self.window.add(frame)
        self.frames.append((position, frame))
        if drop is not None:
            self.frames = [(p, f) for p, f in self.frames if p > drop]

    def read(self, last_event_id: str | None) -> list[bytes]:
        after = resume_after(last_event_id, last=self.window.last, dropped=self.window.dropped)
        return [f for p, f in self.frames if p > after]


# -- frame ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (b"id: 7\ndata: x\n\n", 7),
        (b"id:7\ndata: x\n\n", 7),
        (b"event: text\nid: 12\ndata: x\n\n", 12),
        (b"event: text\r\nid: 3\r\ndata: x\r\n\r\n", 3),
        (b"data: [DONE]\n\n", None),
        (b": keep-alive\n\n", None),
        (b"id: abc\ndata: x\n\n", None),
        (b"data: id: 4\n\n", None),  # "id:" inside a data line is data
        (b"id: 9", 9),
    ],
)
def test_frame_id_reads_the_sse_id_field(frame: bytes, expected: int | None) -> None:
    assert frame_id(frame) == expected


# -- positions and replay ----------------------------------------------------------------


def test_a_reader_gets_the_frames_after_the_id_it_saw() -> None:
    store = ListStore(ReplayLimits())
    for n in range(1, 6):
        store.add(sse(n, f"t{n}"))
    assert store.read(None) == [sse(n, f"t{n}") for n in range(1, 6)]
    assert store.read("3") == [sse(4, "t4"), sse(5, "t5")]
    assert store.read("5") == []


def test_id_less_frames_follow_the_frame_before_them_and_are_resent() -> None:
    # The AI SDK's terminator has no id: a reader that saw id 2 may or may not have got it.
    store = ListStore(ReplayLimits())
    for frame in (b"data: start\n\n", sse(1), sse(2), b"data: [DONE]\n\n"):
        store.add(frame)
    assert store.read(None)[0] == b"data: start\n\n"
    assert store.read("1") == [sse(2), b"data: [DONE]\n\n"]
    assert store.read("2") == [b"data: [DONE]\n\n"]


def test_ids_must_increase() -> None:
    window = Window(ReplayLimits())
    window.add(sse(2))
    with pytest.raises(ValueError, match="ids must increase"):
        window.add(sse(2))


# "²" and "٣" are str.isdigit() but no id an encoder writes (int("²") raises; "٣" is 3).
@pytest.mark.parametrize("bad", ["abc", "-1", "99", "²", "٣", "1²"])
def test_an_id_the_stream_never_sent_is_an_error(bad: str) -> None:
    store = ListStore(ReplayLimits())
    for number in range(1, 6):
        store.add(sse(number))
    with pytest.raises(ReplayError, match="not an id this stream sent") as caught:
        store.read(bad)
    assert not isinstance(caught.value, ReplayGapError)


# -- bounds ------------------------------------------------------------------------------


def test_past_max_frames_the_oldest_go_and_a_late_reader_is_told() -> None:
    store = ListStore(ReplayLimits(max_frames=3))
    for n in range(1, 7):
        store.add(sse(n))
    assert [frame_id(f) for _, f in store.frames] == [4, 5, 6]
    assert store.read("3") == [sse(4), sse(5), sse(6)]  # saw 3: nothing it needs is gone
    with pytest.raises(ReplayGapError, match="after id 2 were dropped"):
        store.read("2")
    with pytest.raises(ReplayGapError, match="after the start were dropped"):
        store.read(None)


def test_past_max_bytes_the_oldest_go_but_the_newest_frame_stays() -> None:
    big = sse(3, "y" * 100)
    store = ListStore(ReplayLimits(max_bytes=len(big) - 1))
    store.add(sse(1))
    store.add(sse(2))
    store.add(big)
    assert store.frames == [((3, 0), big)]
    assert store.window.dropped == (2, 0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReplayLimits(max_frames=0)
    with pytest.raises(ValueError, match="positive"):
        ReplayLimits(ttl=0)


frames_strategy = st.lists(
    st.tuples(st.booleans(), st.integers(1, 3), st.integers(0, 40)), min_size=1, max_size=40
)


@given(
    plan=frames_strategy,
    max_frames=st.integers(1, 12),
    max_bytes=st.integers(1, 400),
    reconnect=st.integers(0, 60),
)
def test_a_reader_never_gets_a_stream_with_a_hole(
    plan: list[tuple[bool, int, int]], max_frames: int, max_bytes: int, reconnect: int
) -> None:
    # Frames with and without ids, ids that skip numbers; the reader saw some prefix.
    store = ListStore(ReplayLimits(max_frames=max_frames, max_bytes=max_bytes))
    everything: list[bytes] = []
    number = 0
    for has_id, step, size in plan:
        if has_id:
            number += step
        frame = sse(number if has_id else None, "z" * size)
        everything.append(frame)
        store.add(frame)
    seen = everything[: reconnect % (len(everything) + 1)]
    ids = [i for i in map(frame_id, seen) if i is not None]
    last_event_id = str(ids[-1]) if ids else None
    # What EventSource does: it resends its last id; the frames after that id are owed.
    owed_from = 0
    if last_event_id is not None:
        owed_from = max(n for n, f in enumerate(everything) if frame_id(f) == ids[-1]) + 1
    owed = everything[owed_from:]
    try:
        got = store.read(last_event_id)
    except ReplayGapError:
        # Only when an owed frame really is gone: the owed frames are no tail of the kept.
        kept = [f for _, f in store.frames]
        assert len(kept) < len(owed) or kept[len(kept) - len(owed) :] != owed
    else:
        assert got == owed
    assert len(store.frames) <= max_frames
    assert len(store.frames) == 1 or sum(len(f) for _, f in store.frames) <= max_bytes


# -- the table: expiry and room ----------------------------------------------------------


def test_streams_expire_ttl_after_their_last_frame() -> None:
    table = StreamTable(ReplayLimits(ttl=10))
    table.open("a", now=0)
    table.open("b", now=5)
    table.touch("a", now=8)
    assert table.expire(now=14.9) == []
    assert table.expire(now=15) == ["b"]
    assert table.expire(now=18) == ["a"]
    assert len(table) == 0


def test_a_new_stream_replaces_the_oldest_finished_one_or_is_refused() -> None:
    table = StreamTable(ReplayLimits(max_streams=2))
    table.open("a", now=0)
    table.open("b", now=1)
    with pytest.raises(RegistryFullError, match="2 running streams"):
        table.open("c", now=2)
    table.touch("b", now=3, finished=True)
    table.touch("a", now=4, finished=True)
    assert table.open("c", now=5) == ["b"]  # b was written least recently
    assert "a" in table and "c" in table and "b" not in table


def test_an_id_is_held_once_while_it_runs_and_a_finished_one_is_replaced() -> None:
    from steer_common.relay.replay import ReplayError, StreamRunningError

    table = StreamTable(ReplayLimits())
    table.open("a", now=0)
    with pytest.raises(StreamRunningError, match="still running") as refused:
        table.open("a", now=1)
    assert isinstance(refused.value, ReplayError)  # the helpers send it as an error event
    table.touch("a", now=2, finished=True)
    assert table.open("a", now=3) == ["a"]  # the finished reply's frames go
    assert "a" in table and len(table) == 1
    with pytest.raises(StreamRunningError):
        table.open("a", now=4)  # the new one runs


def test_make_room_for_a_shared_store() -> None:
    limits = ReplayLimits(max_streams=2)
    assert make_room(1, limits, a_finished_one=False) is False
    assert make_room(2, limits, a_finished_one=True) is True
    with pytest.raises(RegistryFullError):
        make_room(2, limits, a_finished_one=False)


# -- abandoned generations ---------------------------------------------------------------


def test_by_default_a_generation_runs_with_nobody_reading() -> None:
    assert abandoned(0, last_seen=0, now=1e9, grace=None) is False


def test_with_a_grace_period_a_generation_nobody_reads_stops_after_it() -> None:
    assert abandoned(1, last_seen=0, now=100, grace=5) is False
    assert abandoned(0, last_seen=0, now=4.9, grace=5) is False
    assert abandoned(0, last_seen=0, now=5, grace=5) is True


def test_start_is_before_every_position() -> None:
    assert START < (0, 1) and START < (1, 0)


# -- what a reconnecting reader gets -------------------------------------------------------


def test_plan_resume_answers_none_when_there_is_nothing_to_resume() -> None:
    from steer_common.relay.replay import StreamExpiredError, plan_resume

    # No stream and no id (useChat's resume on mount): 204.
    assert plan_resume(None, held=False, finished=False, last=START, dropped=None) is None
    # A finished stream from its start: 204 (useChat would add the reply twice).
    assert plan_resume(None, held=True, finished=True, last=(9, 0), dropped=None) is None
    # A finished stream the reader saw to its end: 204 (EventSource stops asking).
    assert plan_resume("9", held=True, finished=True, last=(9, 0), dropped=None) is None
    # Running, no id: from the start; an id: after it; finished with frames owed: after it.
    assert plan_resume(None, held=True, finished=False, last=(3, 0), dropped=None) == START
    assert plan_resume("2", held=True, finished=True, last=(9, 0), dropped=None) == (2, 0)
    # A reader that saw frames of a stream no longer held is told.
    with pytest.raises(StreamExpiredError):
        plan_resume("4", held=False, finished=False, last=START, dropped=None)
