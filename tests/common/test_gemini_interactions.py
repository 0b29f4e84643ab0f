"""Gemini's Interactions API (``gemini_interactions``): the events of the documented
examples (https://ai.google.dev/gemini-api/docs/interactions/streaming) normalized as every
format's, the request body, and how a model name picks the format."""

from __future__ import annotations

import json

import pytest

from steer_common import StreamParser
from steer_common.calls import prepare_session
from steer_common.errors import ConfigurationError, InternalServerError, StreamInterruptedError

# The streaming guide's REST example (its elided deltas left out), then its events for a
# thought summary, a function call and an error.
DOCUMENTED = b"""event: interaction.created
data: {"interaction":{"id":"v1_abc","status":"in_progress","object":"interaction","model":"gemini-3.5-flash"},"event_type":"interaction.created"}

event: interaction.status_update
data: {"interaction_id":"v1_abc","status":"in_progress","event_type":"interaction.status_update"}

event: step.start
data: {"index":0,"step":{"type":"thought"},"event_type":"step.start"}

event: step.delta
data: {"index":0,"delta":{"signature":"EpoGCpc","type":"thought_signature"},"event_type":"step.delta"}

event: step.stop
data: {"index":0,"event_type":"step.stop"}

event: step.start
data: {"index":1,"step":{"type":"model_output"},"event_type":"step.start"}

event: step.delta
data: {"index":1,"delta":{"text":"1, 2, 3, 4, 5, 6, ","type":"text"},"event_type":"step.delta"}

event: step.delta
data: {"index":1,"delta":{"text":"7, 8, 9, 10, 11, 12, 13,","type":"text"},"event_type":"step.delta"}

event: step.stop
data: {"index":1,"event_type":"step.stop"}

event: interaction.completed
data: {"interaction":{"id":"v1_abc","status":"completed","usage":{"total_tokens":346,"total_input_tokens":11,"input_tokens_by_modality":[{"modality":"text","tokens":11}],"total_cached_tokens":0,"total_output_tokens":90,"total_tool_use_tokens":0,"total_thought_tokens":245},"service_tier":"standard","object":"interaction","model":"gemini-3.5-flash"},"event_type":"interaction.completed"}

event: done
data: [DONE]

"""
FUNCTION_CALL = b"""event: step.start
data: {"index":0,"step":{"type":"thought","signature":"","summary":[{"text":"**Evaluating**","type":"text"}]},"event_type":"step.start"}

event: step.delta
data: {"index":0,"delta":{"type":"thought_summary","content":{"type":"text","text":" the clues"}},"event_type":"step.delta"}

event: step.delta
data: {"index":0,"delta":{"signature":"CiQBDDnWx","type":"thought_signature"},"event_type":"step.delta"}

event: step.stop
data: {"index":0,"event_type":"step.stop"}

event: step.start
data: {"index":1,"step":{"type":"function_call","id":"un6k8t18","name":"get_weather","arguments":{}},"event_type":"step.start"}

event: step.delta
data: {"index":1,"delta":{"type":"arguments_delta","arguments":"{\\"location\\":"},"event_type":"step.delta"}

event: step.delta
data: {"index":1,"delta":{"type":"arguments_delta","arguments":"\\"San Francisco\\"}"},"event_type":"step.delta"}

event: step.stop
data: {"index":1,"event_type":"step.stop"}

event: interaction.completed
data: {"interaction":{"id":"v1_Umsx","status":"requires_action","usage":{"total_tokens":133,"total_input_tokens":53,"total_output_tokens":15,"total_thought_tokens":65}},"event_type":"interaction.completed"}

"""


def parse(body: bytes, *, bytewise: bool = False) -> StreamParser:
    parser = StreamParser("gemini_interactions")
    for piece in [body[i : i + 1] for i in range(len(body))] if bytewise else [body]:
        parser.feed(piece)
    parser.close()
    return parser


@pytest.mark.parametrize("bytewise", [False, True])
def test_the_documented_stream(bytewise: bool) -> None:
    response = parse(DOCUMENTED, bytewise=bytewise).response
    assert response.complete
    assert response.text == "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,"
    assert (response.response_id, response.model) == ("v1_abc", "gemini-3.5-flash")
    assert (response.finish_reason, response.native_finish_reason) == ("stop", "completed")
    assert response.reasoning_blocks[0]["signature"] == "EpoGCpc"
    usage = response.usage
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        11,
        90 + 245,
        346,
    )
    assert usage["reasoning_tokens"] == 245


