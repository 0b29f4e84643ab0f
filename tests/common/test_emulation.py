"""The emulator's renderers, checked against the parser: render a script, parse it back.

For every wire format and a matrix of scripts, ``StreamParser`` fed the rendered bytes
(whole and one byte at a time) must give back exactly the script: text, reasoning where
the format streams it, tool calls with parsed arguments, finish reason, and usage in each
provider's arithmetic. Injected in-band errors must raise the typed errors, truncation
must raise StreamInterruptedError, and ``reply_for_request`` must derive the documented
replies from request bodies.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pydantic import BaseModel

from steer_common import SSEDecoder, StreamParser, StreamResponse
from steer_common.errors import (
    AuthenticationError,
    InternalServerError,
    OverloadedError,
    RateLimitError,
    SteerError,
    StreamInterruptedError,
)
from steer_common.eventstream import EventStreamDecoder
from steer_common.providers import get_format
from steer_common.providers.anthropic import JSON_OBJECT_INSTRUCTION
from steer_common.providers.base import error_class
from steer_common.sse import ServerSentEvent
from steer_emulator import (
    WIRE_FORMATS,
    ScriptedReply,
    error_body,
    keepalive,
    render,
    reply_for_request,
)
from steer_emulator.dispatch import ReplySource, Step, authorized, schedule, wire_format_for

STREAMS_REASONING = {
    "xai",
    "openai_compatible",
    "openai_responses",
    "anthropic",
    "gemini",
    "gemini_interactions",
    "vertex_ai",
    "azure_responses",
    "bedrock",
    "bedrock_anthropic",
}
TOOL_ID = {
    "openai": r"call_[A-Za-z0-9]{24}",
    "openai_compatible": r"call_[A-Za-z0-9]{24}",
    "xai": r"call_\d{8}",
    "openai_responses": r"call_[A-Za-z0-9]{24}",
    "anthropic": r"toolu_01[A-Za-z0-9]{22}",
    "gemini": r"gemini-call-\d+",  # the API gives none: made up by the adapter
    "vertex_ai": r"gemini-call-\d+",
    "gemini_interactions": r"[a-z0-9]{8}",
    "bedrock": r"tooluse_[A-Za-z0-9]{22}",
    "bedrock_anthropic": r"toolu_01[A-Za-z0-9]{22}",
    "azure": r"call_[A-Za-z0-9]{24}",
    "azure_responses": r"call_[A-Za-z0-9]{24}",
}
RESPONSE_ID = {
    "openai": r"chatcmpl-[A-Za-z0-9]{29}",
    "openai_compatible": r"gen-\d+-[A-Za-z0-9]{20}",
    "xai": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "openai_responses": r"resp_[0-9a-f]{50}",
    "anthropic": r"msg_01[A-Za-z0-9]{22}",
    "gemini": r"[A-Za-z0-9]{23}",
    "vertex_ai": r"[A-Za-z0-9]{23}",
    "gemini_interactions": r"v1_[A-Za-z0-9]{40}",
    "azure": r"chatcmpl-[A-Za-z0-9]{29}",
    "azure_responses": r"resp_[0-9a-f]{50}",
    "bedrock": None,  # ConverseStream names no response (the request id is in a header)
    "bedrock_anthropic": r"msg_01[A-Za-z0-9]{22}",
}

SCRIPTS: dict[str, ScriptedReply] = {
    "text": ScriptedReply(text="Hello there, how are you today?"),
    "unicode-one-char-deltas": ScriptedReply(text="Olá! 40°C \u2019quoted\u2019 🙂", chunk_chars=1),
    "explicit-deltas": ScriptedReply(deltas=["The", " capital", " of", " France", "."]),
    "reasoning-text": ScriptedReply(reasoning="The user greets me; greet back.", text="Hi!"),
    "parallel-tools": ScriptedReply(
        tool_calls=[
            (None, "get_weather", {"city": "Mexico City", "unit": "celsius"}),
            ("call_given_id_0001", "add", {"a": 2, "b": 3}),
        ]
    ),
    "text-then-tool": ScriptedReply(text="Let me check.", tool_calls=[(None, "noargs", {})]),
    "json": ScriptedReply(text=json.dumps({"name": "example", "tags": ["a"], "n": 1})),
    "usage": ScriptedReply(
        reasoning="Thinking hard.",
        text="42",
        prompt_tokens=288,
        cached_tokens=287,
        completion_tokens=340,
        reasoning_tokens=313,
        model="custom-model-1",
    ),
    "length": ScriptedReply(text="cut short", finish_reason="length"),
    "content-filter": ScriptedReply(text="I can't", finish_reason="content_filter"),
    "empty": ScriptedReply(),
}


def parse(fmt: str, pieces: list[bytes]) -> StreamResponse:
    parser = StreamParser(fmt)
    for piece in pieces:
        parser.feed(piece)
    parser.close()
    return parser.response


def parse_error(fmt: str, events: list[bytes]) -> SteerError:
    parser = StreamParser(fmt)
    with pytest.raises(SteerError) as info:
        for event in events:
            parser.feed(event)
        parser.close()
    return info.value


@pytest.mark.parametrize("fmt", WIRE_FORMATS)
@pytest.mark.parametrize("name", SCRIPTS)
def test_rendered_stream_parses_back_to_the_script(fmt: str, name: str) -> None:
    reply = SCRIPTS[name]
    events = render(fmt, reply)
    response = parse(fmt, events)
    body = b"".join(events)
    assert parse(fmt, [body[i : i + 1] for i in range(len(body))]).model_dump() == (
        response.model_dump()
    )

    assert response.complete
    assert response.text == reply.text
    if fmt in STREAMS_REASONING and reply.reasoning:
        assert response.reasoning == reply.reasoning
    else:
        assert response.reasoning is None
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        (c.name, c.arguments) for c in reply.tool_calls
    ]
    for got, want in zip(response.tool_calls, reply.tool_calls, strict=True):
        assert got.id == want.id or re.fullmatch(TOOL_ID[fmt], got.id or "")
    if fmt == "gemini_interactions" and reply.finish == "content_filter":
        # No status of its own is documented: the interaction is ``incomplete``.
        assert (response.finish_reason, response.native_finish_reason) == ("length", "incomplete")
    else:
        assert response.finish_reason == reply.finish
    pattern = RESPONSE_ID[fmt]
    assert (
        response.response_id is None
        if pattern is None
        else re.fullmatch(pattern, response.response_id or "")
    )
    if reply.model is not None and fmt != "bedrock":  # Converse names no model
        assert response.model == reply.model

    prompt, completion, cached, reasoning = reply.usage()
    usage = response.usage
    assert usage is not None
    assert usage["prompt_tokens"] == prompt
    assert usage["completion_tokens"] == completion
    assert usage["total_tokens"] == prompt + completion
    assert usage["cache_info"]["cached_tokens"] == cached
    if fmt != "bedrock":  # Converse counts reasoning inside outputTokens, not apart
        assert usage.get("reasoning_tokens", 0) == reasoning
    check_raw_usage(fmt, usage["raw"], prompt, completion, cached, reasoning)


def check_raw_usage(
    fmt: str, raw: dict[str, Any], prompt: int, completion: int, cached: int, reasoning: int
) -> None:
    """Each provider's own arithmetic (research/wire-formats.md section 6)."""
    if fmt in ("anthropic", "bedrock_anthropic"):  # cache reads outside input_tokens
        assert raw["input_tokens"] == prompt - cached
        assert raw["cache_read_input_tokens"] == cached
        assert raw["output_tokens"] == completion
    elif fmt in ("openai_responses", "azure_responses"):  # reasoning inside output_tokens
        assert (raw["input_tokens"], raw["output_tokens"]) == (prompt, completion)
        assert raw["output_tokens_details"]["reasoning_tokens"] == reasoning
        assert raw["input_tokens_details"]["cached_tokens"] == cached
        assert raw["total_tokens"] == prompt + completion
    elif fmt == "xai":  # reasoning OUTSIDE completion_tokens, but inside the total
        assert raw["completion_tokens"] == completion - reasoning
        assert raw["total_tokens"] == raw["prompt_tokens"] + raw["completion_tokens"] + reasoning
        assert raw["prompt_tokens_details"]["cached_tokens"] == cached
    elif fmt == "bedrock":  # cache reads outside inputTokens, reasoning inside outputTokens
        assert raw["inputTokens"] == prompt - cached
        assert raw.get("cacheReadInputTokens", 0) == cached
        assert (raw["outputTokens"], raw["totalTokens"]) == (completion, prompt + completion)
    elif fmt == "gemini_interactions":  # thoughts outside total_output_tokens
        assert raw["total_input_tokens"] == prompt
        assert raw["total_output_tokens"] == completion - reasoning
        assert raw.get("total_thought_tokens", 0) == reasoning
        assert raw.get("total_cached_tokens", 0) == cached
        assert raw["total_tokens"] == prompt + completion
    elif fmt in ("gemini", "vertex_ai"):  # thoughts outside candidatesTokenCount
        assert raw["promptTokenCount"] == prompt
        assert raw["candidatesTokenCount"] == completion - reasoning
        assert raw.get("thoughtsTokenCount", 0) == reasoning
        assert raw.get("cachedContentTokenCount", 0) == cached
        assert raw["totalTokenCount"] == prompt + completion
    else:  # OpenAI and OpenRouter: reasoning inside completion_tokens
        assert (raw["prompt_tokens"], raw["completion_tokens"]) == (prompt, completion)
        assert raw["completion_tokens_details"]["reasoning_tokens"] == reasoning
        assert raw["total_tokens"] == prompt + completion


