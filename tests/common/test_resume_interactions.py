"""A kept Gemini Interactions stream (background mode) picked up where it broke, decided
without sockets: the flow is answered by hand (``play``), the cuts placed by the test and
by Hypothesis. The cursor is an opaque ``event_id``: whatever the cuts, and whether the
server resumes after the event named, *at* it, or replays from the start, the consumer is
handed every delta once (the sibling of ``test_resume.py``, OpenAI's numbered events)."""

from __future__ import annotations

import json
import re
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
from steer_common.models.events import REASONING_DELTA, TEXT_DELTA, TOOL_CALL_DELTA
from steer_common.models.response import ResumePoint
from steer_common.options import StreamingOptions
from steer_common.session import StreamSession
from steer_emulator import ScriptedReply
from steer_emulator.background import keep_interaction
from steer_emulator.formats import render
from tests.common.play import SSE, Clock, Played, play

MODEL = "gemini_interactions/gemini-2.5-flash"
REPLY = ScriptedReply(
    text="The tide came in at noon, and the harbour filled with little boats. " * 2,
    reasoning="They asked about the tide; a short story will do.",
    tool_calls=[{"id": "fc_1", "name": "log", "arguments": {"note": "tide", "level": 3}}],
    chunk_chars=7,
    seed="resume",
)
INTERACTION_ID, EVENTS, FINAL = keep_interaction(render("gemini_interactions", REPLY))
ARGUMENTS = '{"note":"tide","level":3}'
#: The event id of each event (the last element, ``[DONE]``, has none).
IDS = [
    json.loads(e.decode().split("data: ", 1)[1])["event_id"] if b'"event_id"' in e else None
    for e in EVENTS
]
COMPLETED = len(EVENTS) - 2  # the index of interaction.completed, the terminal signal


def session(
    consumer: Any = "events", point: ResumePoint | None = None, **options: Any
) -> StreamSession:
    options.setdefault("reconnect_delay", 0.0)
    prepared = prepare_session(
        "Tell me about the tide",
        model=MODEL,
        api_keys={"gemini": "g-test"},
        environ={},
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


def served(cuts: list[int], *, mid_event: bool = False, resumes_from: str = "after") -> list[Any]:
    """What a server does for a background interaction cut after each of ``cuts`` events
    (of the whole stream): the head, the events to the cut (half the next one with
    ``mid_event``), the connection lost; then the next connection from where the client
    asks: after the event named (``"after"``, as documented), *at* it (``"at"``), or from
    the start (``"start"``: a server that ignores ``last_event_id``)."""
    script: list[Any] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(EVENTS)]:
        if cut <= start:
            continue
        begin = {"after": start, "at": max(start - 1, 0), "start": 0}[resumes_from]
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


def picked_up_after(played: Played) -> list[str | None]:
    """``last_event_id`` of each request that picked the stream up (in order)."""
    out: list[str | None] = []
    for command in played.commands[1:]:
        if isinstance(command, Connect):
            request = command.request
            assert request.method == "GET"
            url = urlsplit(request.url)
            assert url.path == f"/v1beta/interactions/{INTERACTION_ID}"
            query = parse_qs(url.query)
            assert query["stream"] == ["true"]
            headers = {k.lower(): v for k, v in request.headers.items()}
            assert headers["x-goog-api-key"] == "g-test"
            assert headers["api-revision"] == "2026-05-20"
            out.append(query["last_event_id"][0] if "last_event_id" in query else None)
    return out


def expected_after(cuts: list[int]) -> list[str | None]:
    """The ``last_event_id`` each cut is picked up after: the last event before it (no
    pick-up once the terminal event arrived)."""
    return [IDS[k - 1] for k in sorted(set(cuts)) if k <= COMPLETED]


