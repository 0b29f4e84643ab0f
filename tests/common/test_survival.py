"""What follows a session whose attempts are spent (steer_common.survival), decided
without sockets: each row of the rules in the module docstring, and a parser that
continues a reply."""

from __future__ import annotations

import pytest

from steer_common import StreamParser
from steer_common.errors import (
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    InternalServerError,
    JSONModeError,
    OverloadedError,
    RateLimitError,
    ReadTimeoutError,
    StreamInterruptedError,
    TotalTimeoutError,
)
from steer_common.models.response import Attempt, StreamResponse, ToolCall
from steer_common.survival import Sequel, merged, sequel, transient

TEXT = "Once upon a time"


def partial(text: str = TEXT, **fields: object) -> StreamResponse:
    return StreamResponse(text=text, **fields)


def decide(error: Exception, *, shown: bool = True, **given: object) -> Sequel | None:
    arguments: dict[str, object] = {
        "partial": partial(),
        "shown": shown,
        "progressed": shown,
        "resume": "auto",
        "fallbacks": ["claude-haiku-4-5", "gpt-4o-mini"],
        "prefills": lambda model: model != "gpt-4o-mini",
    }
    arguments.update(given)
    return sequel(error, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        APIConnectionError("refused"),
        ReadTimeoutError("silent"),
        StreamInterruptedError("cut"),
        OverloadedError("overloaded", status_code=529),
        InternalServerError("boom", status_code=500),
        RateLimitError("slow down", status_code=429, retryable=True),
        RateLimitError("quota", status_code=429, error_type="insufficient_quota"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_failure_another_provider_may_not_share_falls_back(error: Exception) -> None:
    assert transient(error)  # type: ignore[arg-type]
    assert decide(error, shown=False) == Sequel("claude-haiku-4-5", None)


@pytest.mark.parametrize(
    "error",
    [
        BadRequestError("bad", status_code=400),
        AuthenticationError("no", status_code=401),
        ContentFilterError("refused", status_code=400),
        JSONModeError("not JSON"),
        TotalTimeoutError("spent"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_verdict_on_the_request_does_not(error: Exception) -> None:
    assert decide(error, shown=False) is None
    assert decide(error) is None


def test_unless_the_caller_names_it() -> None:
    error = BadRequestError("bad", status_code=400)
    assert decide(error, shown=False, fallback_on=("BadRequestError",)) == Sequel(
        "claude-haiku-4-5", None
    )


def test_no_fallbacks_no_sequel_before_content() -> None:
    assert decide(APIConnectionError("x"), shown=False, fallbacks=[]) is None


def test_after_content_the_same_model_continues_first_when_asked() -> None:
    cut = StreamInterruptedError("cut")
    assert decide(cut, resume="continue") == Sequel(None, TEXT)
    # Not asked: the fallback continues the text.
    assert decide(cut) == Sequel("claude-haiku-4-5", TEXT)
    # A continuation that brought nothing new moves on.
    assert decide(cut, resume="continue", progressed=False) == Sequel("claude-haiku-4-5", TEXT)


def test_a_fallback_whose_format_answers_instead_of_continuing_is_not_asked() -> None:
    cut = StreamInterruptedError("cut")
    assert decide(cut, fallbacks=["gpt-4o-mini"]) is None
    assert decide(cut, resume="continue", prefills=lambda m: False) is None


def test_a_reply_in_json_or_shown_only_as_whitespace_is_not_continued() -> None:
    cut = StreamInterruptedError("cut")
    assert decide(cut, resume="continue", continuable=False) is None
    assert decide(cut, resume="continue", partial=partial("  \n")) is None


def test_a_cut_in_a_tool_call_or_after_reasoning_is_not_continued() -> None:
    cut = StreamInterruptedError("cut")
    call = ToolCall(id="call_1", name="f", arguments_raw='{"a":', complete=False)
    assert decide(cut, resume="continue", partial=partial(tool_calls=[call])) is None
    assert decide(cut, resume="continue", partial=partial(reasoning="Hmm.")) is None
    assert decide(cut, resume="continue", partial=partial("")) is None


def test_merged_adds_up_usage_and_cost_and_keeps_each_session_s_usage() -> None:
    first = StreamResponse(
        text="Once",
        usage={
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "total_tokens": 12,
            "provenance": {"prompt_tokens": "reported", "completion_tokens": "estimated:tiktoken"},
        },
        cost_usd=0.25,
        attempts=[Attempt(number=1, model="a"), Attempt(number=2, model="a")],
    )
    second = StreamResponse(
        text="Once upon a time",
        usage={
            "prompt_tokens": 12,
            "completion_tokens": 4,
            "total_tokens": 16,
            "provenance": {"prompt_tokens": "reported", "completion_tokens": "reported"},
        },
        cost_usd=0.5,
        model="b",
        attempts=[Attempt(number=1, model="b")],
    )
    whole = merged([first, second])
    assert whole.text == "Once upon a time" and whole.model == "b"
    assert (whole.usage["prompt_tokens"], whole.usage["completion_tokens"]) == (22, 6)
    assert whole.usage["provenance"]["completion_tokens"] == "estimated:tiktoken"
    assert whole.cost_usd == 0.75
    assert [(a.number, a.model) for a in whole.attempts] == [(1, "a"), (2, "a"), (3, "b")]
    assert whole.attempts[1].usage == first.usage and whole.attempts[2].usage == second.usage
    assert whole.attempts[0].usage is None
    assert merged([second]) is second


ANTHROPIC_CONTINUATION = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_2","model":'
    b'"claude-haiku-4-5","role":"assistant","content":[],"usage":{"input_tokens":9,'
    b'"output_tokens":1}}}\n\n'
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":"  "}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    b'"delta":{"type":"text_delta","text":" there was a parser."}}\n\n'
    b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":'
    b'"end_turn"},"usage":{"output_tokens":6}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


@pytest.mark.parametrize(
    ("shown", "handed_on"),
    [
        ("Once upon a time   ", "there was a parser."),  # the spaces were shown: not again
        ("Once upon a time ", "  there was a parser."),  # one was: the other two follow
        ("Once upon a time", "   there was a parser."),  # none was: all of it
        ("Once upon a time\n", "   there was a parser."),  # other whitespace: kept
    ],
)
def test_a_continued_stream_hands_on_only_what_follows(shown: str, handed_on: str) -> None:
    # The model continues "Once upon a time" (the prefill, without trailing whitespace)
    # with "   there was a parser.", in two deltas.
    parser = StreamParser("anthropic")
    parser.continue_after(shown)
    events = []
    for byte in range(len(ANTHROPIC_CONTINUATION)):  # byte by byte: the same
        events += parser.feed(ANTHROPIC_CONTINUATION[byte : byte + 1])
    events += parser.close()
    assert "stream_start" not in [e.type for e in events]
    assert "".join(e.delta or "" for e in events if e.type == "text_delta") == handed_on
    response = parser.response
    assert response.text == shown + handed_on
    assert response.model == "claude-haiku-4-5" and response.complete


def test_merged_usage_adds_up_the_cache_too() -> None:
    cached = {"prompt_tokens": 10, "cache_info": {"cached_tokens": 8, "cache_creation_tokens": 0}}
    wrote = {"prompt_tokens": 12, "cache_info": {"cached_tokens": 0, "cache_creation_tokens": 12}}
    whole = merged([StreamResponse(usage=cached), StreamResponse(usage=wrote)])
    assert whole.usage["cache_info"] == {"cached_tokens": 8, "cache_creation_tokens": 12}
