"""What a reconnecting browser gets: the decisions of resumable streams, without I/O.

A resumable stream is the list of wire frames an encoder wrote for one generation, kept
under a stream id while the generation runs and for a while after. A browser that loses
its connection comes back with the id of the last frame it saw (EventSource sends it by
itself as ``Last-Event-ID``; the AI SDK's resume endpoint sends none and replays from the
start) and must get every frame after it exactly once, then the live tail, then the end.

This module decides, given numbers and a clock, and never touches a socket, a thread or a
store; the stores at the edges (in process, Redis; ``steer_sync.web.registry`` and its
asyncio twin) hold the frames and ask it:

- :class:`Window`: where each frame sits and which old frames a stream drops when it
  outgrows :class:`ReplayLimits` (frames or bytes). Dropping is never silent: a reader
  whose next frame was dropped gets :class:`ReplayGapError` instead of a stream with a hole.
- :func:`resume_after`: from a ``Last-Event-ID`` to the position after which a reader
  reads, or the error it gets instead.
- :class:`StreamTable`: which streams expire (``ttl`` seconds after their last frame) and
  which one makes room for a new one (the least recently written finished stream; when all
  are running, :class:`RegistryFullError`). A new stream under the id of a finished one
  replaces it; under the id of a running one it is refused (:class:`StreamRunningError`).
- :func:`abandoned`: whether a generation nobody reads should stop (the opt-in
  ``abandon_after`` grace period; by default a generation runs to its end).

Positions: a frame that carries an SSE ``id: N`` line sits at ``(N, 0)``; a frame without
one (the AI SDK's ``data: [DONE]``, say) sits just after the frame before it,
``(N, 1)``, ``(N, 2)``... A reader "after N" gets every frame past ``(N, 0)``: it saw the
frame with id N, and perhaps the id-less frames after it, which it gets again (they are
terminators, harmless twice).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from steer_common.errors import SteerError
from steer_common.relay.base import parse_last_event_id

__all__ = [
    "START",
    "Position",
    "RegistryFullError",
    "ReplayError",
    "ReplayGapError",
    "ReplayLimits",
    "StreamAbandonedError",
    "StreamExpiredError",
    "StreamRunningError",
    "StreamTable",
    "Window",
    "abandoned",
    "check_gap",
    "frame_id",
    "lost",
    "make_room",
    "plan_resume",
    "resume_after",
]

#: Where a frame sits: (the last SSE id at or before it, how many id-less frames back).
Position = tuple[int, int]

#: The position before every frame: a reader with no ``Last-Event-ID`` reads after it.
START: Position = (0, 0)


class ReplayError(SteerError):
    """A reader cannot be given the frames it asked for; sent to it as an error event."""


class ReplayGapError(ReplayError):
    """Frames the reader has not seen were dropped: the stream outgrew its bound."""


class StreamExpiredError(ReplayError):
    """No stream under that id: it never existed here, or it expired (``ttl``)."""


class StreamRunningError(ReplayError):
    """A new stream under the id of one still running: each reply needs an id of its own."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(
            f"a stream with id {stream_id!r} is still running: each reply needs a stream id "
            "of its own (its message's id, say)"
        )


class RegistryFullError(ReplayError):
    """A new stream would exceed ``max_streams`` and every stream held is still running."""


class StreamAbandonedError(SteerError):
    """The generation was stopped because no reader was attached for ``abandon_after`` s."""


@dataclass(frozen=True)
class ReplayLimits:
    """The bounds of a stream registry.

    Args:
        max_frames: frames kept per stream; past it the oldest are dropped.
        max_bytes: bytes of frames kept per stream; past it the oldest are dropped (the
            newest frame is always kept, whatever its size).
        max_streams: streams held at once. A new stream past it replaces the least recently
            written finished one, or is refused with :class:`RegistryFullError`.
        ttl: seconds a stream is kept after its last frame (running or finished).
    """

    max_frames: int = 20_000
    max_bytes: int = 1 << 20
    max_streams: int = 1_000
    ttl: float = 300.0

    def __post_init__(self) -> None:
        if min(self.max_frames, self.max_bytes, self.max_streams) < 1 or self.ttl <= 0:
            raise ValueError(f"every limit must be positive: {self}")