@pytest.mark.parametrize("fmt", WIRE_FORMATS)
def test_one_element_is_one_event(fmt: str) -> None:
    events = render(fmt, SCRIPTS["parallel-tools"]) + render(fmt, SCRIPTS["reasoning-text"])
    for element in events:
        if get_format(fmt).framing == "eventstream":
            assert len(EventStreamDecoder().feed(element)) == 1, element
            continue
        decoder = SSEDecoder()
        decoded = decoder.feed(element)
        decoder.close()
        assert len(decoded) == 1, element
        assert element.endswith(b"\r\n\r\n" if fmt in ("gemini", "vertex_ai") else b"\n\n")
        event = decoded[0]
        if isinstance(event, ServerSentEvent) and fmt in ("anthropic", "openai_responses"):
            assert json.loads(event.data)["type"] == event.event  # named events repeat the name


def test_rendering_is_deterministic_and_ids_follow_the_seed() -> None:
    reply = SCRIPTS["parallel-tools"]
    for fmt in WIRE_FORMATS:
        assert render(fmt, reply) == render(fmt, reply)
        assert render(fmt, reply.replace(seed="other")) != render(fmt, reply)


def test_responses_sequence_numbers_are_contiguous() -> None:
    events = render("openai_responses", SCRIPTS["usage"].replace(tool_calls=[("c", "f", {})]))
    numbers = [json.loads(e.split(b"data: ", 1)[1])["sequence_number"] for e in events]
    assert numbers == list(range(len(events)))


