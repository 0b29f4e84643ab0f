"""Runaway output: a reply that repeats itself without end, or outgrows a size cap.

A model stuck in a loop (a local server with no ``max_tokens``, a sampler gone wrong)
streams the same few tokens until something stops it. :class:`RunawayGuard` watches the
content of a stream and says when to stop:

- **size**: more than ``max_chars`` characters of output (text, reasoning, refusal and
  tool-call arguments together);
- **repetition**: the tail of the text (or of the reasoning) is one unit of at most
  :data:`MAX_UNIT` characters repeated back to back more than ``max_repetitions`` times,
  over at least :data:`MIN_SPAN` characters. Both conditions must hold, so a ruler of
  dashes or a table of zeros is not taken for a loop while it is shorter than
  :data:`MIN_SPAN` characters; a run of one character beyond that (20,000 dashes) is
  one unit repeated thousands of times, and is stopped like any loop.

The check runs once per :data:`CHECK_EVERY` new characters of output. It joins the new
output and searches the last thousand characters or so for the start of a loop; only when
it finds one does it copy and compare the window (the last ``MAX_UNIT * max_repetitions``
characters). So it is linear in the reply and its memory is bounded whatever the reply's
length; between checks a read costs one list append.
"""

from __future__ import annotations

from steer_common.models.events import (
    REASONING_DELTA,
    REFUSAL_DELTA,
    TEXT_DELTA,
    TOOL_CALL_DELTA,
    StreamEvent,
)

__all__ = ["CHECK_EVERY", "MAX_UNIT", "MIN_SPAN", "RunawayGuard", "repeated_unit"]

#: The longest repeated unit looked for, in characters.
MAX_UNIT = 1024
#: The fewest characters a repetition must cover before it counts as a loop.
MIN_SPAN = 4096
#: How many new characters of output between two checks.
CHECK_EVERY = 8192
# The tail of the window whose earlier occurrences propose a period.
_PROBE = 32
# How many proposed periods are verified per check.
_CANDIDATES = 4
# Content counted against the size cap.
_OUTPUT = frozenset({TEXT_DELTA, REASONING_DELTA, TOOL_CALL_DELTA, REFUSAL_DELTA})


def repeated_unit(tail: str, repetitions: int) -> tuple[str, int] | None:
    """``(unit, count)`` when ``tail`` ends with one unit (at most :data:`MAX_UNIT`
    characters) repeated back to back at least ``repetitions`` times over at least
    :data:`MIN_SPAN` characters; else ``None``."""
    size = len(tail)
    if size < _PROBE * 2:
        return None
    probe = tail[-_PROBE:]
    end = size - 1
    start = max(0, size - _PROBE - MAX_UNIT)  # an occurrence before it proposes too long a unit
    for _ in range(_CANDIDATES):
        at = tail.rfind(probe, start, end)
        if at < 0:
            return None
        period = size - _PROBE - at
        span = max(MIN_SPAN, period * repetitions)
        if span > size:
            return None
        window = tail[-span:]
        if window[period:] == window[:-period]:
            return tail[-period:], span // period
        end = at + _PROBE - 1
    return None


def _may_loop(end: str) -> bool:
    """Whether the last :data:`_PROBE` characters of ``end`` occur in it once more: what
    :func:`repeated_unit` first looks for, when ``end`` is the last ``MAX_UNIT + _PROBE``
    characters of its tail."""
    return len(end) >= _PROBE * 2 and end.rfind(end[-_PROBE:], 0, len(end) - 1) >= 0


class _Tail:
    """The latest output of one kind, at least the last ``window`` characters of it, kept
    as the pieces it came in: a check copies only the characters it reads."""

    __slots__ = ("pieces", "size", "window")

    def __init__(self, window: int) -> None:
        self.window = window
        self.pieces: list[str] = []
        self.size = 0

    def add(self, text: str) -> None:
        if len(text) > self.window:  # a read larger than the window: only its end counts
            text = text[-self.window :]
        pieces = self.pieces
        pieces.append(text)
        self.size += len(text)
        while self.size - len(pieces[0]) >= self.window:  # the oldest piece is not needed
            self.size -= len(pieces.pop(0))

    def last(self, count: int) -> str:
        """The last ``count`` characters (all of them if there are fewer)."""
        pieces = self.pieces
        if len(pieces[-1]) >= count:
            return pieces[-1][-count:]
        held = 0
        first = len(pieces)
        while first and held < count:
            first -= 1
            held += len(pieces[first])
        return "".join(pieces[first:])[-count:]