def test_a_function_call_and_its_thought() -> None:
    response = parse(FUNCTION_CALL).response
    assert response.reasoning == "**Evaluating** the clues"
    (call,) = response.tool_calls
    assert (call.id, call.name, call.arguments) == (
        "un6k8t18",
        "get_weather",
        {"location": "San Francisco"},
    )
    assert call.signature == "CiQBDDnWx"  # the thought's: it goes back before the call
    assert (response.finish_reason, response.native_finish_reason) == (
        "tool_calls",
        "requires_action",
    )
    assert response.usage["completion_tokens"] == 15 + 65


def test_the_documented_error_event_is_a_retryable_server_error() -> None:
    error = (
        b'event: error\ndata: {"error":{"message":"Deadline expired before operation could '
        b'complete.","code":"gateway_timeout"},"event_type":"error"}\n\n'
    )
    parser = StreamParser("gemini_interactions")
    with pytest.raises(InternalServerError) as caught:
        parser.feed(DOCUMENTED.split(b"event: step.stop")[0] + error)
    assert caught.value.in_band and caught.value.retryable
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.error is not None


@pytest.mark.parametrize(
    ("status", "finish"),
    [("incomplete", "length"), ("budget_exceeded", "length"), ("requires_continuation", "length")],
)
def test_an_interaction_cut_short(status: str, finish: str) -> None:
    body = DOCUMENTED.replace(b'"status":"completed"', f'"status":"{status}"'.encode())
    response = parse(body).response
    assert (response.finish_reason, response.native_finish_reason) == (finish, status)


def test_a_failed_interaction_raises() -> None:
    body = DOCUMENTED.replace(
        b'"status":"completed"',
        b'"status":"failed","errors":[{"code":"internal","message":"it broke"}]',
    )
    with pytest.raises(InternalServerError, match="it broke"):
        parse(body)


def test_a_stream_cut_before_interaction_completed_is_interrupted() -> None:
    with pytest.raises(StreamInterruptedError, match=r"interaction\.completed"):
        parse(DOCUMENTED.split(b"event: interaction.completed")[0])


def body_for(messages: list[dict[str, object]], **kwargs: object) -> dict[str, object]:
    session = prepare_session(
        messages,
        model="gemini_interactions/gemini-2.5-flash",
        api_keys={"gemini": "k"},
        environ={},
        **kwargs,  # type: ignore[arg-type]
    )
    assert session.wire_format == "gemini_interactions"
    assert session.request.url == "https://generativelanguage.googleapis.com/v1beta/interactions"
    return json.loads(session.request.body)  # type: ignore[no-any-return]


def test_the_request_body() -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    body = body_for(
        [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "Checking.",
                "tool_calls": [
                    {
                        "id": "un6k8t18",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        "thought_signature": "CiQB",
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "un6k8t18", "content": "Sunny"},
        ],
        tools=[tool],
        temperature=0.2,
        max_tokens=64,
        response_format={"type": "json_object"},
    )
    assert body == {
        "model": "gemini-2.5-flash",
        "input": [
            {"type": "user_input", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"type": "model_output", "content": [{"type": "text", "text": "Checking."}]},
            {"type": "thought", "signature": "CiQB"},
            {
                "type": "function_call",
                "id": "un6k8t18",
                "name": "get_weather",
                "arguments": {"city": "Paris"},
            },
            {
                "type": "function_result",
                "call_id": "un6k8t18",
                "name": "get_weather",
                "result": "Sunny",
            },
        ],
        "system_instruction": "Be brief.",
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "parameters": tool["function"]["parameters"],  # type: ignore[index]
                "description": "Weather for a city",
            }
        ],
        "generation_config": {"temperature": 0.2, "max_output_tokens": 64},
        "response_format": {"type": "text", "mime_type": "application/json"},
        "stream": True,
    }


def test_parts_are_sent_as_interactions_content_or_refused() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    body = body_for([{"role": "user", "content": [{"type": "text", "text": "What?"}, image]}])
    assert body["input"] == [
        {
            "type": "user_input",
            "content": [
                {"type": "text", "text": "What?"},
                {"type": "image", "data": "iVBORw0KGgo=", "mime_type": "image/png"},
            ],
        }
    ]
    with pytest.raises(ConfigurationError, match="Interactions"):
        body_for(
            [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x/cat.png"}}],
                }
            ]
        )


def test_the_prefix_picks_the_format_and_the_name_keeps_generate_content() -> None:
    plain = prepare_session("hi", model="gemini-2.5-flash", api_keys={"gemini": "k"}, environ={})
    assert plain.wire_format == "gemini"
    kept = prepare_session(
        "hi",
        model="gemini_interactions/gemini-2.5-flash",
        api_keys={"gemini": "k"},
        environ={},
        extras={"background": True},
    )
    headers = {k.lower(): v for k, v in kept.request.headers.items()}
    assert headers["api-revision"] == "2026-05-20"
    assert json.loads(kept.request.body)["background"] is True