def test_anthropic_blocks_are_numbered_in_order_with_a_signature() -> None:
    events = render("anthropic", SCRIPTS["usage"].replace(tool_calls=[(None, "f", {"x": 1})]))
    starts = [json.loads(e.split(b"data: ", 1)[1]) for e in events if b"content_block_start" in e]
    assert [s["index"] for s in starts] == [0, 1, 2]
    assert [s["content_block"]["type"] for s in starts] == ["thinking", "text", "tool_use"]
    parser = StreamParser("anthropic")
    for event in events:
        parser.feed(event)
    parser.close()
    assert parser.response.reasoning_blocks[0]["signature"]


def test_chat_usage_chunk_only_when_asked() -> None:
    for fmt in ("openai", "xai", "openai_compatible"):
        events = render(fmt, ScriptedReply(text="hi", include_usage=False))
        assert parse(fmt, events).usage == {}
        assert events[-1] == b"data: [DONE]\n\n"
        asked = render(fmt, ScriptedReply(text="hi"))
        assert json.loads(asked[-2][6:])["choices"] == []


def test_openai_chat_never_streams_reasoning_text() -> None:
    events = render("openai", SCRIPTS["reasoning-text"])
    assert b"reasoning" not in b"".join(events[:-2])  # only the usage chunk counts it