class RunawayGuard:
    """Watches a stream's content and says when it ran away.

    The session drives it at the cost of one list append per read: :meth:`add` keeps the
    read's events, and :meth:`check` runs only once the output has grown to :attr:`due`
    characters (counted by the parser's accumulator); :meth:`feed` does both for code that
    has no such counter.

    Args:
        max_chars: the most characters of output allowed (``None``: no cap).
        max_repetitions: the most back-to-back repetitions of one unit allowed
            (``None``: no check).
    """

    __slots__ = (
        "_chars",
        "_pending",
        "_tails",
        "_window",
        "due",
        "max_chars",
        "max_repetitions",
        "watching",
    )

    def __init__(self, max_chars: int | None, max_repetitions: int | None) -> None:
        self.max_chars = max_chars
        self.max_repetitions = max_repetitions
        self._window = 0 if max_repetitions is None else max(MIN_SPAN, MAX_UNIT * max_repetitions)
        self._pending: list[list[StreamEvent]] = []
        self._tails = {TEXT_DELTA: _Tail(self._window), REASONING_DELTA: _Tail(self._window)}
        self._chars = 0  # feed()'s own count
        #: Whether :meth:`add` must be given the events (the repetition check is on).
        self.watching = self._window > 0
        #: the output size (characters) at which :meth:`check` is next due.
        self.due = 0
        self._schedule(0)

    def add(self, events: list[StreamEvent]) -> None:
        """Keep a read's events for the next check (only when :attr:`watching`)."""
        self._pending.append(events)

    def check(self, chars: int) -> str | None:
        """``chars`` characters of output so far: a message saying what ran away, or
        ``None``. Call it once ``chars`` reaches :attr:`due`."""
        if self.max_chars is not None and chars > self.max_chars:
            return f"the reply outgrew max_output_chars={self.max_chars} ({chars} characters)"
        message = None
        if self._window:
            pending, self._pending = self._pending, []
            unread = sum(map(len, pending))  # events not yet sorted by kind
            for kind in (TEXT_DELTA, REASONING_DELTA):
                if not unread:  # a reply of text alone is walked once
                    break
                deltas = [e.delta for events in pending for e in events if e.type == kind]
                unread -= len(deltas)
                new = "".join(filter(None, deltas))
                if new:
                    tail = self._tails[kind]
                    tail.add(new)
                    # The whole window is joined only when its end may be a loop: the
                    # last characters occur again at most MAX_UNIT before.
                    if _may_loop(tail.last(MAX_UNIT + _PROBE)):
                        found = repeated_unit(tail.last(self._window), self.max_repetitions or 0)
                        if found is not None and message is None:
                            message = self._message(kind, *found)
        self._schedule(chars)
        return message

    def feed(self, events: list[StreamEvent]) -> str | None:
        """:meth:`add` and :meth:`check`, counting the output itself."""
        self._chars += sum(len(e.delta or "") for e in events if e.type in _OUTPUT)
        if self.watching:
            self.add(events)
        return self.check(self._chars) if self._chars >= self.due else None

    def _schedule(self, chars: int) -> None:
        due = chars + CHECK_EVERY if self._window else float("inf")
        if self.max_chars is not None:
            due = min(due, self.max_chars + 1)
        self.due = due  # type: ignore[assignment]

    def _message(self, kind: str, unit: str, count: int) -> str:
        what = "text" if kind == TEXT_DELTA else "reasoning"
        shown = unit if len(unit) <= 60 else unit[:57] + "..."
        return (
            f"the reply's {what} repeats {shown!r} ({len(unit)} characters) at least {count} "
            f"times in a row (max_repetitions={self.max_repetitions}): the model is looping"
        )