_ID = b"id:"


def frame_id(frame: bytes) -> int | None:
    """The integer of a frame's SSE ``id:`` field, or None when it has none (or not a number).

    Only the frame's own lines are read; a frame is one complete SSE event (WHATWG HTML,
    "Parsing an event stream": ``id`` is a field name, an optional space follows the colon).
    """
    if frame.startswith(_ID):
        start = len(_ID)
    else:
        at = frame.find(b"\n" + _ID)
        if at < 0:
            return None
        start = at + 1 + len(_ID)
    end = frame.find(b"\n", start)
    value = frame[start : end if end >= 0 else len(frame)].strip(b" \r")
    return int(value) if value.isdigit() else None


class Window:
    """The positions and sizes of the frames one stream keeps, and what it drops.

    Feed each frame to :meth:`add`; it answers the frame's position and, when the stream
    outgrew its bound, the position through which older frames are to be dropped. The
    stores keep the frames; this keeps the arithmetic.
    """

    def __init__(self, limits: ReplayLimits) -> None:
        self._limits = limits
        self._kept: deque[tuple[Position, int]] = deque()
        self._bytes = 0
        #: The last position written, START before any frame.
        self.last: Position = START
        #: The newest position dropped, None while nothing was.
        self.dropped: Position | None = None

    def add(self, frame: bytes) -> tuple[Position, Position | None]:
        """Place a frame; answer its position and the position to drop through (or None).

        Raises:
            ValueError: the frame's id is not above the last one (ids must increase).
        """
        number = frame_id(frame)
        if number is None:
            position = (self.last[0], self.last[1] + 1)
        elif number > self.last[0]:
            position = (number, 0)
        else:
            raise ValueError(f"frame id {number} after {self.last[0]}: ids must increase")
        self.last = position
        self._kept.append((position, len(frame)))
        self._bytes += len(frame)
        drop: Position | None = None
        limits = self._limits
        while len(self._kept) > 1 and (
            len(self._kept) > limits.max_frames or self._bytes > limits.max_bytes
        ):
            drop, size = self._kept.popleft()
            self._bytes -= size
        if drop is not None:
            self.dropped = drop
        return position, drop


def resume_after(
    last_event_id: str | None, *, last: Position, dropped: Position | None
) -> Position:
    """The position a reader reads after, from the ``Last-Event-ID`` it sent.

    Args:
        last_event_id: the header's value; None (or empty) reads from the start.
        last: the stream's last position written so far.
        dropped: the newest position the stream dropped, None when it dropped nothing.

    Raises:
        ReplayGapError: a frame the reader has not seen was dropped.
        ReplayError: the id is not one this stream sent (not ASCII digits, or past its end).
    """
    if not last_event_id:
        after = START
    else:
        number = parse_last_event_id(last_event_id)
        if number is None:
            raise ReplayError(f"Last-Event-ID {last_event_id!r} is not an id this stream sent")
        if number > last[0]:
            raise ReplayError(
                f"Last-Event-ID {number} is past the stream's last id {last[0]}: "
                "not an id this stream sent"
            )
        after = (number, 0)
    check_gap(after, dropped)
    return after


def plan_resume(
    last_event_id: str | None,
    *,
    held: bool,
    finished: bool,
    last: Position,
    dropped: Position | None,
) -> Position | None:
    """What a reconnecting reader gets: the position it reads after, or None for nothing.

    None is "no stream to resume" (an HTTP 204, which also stops an ``EventSource`` from
    reconnecting): no stream under the id and no ``Last-Event-ID``; a finished stream
    resumed without ``Last-Event-ID`` (as ``resumable-stream`` does: the AI SDK's
    ``useChat`` would add a finished reply a second time to the message it already holds);
    a finished stream whose every frame the reader saw.

    Raises:
        StreamExpiredError: the reader saw frames of a stream that is no longer held.
        ReplayGapError: a frame the reader has not seen was dropped.
        ReplayError: the id is not one this stream sent.
    """
    if not held:
        if not last_event_id:
            return None
        raise StreamExpiredError(
            "the stream this reader was reading is no longer held (it expired, its ttl "
            "passed, or another registry holds it): the reply is incomplete"
        )
    if finished and not last_event_id:
        return None
    after = resume_after(last_event_id, last=last, dropped=dropped)
    if finished and after >= last:
        return None
    return after


