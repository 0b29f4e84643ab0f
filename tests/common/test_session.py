"""The session's decisions, socket-free (tests/common/play.py): retries and their waits,
deadlines, holding events until content, delivery around errors, callbacks, coalescing,
completeness in every format, the runaway guard, compressed bodies, pooling; and, with
Hypothesis, the same decisions wherever the bytes are cut and wherever a fault lands."""

from __future__ import annotations

import dataclasses
import gc
import gzip
import inspect
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common.commands import Connect, Deliver, Read
from steer_common.errors import (
    APIConnectionError,
    CallbackError,
    InternalServerError,
    InvalidStateError,
    JSONModeError,
    OverloadedError,
    ProtocolError,
    RateLimitError,
    ReadTimeoutError,
    RunawayOutputError,
    StreamInterruptedError,
    StreamTimeoutError,
    TotalTimeoutError,
)
from steer_common.http import ResponseHead
from steer_common.models.events import StreamEvent
from steer_common.parser import StreamParser
from steer_common.retry import MAX_BACKOFF, MAX_RETRY_AFTER, backoff
from steer_common.session import Consumer
from steer_emulator import error_body
from tests.common.play import SSE, Clock, Tick, make_session, play
from tests.faultserver import fixture_events
from tests.fixtures import by_name, parse, split_at

CHAT = by_name("openai/chat-text-include-usage")
CHAT_EVENTS = fixture_events(CHAT.body)
OVERLOAD = by_name("anthropic/mid-stream-overloaded-error")
FORMATS = {
    "openai": ("gpt-4o-mini", "chat", by_name("openai/chat-text-include-usage")),
    "openai_responses": ("gpt-5-mini", "responses", by_name("openai/responses-text")),
    "anthropic": ("claude-sonnet-5", "chat", by_name("anthropic/text")),
    "xai": ("grok-4-fast", "chat", by_name("xai/grok-4-fast-text")),
    "openai_compatible": (
        "openai_compatible/x",
        "chat",
        by_name("compat/openrouter-anthropic-bedrock-text"),
    ),
}


def status(code: int, **headers: str) -> ResponseHead:
    return ResponseHead(code, {"content-type": "application/json", **headers}, 1)


def error_reply(code: int, **headers: str) -> list[Any]:
    """A status head and its body, read to its end."""
    return [status(code, **headers), error_body("openai", code), b""]


def whole(body: bytes) -> list[Any]:
    return [SSE, body, b""]


# -- retries and their waits ---------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 8])
def test_backoff_is_exponential_with_jitter_in_its_upper_half_and_capped(attempt: int) -> None:
    full = 0.5 * 2 ** (attempt - 1)
    assert backoff(attempt, 0.5, 0.0) == min(full / 2, MAX_BACKOFF)
    assert backoff(attempt, 0.5, 0.999999) == pytest.approx(min(full, MAX_BACKOFF), rel=1e-5)
    assert backoff(attempt, 0.5, 0.5) == min(0.75 * full, MAX_BACKOFF)


def test_a_503_twice_then_success_waits_the_backoff_each_time() -> None:
    clock = Clock()
    session = make_session(clock=clock, reconnect_delay=1.0, draw=0.0)
    played = play(session, [*error_reply(503), *error_reply(503), *whole(CHAT.body)], clock)
    assert played.error is None and played.response is not None
    assert played.sleeps == [0.5, 1.0]  # base/2 * 2**(n-1) with the lowest draw
    assert [a.status for a in played.response.attempts] == [503, 503, 200]
    assert [a.wait for a in played.response.attempts] == [0.5, 1.0, None]
    assert played.closes == [True, True, True]  # error bodies read whole: pooled