@pytest.mark.parametrize(
    ("fmt", "error_class_"),
    [
        ("anthropic", OverloadedError),
        ("openai", InternalServerError),
        ("xai", InternalServerError),
        ("openai_compatible", InternalServerError),
        ("openai_responses", InternalServerError),
    ],
)
@pytest.mark.parametrize("after", [None, 0, 7])
def test_in_band_errors_raise_typed_errors_with_the_partial_text(
    fmt: str, error_class_: type[SteerError], after: int | None
) -> None:
    text = "Hello there, how are you?"
    if after is None:
        reply = ScriptedReply(text=text, error_before_content=True, reasoning="hm")
    else:
        reply = ScriptedReply(text=text, error_after_chars=after, tool_calls=[(None, "f", {})])
    error = parse_error(fmt, render(fmt, reply))
    assert type(error) is error_class_
    assert error.partial_response is not None
    assert error.partial_response.text == text[: after or 0]
    assert error.partial_response.tool_calls == []
    assert not error.partial_response.complete


@pytest.mark.parametrize(
    ("fmt", "error_type", "expected"),
    [
        ("anthropic", "rate_limit_error", RateLimitError),
        ("openai", "rate_limit_exceeded", RateLimitError),
        ("openai_responses", "rate_limit_exceeded", RateLimitError),
    ],
)
def test_in_band_error_type_and_message_come_from_the_script(
    fmt: str, error_type: str, expected: type[SteerError]
) -> None:
    reply = ScriptedReply(
        text="abc", error_before_content=True, error_type=error_type, error_message="slow down"
    )
    error = parse_error(fmt, render(fmt, reply))
    assert type(error) is expected
    assert "slow down" in str(error)


@pytest.mark.parametrize("fmt", WIRE_FORMATS)
@pytest.mark.parametrize("after", [0, 3, 10_000])
def test_truncated_streams_raise_stream_interrupted(fmt: str, after: int) -> None:
    reply = SCRIPTS["reasoning-text"].replace(truncate_after_events=after)
    events = render(fmt, reply)
    assert len(events) <= after
    assert len(events) < len(render(fmt, SCRIPTS["reasoning-text"]))
    error = parse_error(fmt, events)
    assert type(error) is StreamInterruptedError


@pytest.mark.parametrize("fmt", WIRE_FORMATS)
def test_keepalives_are_skipped_by_the_parser(fmt: str) -> None:
    events = render(fmt, SCRIPTS["text"])
    padded = [events[0], keepalive(fmt), keepalive(fmt), *events[1:]]
    assert parse(fmt, padded).text == SCRIPTS["text"].text


@pytest.mark.parametrize(
    ("fmt", "status", "expected_type"),
    [
        ("anthropic", 401, "authentication_error"),
        ("anthropic", 429, "rate_limit_error"),
        ("anthropic", 529, "overloaded_error"),
        ("openai", 429, "requests"),
        ("openai", 500, "server_error"),
        ("openai_responses", 401, "invalid_request_error"),
    ],
)
def test_error_bodies_have_the_provider_shape(fmt: str, status: int, expected_type: str) -> None:
    body = json.loads(error_body(fmt, status, "nope"))
    error = body["error"]
    assert error["type"] == expected_type
    assert error["message"] == "nope"
    if fmt == "anthropic":
        assert body["type"] == "error"
        assert body["request_id"].startswith("req_")
    else:
        assert set(error) == {"message", "type", "param", "code"}
    assert json.loads(error_body("xai", 400, "Incorrect API key provided")) == {
        "code": "Client specified an invalid argument",
        "error": "Incorrect API key provided",
    }


@pytest.mark.parametrize("fmt", ["openai", "openai_responses", "anthropic", "xai"])
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, AuthenticationError),
        (429, RateLimitError),
        (500, InternalServerError),
        (529, OverloadedError),
    ],
)
def test_error_bodies_map_to_typed_errors(
    fmt: str, status: int, expected: type[SteerError]
) -> None:
    error = json.loads(error_body(fmt, status))["error"]
    kind = error.get("type") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    assert error_class(status, kind, code) is expected


# -- reply_for_request ---------------------------------------------------------------------


def chat(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": text}],
        "stream": True,
        **extra,
    }


def test_echo_of_the_last_user_message_in_every_format() -> None:
    bodies = {
        "openai": chat("first")
        | {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "first"},
                {"role": "assistant", "content": "ok"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Hello "},
                        {"type": "text", "text": "world"},
                    ],
                },
            ]
        },
        "openai_responses": {"model": "gpt-4o", "input": "Hello world"},
        "anthropic": {
            "model": "claude-x",
            "max_tokens": 100,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello world"}]}],
        },
    }
    for fmt, body in bodies.items():
        reply = reply_for_request(fmt, body)
        assert reply.text == "Echo: Hello world"
        assert reply.model == body["model"]
        assert reply.finish == "stop"
        assert reply == reply_for_request(fmt, body)  # deterministic
        assert reply.prompt_tokens is not None and reply.prompt_tokens >= 3


