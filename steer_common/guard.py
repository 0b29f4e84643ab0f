"""Runaway output: a reply that repeats itself without end, or outgrows a size cap.

A model stuck in a loop (a local server with no ``max_tokens``, a sampler gone wrong)
streams the same few tokens until something stops it. :class:`RunawayGuard` watches the
content of a stream and says when to stop:

- **size**: more than ``max_chars`` characters of output (text, reasoning, refusal and
  tool-call arguments together);
- **repetition**: the tail of the text (or of the reasoning) is one unit of at most
  :data:`MAX_UNIT` characters repeated back to back more than ``max_repetitions`` times,
  over at least :data:`MIN_SPAN` characters. Both conditions must hold, so a short list of
  zeros or a ruler of dashes is never taken for a loop.

The check runs once per :data:`CHECK_EVERY` new characters of a channel and costs a few
C-level scans of a bounded window, so it is linear in the reply and its memory is bounded
whatever the reply's length.
"""

from __future__ import annotations

from collections.abc import Iterable

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
#: How many new characters of a channel between two repetition checks.
CHECK_EVERY = 1024
# The tail of the window whose earlier occurrences propose a period.
_PROBE = 32
# How many proposed periods are verified per check.
_CANDIDATES = 4
# Content counted against the size cap but not checked for repetition.
_SIZED = frozenset({TOOL_CALL_DELTA, REFUSAL_DELTA})


def repeated_unit(tail: str, repetitions: int) -> tuple[str, int] | None:
    """``(unit, count)`` when ``tail`` ends with one unit (at most :data:`MAX_UNIT`
    characters) repeated back to back at least ``repetitions`` times over at least
    :data:`MIN_SPAN` characters; else ``None``."""
    size = len(tail)
    if size < _PROBE * 2:
        return None
    probe = tail[-_PROBE:]
    end = size - 1
    for _ in range(_CANDIDATES):
        at = tail.rfind(probe, 0, end)
        if at < 0:
            return None
        period = size - _PROBE - at
        if period > MAX_UNIT:
            return None
        span = max(MIN_SPAN, period * repetitions)
        if span > size:
            return None
        window = tail[-span:]
        if window[period:] == window[:-period]:
            return tail[-period:], span // period
        end = at + _PROBE - 1
    return None


class _Channel:
    """The recent tail of one channel (text or reasoning) and what is new since a check."""

    __slots__ = ("parts", "pending", "tail")

    def __init__(self) -> None:
        self.tail = ""
        self.parts: list[str] = []
        self.pending = 0


class RunawayGuard:
    """Watches a stream's content; :meth:`check` names the runaway, once there is one.

    Args:
        max_chars: the most characters of output allowed (``None``: no cap).
        max_repetitions: the most back-to-back repetitions of one unit allowed
            (``None``: no check).
    """

    __slots__ = ("_channels", "_window", "chars", "max_chars", "max_repetitions")

    def __init__(self, max_chars: int | None, max_repetitions: int | None) -> None:
        self.max_chars = max_chars
        self.max_repetitions = max_repetitions
        self.chars = 0
        self._window = 0 if max_repetitions is None else max(MIN_SPAN, MAX_UNIT * max_repetitions)
        self._channels = {TEXT_DELTA: _Channel(), REASONING_DELTA: _Channel()}

    def check(self, events: Iterable[StreamEvent]) -> str | None:
        """Take in a read's events; a message saying what ran away, or ``None``."""
        channels = self._channels
        for event in events:
            kind = event.type
            if kind in channels:
                delta = event.delta or ""
                self.chars += len(delta)
                if self._window:
                    channel = channels[kind]
                    channel.parts.append(delta)
                    channel.pending += len(delta)
                    if channel.pending >= CHECK_EVERY:
                        message = self._check_repetition(channel, kind)
                        if message is not None:
                            return message
            elif kind in _SIZED:
                self.chars += len(event.delta or "")
        if self.max_chars is not None and self.chars > self.max_chars:
            return f"the reply outgrew max_output_chars={self.max_chars} ({self.chars} characters)"
        return None

    def _check_repetition(self, channel: _Channel, kind: str) -> str | None:
        tail = channel.tail + "".join(channel.parts)
        channel.tail = tail = tail[-self._window :]
        channel.parts = []
        channel.pending = 0
        found = repeated_unit(tail, self.max_repetitions or 0)
        if found is None:
            return None
        unit, count = found
        what = "text" if kind == TEXT_DELTA else "reasoning"
        shown = unit if len(unit) <= 60 else unit[:57] + "..."
        return (
            f"the reply's {what} repeats {shown!r} ({len(unit)} characters) at least {count} times "
            f"in a row (max_repetitions={self.max_repetitions}): the model is looping"
        )