def assert_whole(played: Played) -> None:
    assert played.error is None, played.error
    assert deltas(played, TEXT_DELTA) == REPLY.text
    assert deltas(played, REASONING_DELTA) == REPLY.reasoning
    assert deltas(played, TOOL_CALL_DELTA) == ARGUMENTS
    response = played.response
    assert response is not None and response.complete
    assert response.text == REPLY.text
    assert response.reasoning == REPLY.reasoning
    assert [(c.id, c.arguments_raw) for c in response.tool_calls] == [("fc_1", ARGUMENTS)]
    assert response.finish_reason == "tool_calls"
    prompt, completion, _, reasoning = REPLY.usage()
    usage = response.usage  # the completed interaction's, counted once
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (prompt, completion)
    assert usage["reasoning_tokens"] == reasoning
    assert usage["provenance"] == {"prompt_tokens": "reported", "completion_tokens": "reported"}
    assert response.resume is None


def test_the_stream_is_whole_without_a_cut() -> None:
    played = play(session(), served([]))
    assert_whole(played)
    assert played.connects == 1


@pytest.mark.parametrize("resumes_from", ["after", "at", "start"])
@pytest.mark.parametrize("mid_event", [False, True], ids=["between-events", "mid-event"])
def test_a_cut_after_every_kth_event_is_picked_up_exactly(
    mid_event: bool, resumes_from: str
) -> None:
    for k in range(1, len(EVENTS)):
        played = play(session(), served([k], mid_event=mid_event, resumes_from=resumes_from))
        assert_whole(played)
        assert picked_up_after(played) == expected_after([k]), k


@settings(max_examples=150, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=len(EVENTS) - 1), max_size=6),
    mid_event=st.booleans(),
    resumes_from=st.sampled_from(["after", "at", "start"]),
    consumer=st.sampled_from(["events", "text", "response"]),
)
def test_any_cuts_hand_on_every_delta_once(
    cuts: list[int], mid_event: bool, resumes_from: str, consumer: str
) -> None:
    played = play(
        session(consumer, max_reconnect_attempts=1),
        served(cuts, mid_event=mid_event, resumes_from=resumes_from),
    )
    if consumer == "response":  # stream_with_usage: nothing handed on before the end
        assert played.delivered == []
        assert played.error is None and played.response is not None
        assert played.response.text == REPLY.text
        return
    assert_whole(played)
    assert picked_up_after(played) == expected_after(cuts)


def test_a_read_timeout_and_a_5xx_on_the_way_back_are_picked_up() -> None:
    script = [
        SSE,
        b"".join(EVENTS[:9]),
        ReadTimeoutError("no event in 600 s"),
        ResponseHead(503, {"content-type": "application/json"}, 1),
        b'{"error": {"code": 503, "message": "try later", "status": "UNAVAILABLE"}}',
        b"",
        SSE,
        b"".join(EVENTS[9:]),
        b"",
    ]
    played = play(session(), script)
    assert_whole(played)
    assert picked_up_after(played) == [IDS[8], IDS[8]]


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
        provider="gemini",
        wire_format="gemini_interactions",
        model="gemini/gemini-2.5-flash",
        response_id=INTERACTION_ID,
        event_id=IDS[9],
    )
    assert partial.resume.sequence_number is None
    assert partial.text == deltas(played, TEXT_DELTA)


def test_an_in_band_error_is_the_provider_s_verdict_not_a_cut() -> None:
    failed = (
        b'event: error\ndata: {"event_type":"error","error":{"code":"INTERNAL",'
        b'"message":"boom"},"event_id":"evt_failed"}\n\n'
    )
    played = play(session(), [SSE, b"".join(EVENTS[:12]) + failed])
    assert isinstance(played.error, InternalServerError)
    assert played.connects == 1
    assert played.error.partial_response is not None
    assert played.error.partial_response.resume is None