def test_prompt_tokens_grow_with_the_request() -> None:
    short = reply_for_request("openai", chat("hi"))
    long = reply_for_request("openai", chat("hi " * 400))
    assert short.prompt_tokens is not None and long.prompt_tokens is not None
    assert (short.prompt_tokens, long.prompt_tokens) == (2 // 4 + 1, 1200 // 4 + 1)


def test_directive_configures_the_reply_and_is_not_echoed() -> None:
    directive = {
        "text": "Forced ]] text",
        "reasoning": "r",
        "prompt_tokens": 77,
        "status": 429,
        "fail_times": 2,
    }
    body = chat(f"Say hi [[emulator:{json.dumps(directive)}]] please")
    reply = reply_for_request("openai", body)
    assert (reply.text, reply.reasoning, reply.prompt_tokens) == ("Forced ]] text", "r", 77)
    assert (reply.status, reply.fail_times) == (429, 2)
    echoed = reply_for_request("openai", chat('Say [[emulator:{"chunk_chars": 1}]] hi'))
    assert echoed.text == "Echo: Say  hi"
    assert echoed.chunk_chars == 1


@pytest.mark.parametrize(
    "text",
    [
        "[[emulator:{bad json}]]",
        "[[emulator:[1]]]",
        '[[emulator:{"nope": 1}]]',
        '[[emulator:{"text": "x"}',
        '[[emulator:{"finish_reason": "bogus"}]]',
    ],
)
def test_malformed_directives_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"emulator directive|ScriptedReply"):
        reply_for_request("openai", chat(text))


class City(BaseModel):
    name: str
    population: int


class Answer(BaseModel):
    cities: list[City]
    capital: City | None
    ok: bool
    score: float


@pytest.mark.parametrize("fmt", ["openai", "openai_responses", "anthropic"])
def test_json_schema_requests_get_a_valid_instance(fmt: str) -> None:
    schema = Answer.model_json_schema()
    body: dict[str, Any]
    if fmt == "openai":
        body = chat(
            "list cities",
            response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
        )
    elif fmt in ("openai_responses", "azure_responses"):
        body = {
            "model": "m",
            "input": "list cities",
            "text": {"format": {"type": "json_schema", "name": "a", "schema": schema}},
        }
    else:
        body = {
            "model": "m",
            "messages": [{"role": "user", "content": "list"}],
            "output_config": {"format": {"type": "json_schema", "schema": schema}},
        }
    answer = Answer.model_validate_json(reply_for_request(fmt, body).text)
    assert answer.cities == [City(name="example", population=1)]
    assert answer.ok is True


def test_json_object_requests_get_an_answer_object() -> None:
    reply = reply_for_request("openai", chat("hi", response_format={"type": "json_object"}))
    assert json.loads(reply.text) == {"answer": "Echo: hi"}
    body = {
        "model": "c",
        "system": [{"type": "text", "text": JSON_OBJECT_INSTRUCTION}],
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert json.loads(reply_for_request("anthropic", body).text) == {"answer": "Echo: hi"}


WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city", "days"],
}
ADD = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}


def test_named_tools_are_called_with_arguments_from_the_prompt() -> None:
    prompt = "What is the weather in Paris for 3 days? Use get_weather, then add."
    tools_chat = [
        {"type": "function", "function": {"name": n, "parameters": p}}
        for n, p in (("get_weather", WEATHER), ("add", ADD), ("unused", {}))
    ]
    reply = reply_for_request("openai", chat(prompt, tools=tools_chat))
    assert [(c.name, c.arguments) for c in reply.tool_calls] == [
        ("get_weather", {"city": "Paris", "days": 3}),
        ("add", {"a": 3, "b": 3}),
    ]
    assert reply.finish == "tool_calls"
    tools_responses = [{"type": "function", "name": "get_weather", "parameters": WEATHER}]
    body = {
        "model": "m",
        "input": 'weather for "New York", 5 days via get weather',
        "tools": tools_responses,
    }
    [call] = reply_for_request("openai_responses", body).tool_calls
    assert call.arguments == {"city": "New York", "days": 5}
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "get_weather in Rome"}],
        "tools": [{"name": "get_weather", "input_schema": WEATHER}],
    }
    assert reply_for_request("anthropic", body).tool_calls[0].arguments == {
        "city": "Rome",
        "days": 1,
    }


