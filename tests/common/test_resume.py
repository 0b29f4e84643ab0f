"""A kept stream (OpenAI Responses in background mode) picked up where it broke, decided
without sockets: the flow is answered by hand (``play``), the cuts placed by the test and
by Hypothesis. Whatever the cuts, the consumer is handed every delta once."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from steer_common import StreamParser
from steer_common.calls import prepare_session
from steer_common.commands import Connect
from steer_common.errors import (
    APIConnectionError,
    InternalServerError,
    ReadTimeoutError,
    StreamInterruptedError,
)
from steer_common.http import ResponseHead
from steer_common.models.events import REASONING_DELTA, TEXT_DELTA, TOOL_CALL_DELTA, StreamEvent
from steer_common.models.response import ResumePoint
from steer_common.options import StreamingOptions
from steer_common.session import StreamSession
from steer_emulator import ScriptedReply
from steer_emulator.background import keep_events
from steer_emulator.formats import render
from tests.common.play import SSE, Clock, Played, Tick, play

REPLY = ScriptedReply(
    text="The tide came in at noon, and the harbour filled with little boats. " * 2,
    reasoning="They asked about the tide; a short story will do.",
    tool_calls=[{"id": "call_1", "name": "log", "arguments": {"note": "tide", "level": 3}}],
    chunk_chars=7,
    seed="resume",
)
RESPONSE_ID, EVENTS, FINAL = keep_events(render("openai_responses", REPLY))
ARGUMENTS = '{"note":"tide","level":3}'


def session(
    consumer: Any = "events", point: ResumePoint | None = None, **options: Any
) -> StreamSession:
    options.setdefault("reconnect_delay", 0.0)
    prepared = prepare_session(
        "Tell me about the tide",
        model="gpt-4o-mini",
        api_keys={"openai": "sk-test"},
        environ={},
        openai_api="responses",
        streaming_options=StreamingOptions(**options),
        extras={"background": True},
    )
    return StreamSession(
        prepared.request,
        wire_format=prepared.wire_format,
        options=prepared.options,
        consumer=consumer,
        model=prepared.model,
        clock=Clock(),
        rand=lambda: 0.5,
        resume=point,
    )


def served(
    cuts: list[int], *, mid_event: bool = False, replay_from_start: bool = False
) -> list[Any]:
    """What a server does for a background stream cut after each of ``cuts`` events (of
    the whole stream): the head, the events to the cut (half the next one with
    ``mid_event``), the connection lost; then the next connection from where the client
    asks (``replay_from_start``: a server that ignores ``starting_after``)."""
    script: list[Any] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(EVENTS)]:
        if cut <= start:
            continue
        begin = 0 if replay_from_start else start
        body = b"".join(EVENTS[begin:cut])
        script.append(SSE)
        if cut == len(EVENTS):
            script += [body, b""]
            break
        if mid_event:
            body += EVENTS[cut][: len(EVENTS[cut]) // 2]
        script += [body, APIConnectionError("connection reset by peer")]
        start = cut
    return script


def deltas(played: Played, kind: str) -> str:
    return "".join(e.delta or "" for e in played.delivered if e.type == kind)


def starting_after(played: Played) -> list[int | None]:
    """``starting_after`` of each request that picked the stream up (in order)."""
    out: list[int | None] = []
    for command in played.commands[1:]:
        if isinstance(command, Connect):
            request = command.request
            assert request.method == "GET"
            assert urlsplit(request.url).path == f"/v1/responses/{RESPONSE_ID}"
            query = parse_qs(urlsplit(request.url).query)
            assert query["stream"] == ["true"]
            out.append(int(query["starting_after"][0]) if "starting_after" in query else None)
    return out


def assert_whole(played: Played) -> None:
    assert played.error is None, played.error
    assert deltas(played, TEXT_DELTA) == REPLY.text
    assert deltas(played, REASONING_DELTA) == REPLY.reasoning
    assert deltas(played, TOOL_CALL_DELTA) == ARGUMENTS
    response = played.response
    assert response is not None and response.complete
    assert response.text == REPLY.text
    assert [c.arguments_raw for c in response.tool_calls] == [ARGUMENTS]
    prompt, completion, _, _ = REPLY.usage()
    usage = response.usage  # the completed response's, counted once
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (prompt, completion)
    assert usage["provenance"] == {"prompt_tokens": "reported", "completion_tokens": "reported"}
    assert response.resume is None


def test_the_stream_is_whole_without_a_cut() -> None:
    played = play(session(), served([]))
    assert_whole(played)
    assert played.connects == 1


@pytest.mark.parametrize("mid_event", [False, True], ids=["between-events", "mid-event"])
def test_a_cut_after_every_kth_event_is_picked_up_exactly(mid_event: bool) -> None:
    for k in range(1, len(EVENTS)):
        played = play(session(), served([k], mid_event=mid_event))
        assert_whole(played)
        assert starting_after(played) == [k - 1], k


@settings(max_examples=150, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=len(EVENTS) - 1), max_size=6),
    mid_event=st.booleans(),
    replay_from_start=st.booleans(),
    consumer=st.sampled_from(["events", "text", "response"]),
)
def test_any_cuts_hand_on_every_delta_once(
    cuts: list[int], mid_event: bool, replay_from_start: bool, consumer: str
) -> None:
    played = play(
        session(consumer, max_reconnect_attempts=1),
        served(cuts, mid_event=mid_event, replay_from_start=replay_from_start),
    )
    if consumer == "response":  # stream_with_usage: nothing handed on before the end
        assert played.delivered == []
        assert played.error is None and played.response is not None
        assert played.response.text == REPLY.text
        return
    assert_whole(played)
    # Each cut is picked up after the last event handled: as many as there were cuts.
    assert starting_after(played) == [k - 1 for k in sorted(set(cuts))]


@pytest.mark.parametrize("consumer", ["events", "text", "response"])
def test_a_body_that_ends_cleanly_before_its_end_is_picked_up(consumer: str) -> None:
    # A proxy that closes the body politely: the parser's close() says it was cut short.
    script = [SSE, b"".join(EVENTS[:15]), b"", SSE, b"".join(EVENTS[15:]), b""]
    played = play(session(consumer), script)
    assert played.error is None and played.response is not None
    assert played.response.text == REPLY.text
    assert starting_after(played) == [14]  # picked up, never a second POST


def test_leaving_after_a_pick_up_cancels_at_the_responses_endpoint() -> None:
    kept = session()
    flow = kept.flow()
    next(flow)
    flow.send(SSE)
    flow.send(b"".join(EVENTS[:10]))
    flow.throw(APIConnectionError("reset"))  # the stream is picked up ...
    flow.send(SSE)
    flow.send(b"".join(EVENTS[10:20]))
    flow.close()  # ... and its consumer leaves
    cancel = kept.abandoned()
    assert cancel is not None
    assert cancel.url == f"https://api.openai.com/v1/responses/{RESPONSE_ID}/cancel"


def test_resume_off_still_cancels_a_kept_response_its_consumer_left() -> None:
    kept = session(resume="off")
    flow = kept.flow()
    next(flow)
    flow.send(SSE)
    flow.send(b"".join(EVENTS[:12]))
    flow.close()
    cancel = kept.abandoned()
    assert cancel is not None and cancel.url.endswith(f"/{RESPONSE_ID}/cancel")


def test_a_stream_without_sequence_numbers_is_not_picked_up_twice_over() -> None:
    # Nothing tells what was handled from the rest: retried as it always was, not resumed.
    bare = [e.replace(b',"sequence_number":', b',"n":') for e in EVENTS]
    played = play(session(), [SSE, b"".join(bare[:12]), APIConnectionError("reset")])
    assert isinstance(played.error, StreamInterruptedError)
    assert played.connects == 1
    assert played.error.partial_response is not None
    assert played.error.partial_response.resume is None


def test_a_read_timeout_and_a_5xx_on_the_way_back_are_picked_up() -> None:
    script = [
        SSE,
        b"".join(EVENTS[:9]),
        ReadTimeoutError("no event in 600 s"),
        ResponseHead(503, {"content-type": "application/json"}, 1),
        b'{"error": {"message": "try later", "type": "server_error"}}',
        b"",
        SSE,
        b"".join(EVENTS[9:]),
        b"",
    ]
    played = play(session(), script)
    assert_whole(played)
    assert starting_after(played) == [8, 8]


def test_retries_are_counted_from_the_last_progress() -> None:
    # One retry allowed, five cuts: each one moved the stream on, so each gets its retry.
    played = play(session(max_reconnect_attempts=1), served([4, 8, 12, 20, 30]))
    assert_whole(played)
    assert played.connects == 6


def test_a_stream_that_cannot_be_picked_up_again_fails_with_its_resume_point() -> None:
    script = [
        SSE,
        b"".join(EVENTS[:10]),
        APIConnectionError("reset"),
        APIConnectionError("refused"),
        APIConnectionError("refused"),
    ]
    played = play(session(max_reconnect_attempts=2), script)
    assert isinstance(played.error, APIConnectionError)
    partial = played.error.partial_response
    assert partial is not None and not partial.complete
    assert partial.resume == ResumePoint(
        provider="openai",
        wire_format="openai_responses",
        model="openai/gpt-4o-mini",
        response_id=RESPONSE_ID,
        sequence_number=9,
    )
    assert partial.text == deltas(played, TEXT_DELTA)


def test_total_timeout_bounds_the_picking_up_too() -> None:
    clock = Clock()
    kept = session(total_timeout=10.0)
    kept._clock = kept._deadlines._clock = clock
    script = [SSE, b"".join(EVENTS[:10]), Tick(11.0), APIConnectionError("reset")]
    played = play(kept, script, clock)
    assert isinstance(played.error, StreamInterruptedError)
    assert played.connects == 1  # no time left to pick it up: the error stands ...
    partial = played.error.partial_response
    assert partial is not None and partial.resume is not None  # ... with where it stood
    assert partial.resume.sequence_number == 9


def test_an_in_band_error_is_the_provider_s_verdict_not_a_cut() -> None:
    failed = (
        b'event: response.failed\ndata: {"type":"response.failed","response":{"id":"'
        + RESPONSE_ID.encode()
        + b'","status":"failed","error":{"code":"server_error","message":"boom"}},'
        b'"sequence_number":12}\n\n'
    )
    played = play(session(), [SSE, b"".join(EVENTS[:12]) + failed])
    assert isinstance(played.error, InternalServerError)
    assert played.connects == 1
    assert played.error.partial_response is not None
    assert played.error.partial_response.resume is None


def test_a_stream_not_in_background_is_not_picked_up() -> None:
    prepared = prepare_session(
        "hi",
        model="gpt-4o-mini",
        api_keys={"openai": "sk-test"},
        environ={},
        openai_api="responses",
        streaming_options=StreamingOptions(reconnect_delay=0.0),
    )
    played = play(prepared, [SSE, b"".join(EVENTS[:12]), APIConnectionError("reset")])
    assert isinstance(played.error, StreamInterruptedError)
    assert played.connects == 1
    assert played.error.partial_response is not None
    assert played.error.partial_response.resume is None
    assert prepared.abandoned() is None


def test_resume_off_turns_it_off() -> None:
    played = play(session(resume="off"), [SSE, b"".join(EVENTS[:12]), APIConnectionError("x")])
    assert isinstance(played.error, StreamInterruptedError)
    assert played.connects == 1


def test_a_consumer_that_leaves_early_cancels_the_kept_response() -> None:
    kept = session()
    flow = kept.flow()
    command = next(flow)
    assert isinstance(command, Connect)
    command = flow.send(SSE)
    command = flow.send(b"".join(EVENTS[:12]))  # the consumer has its first deltas
    flow.close()  # and leaves
    cancel = kept.abandoned()
    assert cancel is not None
    assert (cancel.method, cancel.url) == (
        "POST",
        f"https://api.openai.com/v1/responses/{RESPONSE_ID}/cancel",
    )
    assert {k.lower(): v for k, v in cancel.headers.items()}["authorization"] == "Bearer sk-test"
    assert cancel.body == b""


def test_keep_background_leaves_it_running() -> None:
    kept = session(keep_background=True)
    flow = kept.flow()
    next(flow)
    flow.send(SSE)
    flow.send(b"".join(EVENTS[:12]))
    flow.close()
    assert kept.abandoned() is None


def test_nothing_to_cancel_once_it_ended() -> None:
    kept = session()
    assert_whole(play(kept, served([])))
    assert kept.abandoned() is None


@pytest.mark.parametrize("shown", [1, 9, 20, len(EVENTS) - 2])
def test_picked_up_in_another_process_hands_on_only_what_follows(shown: int) -> None:
    point = ResumePoint(
        provider="openai",
        wire_format="openai_responses",
        model="openai/gpt-4o-mini",
        response_id=RESPONSE_ID,
        sequence_number=shown,
    )
    played = play(session(point=point), [SSE, b"".join(EVENTS), b""])
    assert played.error is None
    assert starting_after(Played(commands=[None, *played.commands])) == [None]  # from the start
    # The events after the one shown are handed on; the response is whole.
    seen = [e for e in _events_of(EVENTS[: shown + 1]) if e.type == TEXT_DELTA]
    assert deltas(played, TEXT_DELTA) == REPLY.text[len("".join(e.delta or "" for e in seen)) :]
    assert played.response is not None and played.response.complete
    assert played.response.text == REPLY.text


def _events_of(events: list[bytes]) -> list[StreamEvent]:
    return StreamParser("openai_responses").feed(b"".join(events))