def lost(after: Position, *, gone: bool, dropped: Position | None) -> ReplayError | None:
    """Why a reader at ``after`` can no longer be told the rest of its stream, or ``None``:
    the stream is ``gone`` (expired, or made room for another, while it read), or a frame
    it is owed was dropped (:func:`check_gap`)."""
    if gone:
        return StreamExpiredError(
            "the stream expired (its ttl passed) or made room for another while this reader "
            "read it: the reply is incomplete"
        )
    try:
        check_gap(after, dropped)
    except ReplayGapError as exc:
        return exc
    return None


def check_gap(after: Position, dropped: Position | None) -> None:
    """Raise :class:`ReplayGapError` when a frame past ``after`` was dropped."""
    if dropped is not None and dropped > after:
        where = "the start" if after == START else f"id {after[0]}"
        raise ReplayGapError(
            f"frames after {where} were dropped before this reader got them: the stream "
            "outgrew its registry's bound (max_frames or max_bytes); the reply is incomplete"
        )


@dataclass
class _Entry:
    written: float
    finished: bool = False


class StreamTable:
    """Which streams an in-process registry holds: expiry and room, given a clock.

    Each call takes ``now`` (seconds, any monotonic clock) and answers the stream ids whose
    frames the store is to delete.
    """

    def __init__(self, limits: ReplayLimits) -> None:
        self._limits = limits
        # Least recently written first.
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __contains__(self, stream_id: str) -> bool:
        return stream_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def expire(self, now: float) -> list[str]:
        """Forget the streams whose last frame is older than ``ttl``; answer their ids."""
        gone = []
        horizon = now - self._limits.ttl
        for stream_id, entry in self._entries.items():
            if entry.written > horizon:
                break
            gone.append(stream_id)
        for stream_id in gone:
            del self._entries[stream_id]
        return gone

    def open(self, stream_id: str, now: float) -> list[str]:
        """Hold a new stream; answer the ids to delete for it (expired ones, one to make room,
        a finished one under the same id, which the new one replaces).

        Raises:
            RegistryFullError: ``max_streams`` are held and all of them are running.
            StreamRunningError: a stream under that id is still running.
        """
        gone = self.expire(now)
        held = self._entries.get(stream_id)
        if held is not None:
            if not held.finished:
                raise StreamRunningError(stream_id)
            del self._entries[stream_id]
            gone.append(stream_id)
        if len(self._entries) >= self._limits.max_streams:
            oldest = next((s for s, e in self._entries.items() if e.finished), None)
            if oldest is None:
                raise RegistryFullError(
                    f"the registry holds {len(self._entries)} running streams "
                    f"(max_streams={self._limits.max_streams}); none can make room"
                )
            del self._entries[oldest]
            gone.append(oldest)
        self._entries[stream_id] = _Entry(now)
        return gone

    def touch(self, stream_id: str, now: float, *, finished: bool = False) -> None:
        """A frame was written to a stream (or it finished): its ``ttl`` starts again."""
        entry = self._entries.get(stream_id)
        if entry is None:
            return
        entry.written = now
        entry.finished = entry.finished or finished
        self._entries.move_to_end(stream_id)


def make_room(held: int, limits: ReplayLimits, *, a_finished_one: bool) -> bool:
    """Whether opening a stream must first delete the oldest finished one (for a shared store).

    Raises:
        RegistryFullError: the store is full and no finished stream can make room.
    """
    if held < limits.max_streams:
        return False
    if not a_finished_one:
        raise RegistryFullError(
            f"the registry holds {held} running streams "
            f"(max_streams={limits.max_streams}); none can make room"
        )
    return True


def abandoned(readers: int, last_seen: float, now: float, grace: float | None) -> bool:
    """Whether a generation should stop because nobody has read it for ``grace`` seconds.

    Args:
        readers: readers attached now.
        last_seen: when a reader was last attached (the generation's start, before any).
        now: the same clock.
        grace: the ``abandon_after`` option; None keeps every generation running (default).
    """
    return grace is not None and readers == 0 and now - last_seen >= grace
