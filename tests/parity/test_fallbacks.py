"""Continuation and fallbacks over loopback on every client (steer_common.survival): a
reply shown in part is continued by prefill and handed on once; a model that fails before
content gives way to the next; what cannot be continued raises with its partial response."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from steer_common.errors import (
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    MissingAPIKeyError,
    OverloadedError,
    StreamInterruptedError,
)
from steer_emulator import ScriptedReply
from steer_emulator.formats import render
from steer_sync.emulator import Emulator
from tests.faultserver import FaultServer, Play, head, http_error
from tests.parity.conftest import emulator_kwargs
from tests.parity.test_agents import AGENT, events_of

STORY = "Once upon a time a parser met a socket, and they streamed happily ever after."
CONTINUE = {"resume": "continue", "max_reconnect_attempts": 0, "reconnect_delay": 0.0}
ONCE = {"max_reconnect_attempts": 0, "reconnect_delay": 0.0}
MODELS = {
    "anthropic": "claude-sonnet-4-5",
    "bedrock_anthropic": "bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0",
}


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def shown(runner: Any, consumer: str, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """The text ``consumer`` was handed, and the response (``None`` for ``stream()``)."""
    if consumer == "text":
        return "".join(runner.text(*args, **kwargs)), None
    if consumer == "events":
        events = runner.events(*args, **kwargs)
        assert [e.type for e in events].count("stream_start") == 1
        return "".join(e.delta for e in events if e.type == "text_delta"), None
    response = runner.response(*args, **kwargs)
    return response.text, response


def prompts(emulator: Emulator) -> list[Any]:
    return [r.body for r in emulator.requests if r.body is not None]


@pytest.mark.parametrize("wire_format", ["anthropic", "bedrock_anthropic"])
@pytest.mark.parametrize("consumer", ["text", "events", "response"])
@pytest.mark.parametrize("cut", [1, 31, 32, len(STORY) - 1])
def test_a_reply_cut_in_text_is_continued_once(
    make_runner: Any, emulator: Emulator, wire_format: str, consumer: str, cut: int
) -> None:
    emulator.reset()
    emulator.enqueue(ScriptedReply(text=STORY, error_after_chars=cut))
    runner = make_runner(**emulator_kwargs(emulator))
    options = {**CONTINUE, "on_delta": lambda delta: None}  # stream_with_usage shows too
    text, response = shown(
        runner, consumer, "Tell me a story.", model=MODELS[wire_format], streaming_options=options
    )
    assert text == STORY
    first, second = prompts(emulator)
    # The text shown goes back as a prefill, without its trailing whitespace.
    assert second["messages"][-1] == {"role": "assistant", "content": STORY[:cut].rstrip()}
    assert second["messages"][:-1] == first["messages"]
    if response is not None:
        assert response.complete and response.text == STORY
        assert [a.error is not None for a in response.attempts] == [True, False]
        usages = [a.usage for a in response.attempts]
        assert all(usages)  # each session's own usage, with its provenance ...
        total = sum(u["completion_tokens"] for u in usages)  # ... added up
        assert response.usage["completion_tokens"] == total
        assert response.cost_usd == pytest.approx(
            sum(s["total_usd"] for s in response.cost_breakdown["sessions"])
        )


def test_a_format_that_answers_an_assistant_message_is_not_continued(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    emulator.enqueue(ScriptedReply(text=STORY, error_after_chars=20))
    runner = make_runner(**emulator_kwargs(emulator))
    chunks: list[str] = []
    with pytest.raises(InternalServerError) as caught:
        for chunk in runner.text(
            "Tell me a story.", model="gpt-4o-mini", streaming_options=CONTINUE
        ):
            chunks.append(chunk)
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.text == STORY[:20]
    assert len(prompts(emulator)) == 1


def test_a_cut_inside_a_tool_call_is_not_continued(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    call = {"id": "toolu_1", "name": "lookup", "arguments": {"query": "tides at noon"}}
    # Text, then the tool call's arguments, cut in the middle (before message_stop).
    emulator.enqueue(
        ScriptedReply(text="Checking.", tool_calls=[call], chunk_chars=3, truncate_after_events=12)
    )
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(StreamInterruptedError) as caught:
        runner.events("Tides?", model="claude-sonnet-4-5", streaming_options=CONTINUE)
    partial = caught.value.partial_response
    assert partial is not None and partial.text == "Checking."
    assert [c.complete for c in partial.tool_calls] == [False]
    assert len(prompts(emulator)) == 1


def test_a_reply_that_reasoned_is_not_continued(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    emulator.enqueue(ScriptedReply(text=STORY, reasoning="A story, then.", error_after_chars=20))
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(OverloadedError):
        runner.text("Tell me a story.", model="claude-sonnet-4-5", streaming_options=CONTINUE)
    assert len(prompts(emulator)) == 1


@pytest.mark.parametrize("consumer", ["text", "events", "response"])
def test_a_provider_that_is_down_gives_way_to_the_next(
    make_runner: Any, emulator: Emulator, consumer: str
) -> None:
    emulator.reset()
    kwargs = emulator_kwargs(emulator)
    kwargs["base_urls"] = {**kwargs["base_urls"], "anthropic": "http://127.0.0.1:9"}  # refused
    runner = make_runner(**kwargs)
    text, response = shown(
        runner,
        consumer,
        "Hello",
        model="claude-sonnet-4-5",
        fallbacks=["gemini-2.5-flash", "gpt-4o-mini"],
        streaming_options={"max_reconnect_attempts": 1, "reconnect_delay": 0.0},
    )
    assert text == "Echo: Hello"
    assert [r.path for r in emulator.requests][-1].endswith("streamGenerateContent")
    if response is not None:
        assert (response.model, response.provider) == ("gemini-2.5-flash", "gemini")
        path = [(a.model, a.provider, a.error is None) for a in response.attempts]
        assert path == [
            ("claude-sonnet-4-5", "anthropic", False),
            ("claude-sonnet-4-5", "anthropic", False),
            ("gemini-2.5-flash", "gemini", True),
        ]


def test_an_overloaded_model_after_content_is_continued_by_the_fallback(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    emulator.enqueue(ScriptedReply(text=STORY, error_after_chars=40))
    runner = make_runner(**emulator_kwargs(emulator))
    text, _ = shown(
        runner,
        "text",
        "Tell me a story.",
        model="claude-sonnet-4-5",
        fallbacks=["claude-haiku-4-5"],
        streaming_options=ONCE,
    )
    assert text == STORY
    assert [b["model"] for b in prompts(emulator)] == ["claude-sonnet-4-5", "claude-haiku-4-5"]


def test_after_content_a_fallback_that_cannot_continue_is_not_asked(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    emulator.enqueue(ScriptedReply(text=STORY, error_after_chars=40))
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(OverloadedError) as caught:
        runner.text(
            "Tell me a story.",
            model="claude-sonnet-4-5",
            fallbacks=["gpt-4o-mini"],
            streaming_options=ONCE,
        )
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.text == STORY[:40]
    assert len(prompts(emulator)) == 1


def test_a_bad_request_does_not_fall_back_unless_asked(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    emulator.enqueue(ScriptedReply(status=400, error_message="messages: bad"))
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(BadRequestError):
        runner.response(
            "Hello", model="claude-sonnet-4-5", fallbacks=["gpt-4o-mini"], streaming_options=ONCE
        )
    assert len(prompts(emulator)) == 1
    emulator.reset()
    emulator.enqueue(ScriptedReply(status=400, error_message="messages: bad"))
    options = {**ONCE, "fallback_on": ("BadRequestError",)}
    response = runner.response(
        "Hello", model="claude-sonnet-4-5", fallbacks=["gpt-4o-mini"], streaming_options=options
    )
    assert response.provider == "openai"


def test_a_fallback_that_cannot_be_called_is_refused_before_anything_is_sent(
    make_runner: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.reset()
    monkeypatch.delenv("XAI_API_KEY", raising=False)
    kwargs = emulator_kwargs(emulator)
    kwargs["api_keys"] = {k: v for k, v in kwargs["api_keys"].items() if k != "xai"}
    runner = make_runner(**kwargs)
    with pytest.raises(MissingAPIKeyError):
        runner.response("Hello", model="gpt-4o-mini", fallbacks=["grok-4"])
    for given in ("grok-4", "", [""]):  # an empty name or string is refused as well
        with pytest.raises(ConfigurationError, match="fallbacks= takes a list"):
            runner.response("Hello", model="gpt-4o-mini", fallbacks=given)
    assert prompts(emulator) == []


def test_batches_fall_back_per_item(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    kwargs = emulator_kwargs(emulator)
    kwargs["base_urls"] = {**kwargs["base_urls"], "anthropic": "http://127.0.0.1:9"}
    runner = make_runner(**kwargs)
    results, _ = runner.batch(
        ["one", "two"], model="claude-sonnet-4-5", fallbacks=["gpt-4o-mini"], streaming_options=ONCE
    )
    assert sorted(r.response.text for r in results) == ["Echo: one", "Echo: two"]
    assert {r.response.provider for r in results} == {"openai"}


def test_every_step_of_an_agent_falls_back(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    kwargs = emulator_kwargs(emulator)
    kwargs["base_urls"] = {**kwargs["base_urls"], "anthropic": "http://127.0.0.1:9"}
    runner = make_runner(**kwargs)
    agent = dataclasses.replace(AGENT, model="claude-sonnet-4-5", fallbacks=["gpt-4o-mini"])
    events, error = events_of(runner, agent, variables={"n": 5}, options=ONCE)
    assert error is None
    assert "120" in "".join(e.delta or "" for e in events if e.type == "delta")
    # Both steps (the tool call, then the answer) were answered by the fallback.
    assert [r.body["model"] for r in emulator.requests] == ["gpt-4o-mini", "gpt-4o-mini"]


def test_outages_scripted_in_the_fault_server_fall_back(
    make_runner: Any, emulator: Emulator
) -> None:
    """Anthropic behind the fault server: a 529, then a reset before any byte; the
    fallback (on the emulator) answers."""
    emulator.reset()
    overloaded = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    with FaultServer() as server:
        server.queue(http_error(529, overloaded), Play([("reset",)]))
        kwargs = emulator_kwargs(emulator)
        kwargs["base_urls"] = {**kwargs["base_urls"], "anthropic": server.base_url}
        runner = make_runner(**kwargs)
        response = runner.response(
            "Hello",
            model="claude-sonnet-4-5",
            fallbacks=["gpt-4o-mini"],
            streaming_options={"max_reconnect_attempts": 1, "reconnect_delay": 0.0},
        )
        assert len(server.requests) == 2
    assert (response.text, response.provider) == ("Echo: Hello", "openai")
    assert [a.status for a in response.attempts] == [529, None, 200]


@pytest.mark.parametrize("consumer", ["text", "events"])
def test_a_reset_after_content_is_continued_by_another_provider(
    make_runner: Any, emulator: Emulator, consumer: str
) -> None:
    """Anthropic (the fault server) resets the connection after part of the story; the
    fallback, Claude on Bedrock (the emulator), continues it by prefill."""
    emulator.reset()
    events = render("anthropic", ScriptedReply(text=STORY, chunk_chars=6))
    with FaultServer() as server:
        server.queue(Play([("send", head()), *[("chunk", e) for e in events[:9]], ("reset",)]))
        emulator.enqueue(ScriptedReply(text=STORY))
        kwargs = emulator_kwargs(emulator)
        kwargs["base_urls"] = {**kwargs["base_urls"], "anthropic": server.base_url}
        runner = make_runner(**kwargs)
        text, _ = shown(
            runner,
            consumer,
            "Tell me a story.",
            model="claude-sonnet-4-5",
            fallbacks=[MODELS["bedrock_anthropic"]],
            streaming_options=ONCE,
        )
    assert text == STORY
    [continued] = prompts(emulator)
    assert continued["messages"][-1]["role"] == "assistant"
    assert STORY.startswith(continued["messages"][-1]["content"])


def test_a_fallback_that_cannot_take_the_call_is_refused_before_anything_is_sent(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    runner = make_runner(**emulator_kwargs(emulator))
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, audio]}]
    with pytest.raises(ConfigurationError, match="audio"):
        runner.response(messages, model="gpt-4o-mini", fallbacks=["grok-4"])
    # Provider extras go as they are: not to a fallback of another format.
    with pytest.raises(ConfigurationError, match="provider extras"):
        runner.response("Hi", model="gpt-4o-mini", fallbacks=["claude-sonnet-4-5"], top_p=0.5)
    assert prompts(emulator) == []


def test_a_reply_in_json_mode_is_not_continued(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    document = '{"story": "Once upon a time a parser met a socket."}'
    emulator.enqueue(ScriptedReply(text=document, error_after_chars=20))
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(OverloadedError) as caught:
        runner.text(
            "A story as JSON.",
            model="claude-sonnet-4-5",
            response_format={"type": "json_object"},
            streaming_options=CONTINUE,
        )
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.text == document[:20]
    assert len(prompts(emulator)) == 1


def test_a_callers_own_prefill_is_continued_with_the_text_shown(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    # The caller prefilled "Once upon a time"; the model continues it, and is cut.
    emulator.enqueue(ScriptedReply(text=STORY, error_after_chars=30))
    runner = make_runner(**emulator_kwargs(emulator))
    messages = [
        {"role": "user", "content": "Tell me a story."},
        {"role": "assistant", "content": "Once upon a time"},
    ]
    text = "".join(runner.text(messages, model="claude-sonnet-4-5", streaming_options=CONTINUE))
    assert "Once upon a time" + text == STORY
    _, second = prompts(emulator)
    assert [m["role"] for m in second["messages"]] == ["user", "assistant"]  # one prefill
    assert STORY.startswith(second["messages"][-1]["content"])