def test_a_stream_not_in_background_is_not_picked_up() -> None:
    prepared = prepare_session(
        "hi",
        model=MODEL,
        api_keys={"gemini": "g-test"},
        environ={},
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


def test_a_consumer_that_leaves_early_cancels_the_kept_interaction() -> None:
    kept = session()
    flow = kept.flow()
    command = next(flow)
    assert isinstance(command, Connect)
    flow.send(SSE)
    flow.send(b"".join(EVENTS[:12]))  # the consumer has its first deltas
    flow.close()  # and leaves
    cancel = kept.abandoned()
    assert cancel is not None
    assert (cancel.method, cancel.url) == (
        "POST",
        f"https://generativelanguage.googleapis.com/v1beta/interactions/{INTERACTION_ID}/cancel",
    )
    headers = {k.lower(): v for k, v in cancel.headers.items()}
    assert headers["x-goog-api-key"] == "g-test"
    assert cancel.body == b""


def test_keep_background_leaves_it_running() -> None:
    kept = session(keep_background=True)
    flow = kept.flow()
    next(flow)
    flow.send(SSE)
    flow.send(b"".join(EVENTS[:12]))
    flow.close()
    assert kept.abandoned() is None


@pytest.mark.parametrize("shown", [1, 9, 20, COMPLETED - 1])
def test_picked_up_in_another_process_hands_on_only_what_follows(shown: int) -> None:
    point = ResumePoint(
        provider="gemini",
        wire_format="gemini_interactions",
        model="gemini/gemini-2.5-flash",
        response_id=INTERACTION_ID,
        event_id=IDS[shown],
    )
    played = play(session(point=point), [SSE, b"".join(EVENTS), b""])
    assert played.error is None
    assert picked_up_after(Played(commands=[None, *played.commands])) == [None]  # the start
    seen = StreamParser("gemini_interactions").feed(b"".join(EVENTS[: shown + 1]))
    before = "".join(e.delta or "" for e in seen if e.type == TEXT_DELTA)
    assert deltas(played, TEXT_DELTA) == REPLY.text[len(before) :]
    assert played.response is not None and played.response.complete
    assert played.response.text == REPLY.text
    assert played.response.tool_calls[0].arguments_raw == ARGUMENTS


def test_a_resume_point_round_trips_as_json() -> None:
    point = ResumePoint(
        provider="gemini",
        wire_format="gemini_interactions",
        model="gemini/gemini-2.5-flash",
        response_id=INTERACTION_ID,
        event_id=IDS[3],
    )
    again = ResumePoint.model_validate_json(point.model_dump_json())
    assert again == point and again.cursor == IDS[3]


#: The same stream without event ids (optional in the SDK's types; the guide's examples
#: show none): picked up from the start, the events already handled skipped by count.
BARE = [re.sub(rb',"event_id":"[^"]+"', b"", e) for e in EVENTS]


@pytest.mark.parametrize("mid_event", [False, True], ids=["between-events", "mid-event"])
def test_a_stream_without_event_ids_is_picked_up_from_the_start(mid_event: bool) -> None:
    assert all(b"event_id" not in e for e in BARE)
    for k in range(1, len(BARE)):
        script: list[Any] = [SSE, b"".join(BARE[:k])]
        if mid_event:
            script[-1] += BARE[k][: len(BARE[k]) // 2]
        script += [APIConnectionError("reset"), SSE, b"".join(BARE), b""]
        played = play(session(), script)
        assert_whole(played)
        assert picked_up_after(played) == ([None] if k <= COMPLETED else []), k


def test_a_stream_without_event_ids_resumes_in_another_process_by_count() -> None:
    script = [SSE, b"".join(BARE[:14]), *[APIConnectionError("refused")] * 2]
    played = play(session(max_reconnect_attempts=1), script)
    assert isinstance(played.error, APIConnectionError)
    partial = played.error.partial_response
    assert partial is not None and partial.resume is not None
    assert (partial.resume.event_id, partial.resume.sequence_number) == (None, 14)
    later = play(session(point=partial.resume), [SSE, b"".join(BARE), b""])
    assert later.error is None
    assert partial.text + deltas(later, TEXT_DELTA) == REPLY.text