def test_tool_results_are_quoted_in_the_answer() -> None:
    directive = (
        '[[emulator:{"tool_calls": [{"name": "get_weather", "arguments": {}}], "chunk_chars": 2}]]'
    )
    chat_body = chat("x") | {
        "messages": [
            {"role": "user", "content": "weather? " + directive},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18C and sunny"},
        ]
    }
    reply = reply_for_request("openai", chat_body)
    assert reply.text == "The tool returned: 18C and sunny."
    assert reply.tool_calls == []
    assert reply.chunk_chars == 2  # shaping from the directive still applies
    responses_body = {
        "model": "m",
        "input": [
            {"role": "user", "content": "weather?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": "{}",
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        ],
    }
    assert reply_for_request("openai_responses", responses_body).text == "The tool returned: 18C."
    anthropic_body = {
        "model": "c",
        "messages": [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "18C"}],
                    }
                ],
            },
        ],
    }
    assert reply_for_request("anthropic", anthropic_body).text == "The tool returned: 18C."


def test_after_tool_directive_replaces_the_tool_result_answer() -> None:
    directive = '[[emulator:{"tool_calls": [["f", {}]], "after_tool": {"text": "Done."}}]]'
    first = reply_for_request("openai", chat("go " + directive))
    assert [c.name for c in first.tool_calls] == ["f"]
    body = chat("x") | {
        "messages": [
            {"role": "user", "content": "go " + directive},
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]
    }
    assert reply_for_request("openai", body).text == "Done."


