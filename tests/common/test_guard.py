"""The runaway-output guard: loops and oversize replies are caught; real text is not."""

from __future__ import annotations

import ast
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common.guard import CHECK_EVERY, MAX_UNIT, MIN_SPAN, RunawayGuard, repeated_unit
from steer_common.models.events import StreamEvent
from tests.fixtures import STREAMS, parse


def deltas(kind: str, text: str, size: int = 7) -> list[StreamEvent]:
    return [StreamEvent(kind, text[i : i + size]) for i in range(0, len(text), size)]


def first_trip(guard: RunawayGuard, events: list[StreamEvent]) -> tuple[int, str] | None:
    for i, event in enumerate(events):
        message = guard.feed([event])
        if message is not None:
            return i, message
    return None


def test_a_looping_sentence_is_stopped_soon_after_the_loop_is_certain() -> None:
    unit = "I apologize for the confusion. "
    events = deltas("text_delta", "Here is the answer. " + unit * 1000)
    found = first_trip(RunawayGuard(None, 50), events)
    assert found is not None
    at, message = found
    stopped_after = sum(len(e.delta or "") for e in events[: at + 1])
    # Certain after 50 repetitions over MIN_SPAN characters; seen within one check
    # interval of that.
    certain = max(MIN_SPAN, 50 * len(unit))
    assert certain <= stopped_after <= 20 + certain + CHECK_EVERY + 7
    assert f"({len(unit)} characters)" in message and "max_repetitions=50" in message
    quoted = message.split("repeats ", 1)[1].split(" (", 1)[0]
    assert ast.literal_eval(quoted) in unit * 2  # the unit, as it lines up with the tail


def test_reasoning_loops_are_caught_and_named() -> None:
    found = first_trip(RunawayGuard(None, 50), deltas("reasoning_delta", "Wait. " * 2000))
    assert found is not None and "reasoning" in found[1]


def test_short_repetitions_are_not_loops() -> None:
    # A ruler, a short list of zeros, a table row repeated a few times: under MIN_SPAN or
    # under max_repetitions.
    text = "-" * 200 + "\n" + "0, " * 500 + "\n" + ("| a | b | c |\n" * 40)
    assert first_trip(RunawayGuard(None, 50), deltas("text_delta", text)) is None


def test_a_run_of_one_character_past_min_span_is_a_loop() -> None:
    # As docs/streaming-options.md says: a ruler is fine, 20,000 dashes are a loop.
    ruler = "Results\n" + "-" * (MIN_SPAN - 100) + "\nall good"
    assert first_trip(RunawayGuard(None, 50), deltas("text_delta", ruler)) is None
    found = first_trip(RunawayGuard(None, 50), deltas("text_delta", "-" * 20_000))
    assert found is not None and "'-'" in found[1]
    assert first_trip(RunawayGuard(None, None), deltas("text_delta", "-" * 20_000)) is None


def test_a_unit_longer_than_max_unit_is_not_looked_for() -> None:
    unit = "".join(chr(0x4E00 + i % 500) for i in range(MAX_UNIT + 1))
    assert repeated_unit(unit * 60, 50) is None
    assert repeated_unit(unit[:MAX_UNIT] * 60, 50) == (unit[:MAX_UNIT], 50)  # at least 50


def test_the_recorded_replies_are_not_loops() -> None:
    for fixture in STREAMS:
        events = parse(fixture)[0]
        assert first_trip(RunawayGuard(None, 2), events) is None, fixture.name


def test_the_size_cap_counts_every_kind_of_output() -> None:
    guard = RunawayGuard(100, None)
    assert guard.feed(deltas("text_delta", "a" * 40)) is None
    assert guard.feed(deltas("reasoning_delta", "b" * 40)) is None
    message = guard.feed([StreamEvent("tool_call_delta", '{"x": 1234567890123456789}', index=0)])
    assert message == "the reply outgrew max_output_chars=100 (106 characters)"


@settings(max_examples=200, deadline=None)
@given(
    unit=st.text(min_size=1, max_size=80).filter(lambda u: len(set(u)) > 1),
    prefix=st.text(max_size=300),
    size=st.integers(1, 40),
)
def test_any_unit_repeated_without_end_is_caught(unit: str, prefix: str, size: int) -> None:
    enough = max(MIN_SPAN, 50 * len(unit)) + 2 * CHECK_EVERY + 40
    text = prefix + unit * (enough // len(unit) + 1)
    found = first_trip(RunawayGuard(None, 50), deltas("text_delta", text, size))
    assert found is not None


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 2**32))
def test_text_without_a_loop_is_left_alone(seed: int) -> None:
    rnd = random.Random(seed)
    words = ["the", "model", "streams", "a", "reply", "token", "by", "and", "then", "stops"]
    text = " ".join(rnd.choice(words) for _ in range(3000))
    assert first_trip(RunawayGuard(None, 50), deltas("text_delta", text)) is None


def _unbounded(tail: str, repetitions: int) -> tuple[str, int] | None:
    """repeated_unit as first written: the window kept whole, the probe searched in all of
    it (the guard now searches only where a unit could start, and joins the window only
    when its end looks like a loop)."""
    size = len(tail)
    if size < 64:
        return None
    probe = tail[-32:]
    end = size - 1
    for _ in range(4):
        at = tail.rfind(probe, 0, end)
        if at < 0:
            return None
        period = size - 32 - at
        if period > MAX_UNIT:
            return None
        span = max(MIN_SPAN, period * repetitions)
        if span > size:
            return None
        window = tail[-span:]
        if window[period:] == window[:-period]:
            return tail[-period:], span // period
        end = at + 32 - 1
    return None


@settings(max_examples=100, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(
            st.sampled_from(["text_delta", "reasoning_delta", "ping"]),
            st.integers(1, MAX_UNIT + 80),  # the piece's length: loops up to MAX_UNIT and past
            st.integers(0, 70),  # how many more times it comes, back to back
            st.integers(0, 2**16),  # its characters
        ),
        min_size=1,
        max_size=6,
    ),
    repetitions=st.integers(2, 60),
    size=st.integers(20, 3000),
    per_read=st.integers(1, 50),
)
def test_every_check_says_what_the_whole_output_says(
    pieces: list[tuple[str, int, int, int]], repetitions: int, size: int, per_read: int
) -> None:
    # Whatever the reads, each check finds what the definition finds in the output so far.
    events = []
    for kind, length, times, seed in pieces:
        rnd = random.Random(seed)
        unit = "".join(rnd.choice("ab c.\n") for _ in range(length))
        events += deltas(kind, unit * (times + 1), size)
    guard = RunawayGuard(None, repetitions)
    window = max(MIN_SPAN, MAX_UNIT * repetitions)
    output = {"text_delta": "", "reasoning_delta": ""}
    grew: set[str] = set()  # the kinds of output that grew since the last check
    chars = 0
    checks = 0
    for start in range(0, len(events), per_read):
        read = events[start : start + per_read]
        guard.add(read)
        for event in read:
            if event.type in output:
                output[event.type] += event.delta or ""
                chars += len(event.delta or "")
                grew.add(event.type)
        if chars >= guard.due:
            expected = None
            for kind in output:
                found = _unbounded(output[kind][-window:], repetitions) if kind in grew else None
                if found is not None and expected is None:
                    expected = guard._message(kind, *found)
            assert guard.check(chars) == expected
            grew.clear()
            checks += 1
    assert checks or chars < CHECK_EVERY
