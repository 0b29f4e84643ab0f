"""The delivery stage on its own: events of reads in, what reaches the consumer out."""

from __future__ import annotations

import json

from steer_common import StreamingOptions, StreamParser
from steer_common.delivery import Delivery
from steer_common.errors import JSONModeError, RunawayOutputError
from steer_common.following import JSONFollower
from steer_common.models.events import PING, STREAM_START, TEXT_DELTA, StreamEvent


def chat(*texts: str) -> bytes:
    first = {"id": "c", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    chunks = [first] + [{"choices": [{"index": 0, "delta": {"content": t}}]} for t in texts]
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)


def delivery(
    options: StreamingOptions | None = None, **kwargs: object
) -> tuple[Delivery, StreamParser]:
    parser = StreamParser("openai")
    return Delivery(parser, options or StreamingOptions(), yields=True, **kwargs), parser  # type: ignore[arg-type]


def test_preliminaries_wait_for_content_and_go_out_with_it() -> None:
    stage, parser = delivery()
    start = parser.feed(chat())  # only the role chunk: stream_start
    ping = [StreamEvent(PING), StreamEvent(PING)]
    assert stage.feed(start, 0.0) == ([], None) and stage.feed(ping, 0.0) == ([], None)
    assert not stage.content and not stage.meaningful  # pings move no read deadline
    text = parser.feed(chat("Hi")[len(chat()) :])
    handed, failure = stage.feed(text, 1.0)
    assert failure is None and stage.content and stage.meaningful
    assert [e.type for e in handed] == [STREAM_START, PING, TEXT_DELTA]  # a run of pings: one
    assert stage.close() == []


def test_preliminaries_of_a_reply_with_no_content_go_out_at_the_end() -> None:
    stage, parser = delivery()
    assert stage.feed(parser.feed(chat()), 0.0) == ([], None)
    assert [e.type for e in stage.close()] == [STREAM_START]
    quiet = Delivery(StreamParser("openai"), StreamingOptions(), yields=False)
    quiet.feed(StreamParser("openai").feed(chat()), 0.0)
    assert quiet.close() == []  # stream_with_usage: nobody to hand them to


def test_text_deltas_are_coalesced_up_to_buffer_size() -> None:
    stage, parser = delivery(StreamingOptions(buffer_size=5))
    handed, _ = stage.feed(parser.feed(chat("ab", "cd", "ef", "g")), 0.0)
    assert [e.delta for e in handed if e.type == TEXT_DELTA] == ["abcdef", "g"]


def test_json_mode_stops_at_the_first_bad_character_and_hands_on_what_came_before() -> None:
    parser = StreamParser("openai")
    follower = JSONFollower("openai", validate=True)
    stage = Delivery(parser, StreamingOptions(), yields=True, follower=follower)
    handed, failure = stage.feed(parser.feed(chat('{"a": 1', ", oops")), 0.0)
    assert isinstance(failure, JSONModeError) and failure.position == len('{"a": 1, ')
    assert "".join(e.delta or "" for e in handed if e.type == TEXT_DELTA) == '{"a": 1'


def test_partials_are_handed_on_with_the_json_they_follow() -> None:
    parser = StreamParser("openai")
    follower = JSONFollower("openai", validate=True)
    stage = Delivery(parser, StreamingOptions(), yields=True, follower=follower)
    handed, failure = stage.feed(parser.feed(chat('{"city": "Lis', 'bon"}')), 0.0)
    partials = [e.metadata["value"] for e in handed if e.type == "json_partial"]  # type: ignore[index]
    assert failure is None and partials[-1] == {"city": "Lisbon"}
    assert stage.finish() == ({"city": "Lisbon"}, None)


def test_the_runaway_guard_stops_a_reply_past_its_cap_unless_the_read_failed_already() -> None:
    stage, parser = delivery(StreamingOptions(max_output_chars=10))
    events = parser.feed(chat("0123456789", "abc"))
    _, failure = stage.feed(events, 0.0, failed=True)
    assert failure is None  # the parser's error stands
    stage, parser = delivery(StreamingOptions(max_output_chars=10))
    _, failure = stage.feed(parser.feed(chat("0123456789", "abc")), 0.0)
    assert isinstance(failure, RunawayOutputError) and "10" in str(failure)