@pytest.mark.parametrize(
    ("header", "slept"),
    [
        ({"retry-after": "2"}, 2.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after": "3600"}, MAX_RETRY_AFTER),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date past: at once
    ],
)
def test_retry_after_is_honoured_and_capped(header: dict[str, str], slept: float) -> None:
    played = play(make_session(), [*error_reply(429, **header), *whole(CHAT.body)])
    assert played.sleeps == [slept] and played.response is not None


def test_the_total_deadline_counts_every_attempt_and_every_wait() -> None:
    clock = Clock()
    session = make_session(clock=clock, total_timeout=5.0, reconnect_delay=1.0, draw=0.0)
    script = [Tick(0.8), *error_reply(503)] * 10
    played = play(session, script, clock)
    # 0.8 s per attempt: waits of 0.5 and 1 s fit; at 3.9 s the next, 2 s, would not.
    assert played.sleeps == [0.5, 1.0] and played.connects == 3
    assert isinstance(played.error, InternalServerError)
    assert clock.now - 1000.0 <= 5.0


def test_a_retry_after_past_the_total_timeout_is_not_waited_for() -> None:
    played = play(make_session(total_timeout=5.0), error_reply(429, **{"retry-after": "30"}))
    assert isinstance(played.error, RateLimitError) and played.error.retry_after == 30
    assert played.sleeps == []


def test_insufficient_quota_is_never_retried() -> None:
    body = json.dumps({"error": {"type": "insufficient_quota", "code": "insufficient_quota"}})
    played = play(make_session(), [status(429), body.encode(), b""])
    assert isinstance(played.error, RateLimitError) and played.connects == 1


def test_a_compressed_error_body_is_decoded_before_it_is_judged() -> None:
    body = gzip.compress(
        json.dumps({"error": {"type": "insufficient_quota", "message": "No credit."}}).encode()
    )
    played = play(make_session(), [status(429, **{"content-encoding": "gzip"}), body, b""])
    assert isinstance(played.error, RateLimitError) and played.connects == 1
    assert played.error.error_type == "insufficient_quota" and "No credit." in str(played.error)


def test_the_switch_and_the_count_of_retries() -> None:
    played = play(make_session(retry_on_connection_error=False), error_reply(503))
    assert isinstance(played.error, InternalServerError) and played.connects == 1
    played = play(make_session(max_reconnect_attempts=2), error_reply(503) * 3)
    assert isinstance(played.error, InternalServerError) and played.connects == 3
    assert [a.error is not None for a in played.error.partial_response.attempts] == [True] * 3


def test_connection_failures_are_retried_and_named_by_origin() -> None:
    refused = APIConnectionError("connection failed: refused")
    played = play(make_session(max_reconnect_attempts=1), [refused, APIConnectionError("again")])
    assert isinstance(played.error, APIConnectionError) and played.connects == 2
    assert "(http://" not in str(played.error)  # no origin: the default base URL is https
    assert str(played.error) == ("openai: again (at https://api.openai.com, after 2 attempts)")


# -- holding events until content, and delivery ---------------------------------------------


def test_preliminaries_are_held_until_content_and_dropped_on_a_retry() -> None:
    start = CHAT_EVENTS[0]  # the role chunk: stream_start, no content
    cut = [SSE, start, b""]  # the body ends before any content
    played = play(make_session(reconnect_delay=0.0), [*cut, *whole(CHAT.body)])
    assert played.response is not None and played.connects == 2
    kinds = [e.type for e in played.delivered]
    assert kinds.count("stream_start") == 1  # the failed attempt's was never handed on
    assert played.text == CHAT.expected["text"]


@pytest.mark.parametrize(("consumer", "connects"), [("events", 1), ("text", 1), ("response", 2)])
def test_no_retry_once_content_reached_a_consumer(consumer: str, connects: int) -> None:
    cut = [SSE, b"".join(CHAT_EVENTS[:4]), b""]  # content, then the body ends
    session = make_session(consumer=consumer, reconnect_delay=0.0)  # type: ignore[arg-type]
    played = play(session, [*cut, *whole(CHAT.body)])
    assert played.connects == connects
    if consumer == "response":
        # Nothing was handed on, so the whole call was tried again; the failed attempt's
        # text is kept on its record.
        assert played.response is not None and played.response.attempts[0].text == "The capital of"
    else:
        assert isinstance(played.error, StreamInterruptedError)
        assert played.text == played.error.partial_response.text == "The capital of"


def test_on_delta_makes_stream_with_usage_live() -> None:
    seen: list[str] = []
    session = make_session(consumer="response", on_delta=seen.append, reconnect_delay=0.0)
    played = play(session, [SSE, b"".join(CHAT_EVENTS[:4]), b"", *whole(CHAT.body)])
    assert isinstance(played.error, StreamInterruptedError) and played.connects == 1
    assert "".join(seen) == "The capital of"


def test_events_before_an_in_band_error_in_the_same_read_are_handed_on() -> None:
    session = make_session(model="claude-sonnet-5", reconnect_delay=0.0)
    played = play(session, [SSE, OVERLOAD.body])  # everything, the error included, at once
    assert isinstance(played.error, OverloadedError) and played.connects == 1
    assert played.text == played.error.partial_response.text
    assert played.text == OVERLOAD.expected["partial_text_before_error"]


def test_a_failure_inside_a_body_never_pools_the_connection() -> None:
    played = play(make_session(max_reconnect_attempts=0), [SSE, b"data: {nope\n\n"])
    assert isinstance(played.error, ProtocolError)
    assert played.closes == [False]
    played = play(make_session(), whole(CHAT.body))
    assert played.closes == [True]  # read to its end


def test_a_flow_can_be_driven_once() -> None:
    session = make_session()
    play(session, whole(CHAT.body))
    with pytest.raises(InvalidStateError, match="already started"):
        session.flow()


# -- deadlines --------------------------------------------------------------------------------


def test_read_timeout_is_silence_between_meaningful_events() -> None:
    clock = Clock()
    session = make_session(clock=clock, read_timeout=10.0, max_reconnect_attempts=0)
    comment = b": keep-alive\n\n"
    script = [SSE, CHAT_EVENTS[0], Tick(4), comment, Tick(4), comment, Tick(4), comment]
    played = play(session, script, clock)
    # Keep-alives came every 4 s, but no event for 12 s: the deadline was never moved.
    assert isinstance(played.error, ReadTimeoutError)
    reads = [c for c in played.commands if isinstance(c, Read) and c.size]
    assert [round(r.timeout, 6) for r in reads] == [10.0, 10.0, 6.0, 2.0]


def test_a_read_the_transport_timed_out_is_a_read_timeout() -> None:
    session = make_session(max_reconnect_attempts=0)
    played = play(session, [SSE, CHAT_EVENTS[0], StreamTimeoutError("timed out")])
    assert isinstance(played.error, ReadTimeoutError)


def test_total_timeout_bounds_the_head_and_every_read() -> None:
    clock = Clock()
    session = make_session(clock=clock, total_timeout=3.0, connection_timeout=30.0)
    played = play(session, [Tick(2), SSE, CHAT_EVENTS[0], Tick(1.5), CHAT_EVENTS[1]], clock)
    assert isinstance(played.error, TotalTimeoutError)
    connect = played.commands[0]
    assert isinstance(connect, Connect) and connect.timeout == 3.0  # not 30: what is left


def test_the_error_body_has_its_own_deadline() -> None:
    clock = Clock()
    session = make_session(clock=clock, connection_timeout=2.0, retry_on_connection_error=False)
    played = play(session, [status(500), b"{", Tick(1.5), b'"e', Tick(1.5), b"rr"], clock)
    assert isinstance(played.error, InternalServerError)
    reads = [c for c in played.commands if isinstance(c, Read)]
    # The third read may wait only what is left of the 2 s; then the body is given up.
    assert [r.timeout for r in reads] == [2.0, 2.0, pytest.approx(0.5)]
    assert played.closes == [False]  # not read to its end


# -- callbacks -------------------------------------------------------------------------------


def test_callbacks_in_order() -> None:
    calls: list[str] = []
    session = make_session(
        on_start=lambda: calls.append("start"),
        on_delta=lambda text: calls.append(f"delta:{text}"),
        on_usage=lambda usage: calls.append("usage"),
        on_complete=lambda text: calls.append(f"complete:{text}"),
        on_error=lambda error: calls.append("error"),
    )
    play(session, whole(CHAT.body))
    text = CHAT.expected["text"]
    assert calls[0] == "start" and calls[-2:] == ["usage", f"complete:{text}"]
    assert "".join(c.removeprefix("delta:") for c in calls[1:-2]) == text


def test_a_failing_callback_ends_the_stream_once_with_on_error() -> None:
    errors: list[BaseException] = []

    def on_delta(text: str) -> None:
        raise ValueError("boom")

    session = make_session(on_delta=on_delta, on_error=errors.append)
    played = play(session, whole(CHAT.body))
    assert isinstance(played.error, CallbackError) and errors == [played.error]
    assert isinstance(played.error.__cause__, ValueError) and played.connects == 1


def test_a_coroutine_callback_is_awaited() -> None:
    seen: list[str] = []

    async def on_complete(text: str) -> None:
        seen.append(text)

    played = play(make_session(on_complete=on_complete), whole(CHAT.body))
    assert seen == [CHAT.expected["text"]] and played.response is not None


def _by_hand(session: Any, script: list[Any], clock: Clock, tick: float) -> None:
    """Drive ``session`` through ``script``, the clock moving ``tick`` at each command (by
    hand: play() reads the response)."""
    answers = iter(script)
    flow = session.flow()
    command = next(flow)
    with pytest.raises(StopIteration):
        while True:
            clock.now += tick
            command = flow.send(next(answers) if isinstance(command, Connect | Read) else None)


@pytest.mark.parametrize("consumer", ["text", "events", "response"])
def test_the_reply_text_is_joined_when_the_response_is_first_read(consumer: Consumer) -> None:
    session = make_session(consumer=consumer)
    _by_hand(session, whole(CHAT.body), Clock(), 0.0)
    text = CHAT.expected["text"]
    if consumer == "response":
        assert session._response is not None and session._response.text == ""  # not joined
    else:  # not even made: see the next test
        assert session._response is None
    response = session.response
    assert response is not None and response.text == text == response.get_text()
    assert session.response is response and response.model_dump()["text"] == text
    assert response.usage["total_tokens"] == CHAT.expected["usage"]["total_tokens"]


@pytest.mark.parametrize("consumer", ["text", "events"])
def test_a_response_the_end_does_not_need_is_finished_when_first_read(
    consumer: Consumer,
) -> None:
    # stream() and stream_events() hand the reply on as it comes: most never read the
    # response. Unless the end of the call needs it, it is made when first read, the
    # same as it would have been made at the end (its times are the end's).
    clock, eager_clock = Clock(), Clock()
    session = make_session(consumer=consumer, clock=clock)
    eager = make_session(consumer=consumer, clock=eager_clock, on_usage=lambda usage: None)
    _by_hand(session, whole(CHAT.body), clock, 0.25)
    _by_hand(eager, whole(CHAT.body), eager_clock, 0.25)
    assert session._response is None and eager._response is not None
    clock.now += 60.0  # read a minute after the end
    response, made = session.response, eager.response
    assert response is not None and made is not None and session.response is response
    assert response.model_dump() == made.model_dump()
    assert response.metrics.duration == made.metrics.duration == 1.0  # the end's, not now
    assert response.attempts[0].duration == made.attempts[0].duration
    assert response.text == CHAT.expected["text"] and response.cost_usd is not None
    assert response.usage["provenance"]["completion_tokens"] == "reported"


@pytest.mark.parametrize(
    ("consumer", "options"),
    [
        ("response", {}),  # stream_with_usage() reads it at once
        ("text", {"on_complete": lambda text: None}),
        ("events", {"on_usage": lambda usage: None}),
    ],
)
def test_a_response_the_end_needs_is_made_at_the_end(
    consumer: Consumer, options: dict[str, Any]
) -> None:
    session = make_session(consumer=consumer, **options)
    _by_hand(session, whole(CHAT.body), Clock(), 0.0)
    assert session._response is not None and session._deferred is None


def test_a_response_whose_usage_must_be_estimated_is_made_at_the_end() -> None:
    # Estimating may wait for a tiktoken encoding to load (off the event loop): that is a
    # step of the flow, never of a property read.
    events = CHAT.body.split(b"\n\n")
    body = b"\n\n".join(e for e in events if b'"usage":{' not in e)  # its usage chunk cut
    session = make_session(consumer="text")
    _by_hand(session, whole(body), Clock(), 0.0)
    assert session._response is not None
    assert session._response.usage["provenance"]["completion_tokens"] != "reported"


def test_a_read_s_events_are_let_go_before_the_next_read_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two reads' events alive at once would cross the garbage collector's threshold on a
    # busy stream: while a read is parsed, the flow keeps none of the last one's events.
    fed: list[list[StreamEvent]] = []
    held: list[int] = []
    feed = StreamParser.feed

    def watched(parser: StreamParser, data: bytes) -> list[StreamEvent]:
        if fed:
            held.append(sum(inspect.isgenerator(r) for r in gc.get_referrers(fed[-1])))
        fed.append(feed(parser, data))
        return fed[-1]

    monkeypatch.setattr(StreamParser, "feed", watched)
    cut = CHAT.body.rindex(b"\n\n", 0, len(CHAT.body) // 2) + 2
    played = play(make_session(consumer="text"), [SSE, CHAT.body[:cut], CHAT.body[cut:], b""])
    assert played.error is None and played.text == CHAT.expected["text"]
    assert len(held) >= 2 and fed[0] and held == [0] * len(held)


def test_on_complete_has_the_whole_text_at_the_end() -> None:
    seen: list[str] = []
    session = make_session(consumer="text", on_complete=seen.append)
    play(session, whole(CHAT.body))
    assert seen == [CHAT.expected["text"]]
    assert session._response is not None and session._response.text == seen[0]


# -- coalescing, completeness, the guard, JSON, compression ---------------------------------------


def test_buffer_size_merges_the_deltas_of_one_read() -> None:
    played = play(make_session(buffer_size=6), whole(CHAT.body))
    deltas = [e.delta or "" for e in played.delivered if e.type == "text_delta"]
    assert "".join(deltas) == CHAT.expected["text"]
    assert all(len(d) <= 6 + 10 for d in deltas) and len(deltas) < 7  # merged, bounded


def test_without_buffer_size_each_delta_stays_itself() -> None:
    played = play(make_session(), [SSE, *CHAT_EVENTS, b""])
    deltas = [e.delta for e in played.delivered if e.type == "text_delta"]
    recorded = [e.delta for e in parse(CHAT)[0] if e.type == "text_delta"]
    assert deltas == recorded


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_completeness_in_every_format(fmt: str) -> None:
    model, api, fixture = FORMATS[fmt]
    played = play(make_session(model=model, openai_api=api), whole(fixture.body))
    assert played.response is not None and played.response.complete
    assert played.response.text == fixture.expected["text"]
    # Without its terminal signal, the same stream is an error, never a quiet success.
    events = fixture_events(fixture.body)
    cut = b"".join(events[: len(events) // 2])
    session = make_session(model=model, openai_api=api, max_reconnect_attempts=0)
    played = play(session, [SSE, cut, b""])
    assert isinstance(played.error, StreamInterruptedError)


def test_the_runaway_guard_stops_a_loop_without_a_retry() -> None:
    unit = "I will repeat. "
    chunks = [
        b"data: "
        + json.dumps({"choices": [{"index": 0, "delta": {"content": unit * 40}}]}).encode()
        + b"\n\n"
        for _ in range(40)
    ]
    played = play(make_session(consumer="response"), [SSE, *chunks, b""])
    assert isinstance(played.error, RunawayOutputError) and played.connects == 1
    assert played.closes == [False]


def test_json_mode_fails_at_the_first_bad_character() -> None:
    text = '{"a": 1, "b": oops}'
    chunks = [
        b"data: "
        + json.dumps({"choices": [{"index": 0, "delta": {"content": c}}]}).encode()
        + b"\n\n"
        for c in (text[:5], text[5:])
    ]
    session = make_session(validate_json_incrementally=True, max_reconnect_attempts=0)
    played = play(session, [SSE, b"".join(chunks)])
    assert isinstance(played.error, JSONModeError) and played.error.position == text.index("oops")
    # The first delta came before the bad one: handed on, so no retry (whatever the reads).
    assert played.text == text[:5]


def test_a_compressed_body_inflates_in_bounded_steps() -> None:
    body = gzip.compress(CHAT.body)
    head = dataclasses.replace(SSE, headers={**SSE.headers, "content-encoding": "gzip"})
    played = play(make_session(), [head, body, b""])
    assert played.response is not None and played.response.text == CHAT.expected["text"]


def test_a_decompression_bomb_is_a_protocol_error_in_small_steps() -> None:
    bomb = gzip.compress(b"data: " + b"0" * (4 * 1024 * 1024), compresslevel=9)
    head = ResponseHead(200, {"content-type": "text/event-stream", "content-encoding": "gzip"}, 2)
    session = make_session(max_event_size=1024 * 1024, max_reconnect_attempts=0)
    played = play(session, [head, bomb, b""])
    assert isinstance(played.error, ProtocolError)
    steps = [c for c in played.commands if isinstance(c, Deliver)]
    assert 60 <= len(steps) <= 70  # 1 MiB in 16 KiB steps, then the cap


def test_too_many_header_fields() -> None:
    head = ResponseHead(200, {"content-type": "text/event-stream"}, 150)
    played = play(make_session(), [head])
    assert isinstance(played.error, ProtocolError) and played.connects == 1
    assert played.closes == [False]


# -- deterministic under any packetization ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(OVERLOAD.body)), max_size=12))
def test_an_overload_after_content_is_never_retried_however_the_bytes_are_cut(
    cuts: list[int],
) -> None:
    session = make_session(model="claude-sonnet-5", reconnect_delay=0.0)
    played = play(
        session, [SSE, *split_at(OVERLOAD.body, cuts), *whole(by_name("anthropic/text").body)]
    )
    assert isinstance(played.error, OverloadedError) and played.connects == 1
    assert played.text == OVERLOAD.expected["partial_text_before_error"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(OVERLOAD.body)), max_size=12))
def test_stream_with_usage_retries_an_overload_anywhere_however_the_bytes_are_cut(
    cuts: list[int],
) -> None:
    clean = by_name("anthropic/text")
    session = make_session(model="claude-sonnet-5", consumer="response", reconnect_delay=0.0)
    played = play(session, [SSE, *split_at(OVERLOAD.body, cuts), *whole(clean.body)])
    assert played.error is None and played.connects == 2
    assert played.response is not None and played.response.text == clean.expected["text"]
    assert played.response.attempts[0].text == OVERLOAD.expected["partial_text_before_error"]


@settings(max_examples=50, deadline=None)
@given(
    st.integers(min_value=0, max_value=len(CHAT.body) - 1),
    st.lists(st.integers(min_value=0, max_value=len(CHAT.body)), max_size=8),
)
def test_where_a_cut_lands_decides_the_retry_not_the_reads(at: int, cuts: list[int]) -> None:
    """A connection that breaks at byte ``at``: retried by stream() exactly when no content
    came before that byte, whatever the reads were."""
    body = CHAT.body[:at]
    session = make_session(reconnect_delay=0.0)
    script = [SSE, *split_at(body, cuts), APIConnectionError("reset"), *whole(CHAT.body)]
    played = play(session, script)
    first_content = CHAT.body.index(b'"content":"The')
    # Content is handed on only once its whole event has arrived.
    content_arrived = CHAT.body.find(b"\n\n", first_content) + 2 <= at
    assert played.connects == (1 if content_arrived else 2)
    if content_arrived:
        assert isinstance(played.error, StreamInterruptedError)
        assert played.text == played.error.partial_response.text
    else:
        assert played.response is not None and played.text == CHAT.expected["text"]