def test_long_output_max_tokens_usage_flag_and_reasoning() -> None:
    reply = reply_for_request("openai", chat("Write 12 words about cats"))
    assert len(reply.text.split()) == 12
    capped = reply_for_request("openai", chat("Write 100 words", max_completion_tokens=5))
    assert (len(capped.text), capped.finish) == (20, "length")
    assert reply.include_usage is False
    assert reply_for_request(
        "openai", chat("hi", stream_options={"include_usage": True})
    ).include_usage
    thinking = {
        "model": "c",
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert reply_for_request("anthropic", thinking).reasoning == "Thinking about: hi"
    assert reply_for_request("xai", chat("hi") | {"model": "grok-3-mini"}).reasoning
    assert not reply_for_request("xai", chat("hi") | {"model": "grok-4"}).reasoning


# -- the server's decisions ------------------------------------------------------------------


def test_routing_and_auth() -> None:
    assert wire_format_for("/v1/chat/completions", "gpt-4o") == "openai"
    assert wire_format_for("/v1/chat/completions", "grok-4") == "xai"
    assert wire_format_for("/xai/v1/chat/completions", "x") == "xai"
    assert wire_format_for("/compat/v1/chat/completions", "x") == "openai_compatible"
    assert wire_format_for("/v1/responses") == "openai_responses"
    assert wire_format_for("/v1/messages/") == "anthropic"
    assert wire_format_for("/v1/embeddings") is None
    assert authorized("openai", {"authorization": "Bearer k"})
    assert not authorized("openai", {"authorization": "Bearer "})
    assert not authorized("openai", {"x-api-key": "k"})
    assert authorized("anthropic", {"x-api-key": "k"})
    assert authorized("openai_compatible", {})


def test_reply_source_fails_then_succeeds_per_conversation() -> None:
    source = ReplySource()
    body = chat('[[emulator:{"status": 429, "fail_times": 2, "text": "ok"}]]')
    outcomes = [source.next("openai", body, now=1)[1] for _ in range(4)]
    assert outcomes == [True, True, False, False]
    assert source.next("openai", body, now=1)[0].status is None  # served clean
    other = chat('other [[emulator:{"status": 503}]]')
    assert source.next("openai", other, now=1)[1] is True
    source.enqueue(ScriptedReply(text="queued", status=500, fail_times=1))
    script, fail = source.next("openai", body, now=1)
    assert (script.text, fail) == ("queued", True)
    script, fail = source.next("openai", body, now=1)
    assert (script.text, fail, script.model) == ("queued", False, "gpt-4o-mini")
    first, _ = source.next("openai", chat("a"), now=5)
    second, _ = source.next("openai", chat("a"), now=5)
    assert first.seed != second.seed  # fresh ids per streamed reply
    assert first.created == 5


@pytest.mark.parametrize(
    "fault",
    [{"error_before_content": True}, {"error_after_chars": 2}, {"truncate_after_events": 1}],
)
def test_stream_faults_are_served_fail_times_then_clean(fault: dict[str, Any]) -> None:
    source = ReplySource()
    body = chat(f"x [[emulator:{json.dumps({**fault, 'fail_times': 2})}]]")
    served = [source.next("openai", body, now=1) for _ in range(3)]
    assert [fail for _, fail in served] == [False, False, False]  # streamed, not HTTP errors
    assert [script.has_fault for script, _ in served] == [True, True, False]
    clean = render("openai", served[-1][0])
    assert parse("openai", clean).text == "Echo: x"
    source.enqueue(ScriptedReply(text="q", **fault))
    assert source.next("openai", body, now=1)[0].has_fault
    script, _ = source.next("openai", body, now=1)
    assert (script.text, script.has_fault) == ("q", False)
    assert source.next("openai", chat("y"), now=1)[0].text == "Echo: y"  # the queue is empty


def test_schedule_interleaves_pauses_and_delays() -> None:
    events = [b"a", b"b", b"c"]
    reply = ScriptedReply(
        pause_after_events=1, pause_seconds=2.0, keepalive_every=0.5, event_delay=0.1
    )
    assert schedule(reply, events) == [
        Step(b"a"),
        Step(None, 2.0, 0.5),
        Step(b"b"),
        Step(None, 0.1),
        Step(b"c"),
    ]
    assert schedule(ScriptedReply(pause_after_events=3, pause_seconds=1), events)[-1] == Step(
        None, 1
    )


def test_script_validation() -> None:
    with pytest.raises(ValueError, match="join"):
        ScriptedReply(text="abc", deltas=["a", "b"])
    with pytest.raises(ValueError, match="reasoning_tokens"):
        ScriptedReply(completion_tokens=1, reasoning_tokens=2)
    with pytest.raises(ValueError, match="unknown"):
        ScriptedReply.from_dict({"txt": "x"})
    reply = ScriptedReply.from_dict({"tool_calls": [["f", {"a": 1}], {"id": "i", "name": "g"}]})
    assert [tuple(c) for c in reply.tool_calls] == [(None, "f", {"a": 1}), ("i", "g", {})]


@pytest.mark.parametrize("queued", [True, False])
def test_an_anthropic_prefill_continues_the_reply_after_a_fault(queued: bool) -> None:
    story = "Once upon a time a parser met a socket."
    source = ReplySource()
    user = {"role": "user", "content": "Tell me a story."}
    if queued:
        source.enqueue(ScriptedReply(text=story, error_after_chars=9))
    else:
        directive = {"text": story, "error_after_chars": 9}
        user = {"role": "user", "content": f"Tell me. [[emulator:{json.dumps(directive)}]]"}
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "messages": [user]}
    first, _ = source.next("anthropic", body, 0)
    assert first.error_after_chars == 9  # the fault, once
    prefill = {"role": "assistant", "content": [{"type": "text", "text": story[:9]}]}
    second, _ = source.next("anthropic", {**body, "messages": [user, prefill]}, 0)
    assert second.text == story[9:] and not second.has_fault
    # Other formats do not continue an assistant message.
    openai, _ = source.next("openai", {**body, "messages": [user, prefill]}, 0)
    assert openai.text != story[9:]


def test_an_anthropic_prefill_ending_in_whitespace_is_rejected_as_the_api_does() -> None:
    user = {"role": "user", "content": "Tell me a story."}
    prefill = {"role": "assistant", "content": "Once upon a time "}
    body: dict[str, Any] = {"model": "claude-sonnet-4-5", "messages": [user, prefill]}
    script, is_status = ReplySource().next("anthropic", body, 0)
    assert is_status and script.status == 400
    assert "trailing whitespace" in (script.error_message or "")
    stripped = {**body, "messages": [user, {"role": "assistant", "content": "Once upon a time"}]}
    assert not ReplySource().next("anthropic", stripped, 0)[1]
