"""Gemini (the Gemini API and Vertex AI), socket-free: the request as documented
(research/wire-formats-more.md section 1), routing and keys, the adapter's rules beyond
the recordings (a blocked prompt, an in-band error, nested streamed arguments, the finish
reasons), and the emulator's rendering parsed back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steer_common import StreamParser
from steer_common.calls import prepare_session
from steer_common.errors import (
    AuthenticationError,
    ConfigurationError,
    ContentFilterError,
    InternalServerError,
    MissingAPIKeyError,
    OverloadedError,
    RateLimitError,
)
from steer_common.http import ResponseHead, error_from_response
from steer_emulator import ScriptedReply, render

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def session(model: str = "gemini-2.5-flash", **kwargs: Any) -> Any:
    environ = kwargs.pop("environ", {"GEMINI_API_KEY": "AIza-test"})
    return prepare_session(kwargs.pop("input", "hi"), model=model, environ=environ, **kwargs)


def parse(*chunks: dict[str, Any]) -> tuple[Any, Any]:
    parser = StreamParser("gemini")
    body = b"".join(f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks)
    events = parser.feed(body) + parser.close()
    return events, parser.response


# -- the request -----------------------------------------------------------------------------


def test_the_request_is_the_documented_generate_content_call() -> None:
    request = session(
        input=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
        ],
        tools=[TOOL],
        temperature=0.2,
        max_tokens=50,
    ).request
    assert request.url == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash"
        ":streamGenerateContent?alt=sse"
    )
    assert request.headers["x-goog-api-key"] == "AIza-test"
    assert "authorization" not in request.headers
    assert request.json() == {
        "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "tools": [
            {
                "functionDeclarations": [
                    {
                        "name": "get_weather",
                        "description": "The weather in a city",
                        "parametersJsonSchema": TOOL["function"]["parameters"],
                    }
                ]
            }
        ],
        "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50},
    }  # no "stream" field: the endpoint streams


def test_a_tool_round_trip_sends_calls_with_their_signatures_and_results_by_name() -> None:
    messages = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "gemini-call-0",  # made up by the adapter: never sent back
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    "thought_signature": "c2lnbmF0dXJl",
                },
                {
                    "id": "abc123",  # the API's own id goes back
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "gemini-call-0", "content": "sunny"},
        {"role": "tool", "tool_call_id": "abc123", "content": "rainy"},
    ]
    body = session(input=messages, tools=[TOOL]).request.json()
    assert body["contents"][1:] == [
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": "c2lnbmF0dXJl",
                },
                {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}, "id": "abc123"}},
            ],
        },
        {
            "role": "user",
            "parts": [  # parallel results: one user turn
                {"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}},
                {
                    "functionResponse": {
                        "name": "get_weather",
                        "response": {"result": "rainy"},
                        "id": "abc123",
                    }
                },
            ],
        },
    ]


def test_json_mode_and_a_schema_go_in_the_generation_config() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    plain = session(response_format={"type": "json_object"}).request.json()
    assert plain["generationConfig"] == {"responseMimeType": "application/json"}
    typed = session(
        response_format={"type": "json_schema", "json_schema": {"name": "A", "schema": schema}}
    ).request.json()
    assert typed["generationConfig"]["responseMimeType"] == "application/json"
    assert typed["generationConfig"]["responseJsonSchema"]["properties"] == schema["properties"]


def test_a_model_name_is_quoted_into_the_path() -> None:
    request = session("google/tunedModels/my model:1").request
    assert "/models/tunedModels%2Fmy%20model%3A1:streamGenerateContent" in request.url


# -- routing and keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("gemini-2.5-flash", "gemini"),
        ("google/gemini-2.5-pro", "gemini"),
        ("gemini/gemini-3-pro-preview", "gemini"),
        ("vertex_ai/gemini-2.5-flash", "vertex_ai"),
    ],
)
def test_routing(model: str, provider: str) -> None:
    environ = {
        "GOOGLE_API_KEY": "AIza-env",
        "VERTEX_AI_ACCESS_TOKEN": "ya29.env",
        "GOOGLE_CLOUD_PROJECT": "proj",
        "GOOGLE_CLOUD_LOCATION": "europe-west4",
    }
    request = session(model, environ=environ).request
    if provider == "gemini":
        assert request.url.startswith("https://generativelanguage.googleapis.com/v1beta/models/")
        assert request.headers["x-goog-api-key"] == "AIza-env"
    else:
        assert request.url.startswith(
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/"
            "europe-west4/publishers/google/models/gemini-2.5-flash:streamGenerateContent"
        )
        assert request.headers["authorization"] == "Bearer ya29.env"


def test_vertex_needs_a_project_and_names_what_to_set() -> None:
    with pytest.raises(ConfigurationError, match="GOOGLE_CLOUD_PROJECT"):
        session("vertex_ai/gemini-2.5-flash", environ={})


def test_without_a_key_vertex_uses_the_clients_credential_chain_and_the_core_says_so() -> None:
    environ = {"GOOGLE_CLOUD_PROJECT": "proj"}
    # The core has no chain of its own (it does no I/O): a driver of its own must give a
    # key or a token callable.
    with pytest.raises(MissingAPIKeyError, match="token callable"):
        session("vertex_ai/gemini-2.5-flash", environ=environ)
    tokens = iter(["ya29.first", "ya29.second"])
    made = session(
        "vertex_ai/gemini-2.5-flash", environ=environ, api_keys={"vertex_ai": lambda: next(tokens)}
    )
    assert "authorization" not in made.request.headers  # asked for before each attempt


def test_the_gemini_api_needs_a_key() -> None:
    with pytest.raises(MissingAPIKeyError, match="GEMINI_API_KEY"):
        session(environ={})


# -- the adapter: what the recordings do not show --------------------------------------------


def test_a_blocked_prompt_is_a_typed_error_with_the_feedback() -> None:
    feedback = {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "blocked by policy"}
    parser = StreamParser("gemini")
    with pytest.raises(ContentFilterError) as caught:
        parser.feed(f"data: {json.dumps({'promptFeedback': feedback})}\r\n\r\n".encode())
    error = caught.value
    assert error.reason == "PROHIBITED_CONTENT" and error.filter_results == feedback
    assert "blocked by policy" in str(error) and not error.retryable
    assert error.partial_response is not None and not error.partial_response.complete


def test_an_in_band_error_is_typed_and_keeps_the_text_before_it() -> None:
    parser = StreamParser("gemini")
    text = {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hel"}]}}]}
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    body = f"data: {json.dumps(text)}\r\n\r\ndata: {json.dumps(error)}\r\n\r\n".encode()
    with pytest.raises(OverloadedError) as caught:
        parser.feed(body)
    assert caught.value.in_band and caught.value.retryable
    assert caught.value.partial_response is not None
    assert caught.value.partial_response.text == "Hel"


def test_a_stream_without_a_finish_reason_is_incomplete() -> None:
    parser = StreamParser("gemini")
    parser.feed(b'data: {"candidates": [{"content": {"parts": [{"text": "Hi"}]}}]}\r\n\r\n')
    with pytest.raises(Exception, match="before a candidate's finishReason"):
        parser.close()


def test_streamed_vertex_arguments_build_nested_values() -> None:
    def part(call: dict[str, Any]) -> dict[str, Any]:
        return {"candidates": [{"content": {"role": "model", "parts": [{"functionCall": call}]}}]}

    events, response = parse(
        part({"name": "plan", "willContinue": True}),
        part(
            {
                "partialArgs": [
                    {"jsonPath": "$.steps[0].name", "stringValue": "bu", "willContinue": True}
                ],
                "willContinue": True,
            }
        ),
        part(
            {
                "partialArgs": [{"jsonPath": "$.steps[0].name", "stringValue": "y"}],
                "willContinue": True,
            }
        ),
        part(
            {"partialArgs": [{"jsonPath": "$.steps[0].n", "numberValue": 2}], "willContinue": True}
        ),
        part(
            {
                "partialArgs": [{"jsonPath": "$.steps[1].done", "boolValue": True}],
                "willContinue": True,
            }
        ),
        part({"partialArgs": [{"jsonPath": "$.note", "nullValue": None}]}),
        {"candidates": [{"content": {"parts": [{"text": ""}]}, "finishReason": "STOP"}]},
    )
    (call,) = response.tool_calls
    assert call.name == "plan" and call.complete
    assert call.arguments == {"steps": [{"name": "buy", "n": 2}, {"done": True}], "note": None}
    assert [e.type for e in events].count("tool_call_end") == 1
    assert response.finish_reason == "tool_calls"


@pytest.mark.parametrize(
    ("native", "normalized"),
    [
        ("STOP", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
        ("IMAGE_SAFETY", "content_filter"),
        ("LANGUAGE", "content_filter"),
        ("MALFORMED_FUNCTION_CALL", "stop"),
        ("OTHER", "stop"),
    ],
)
def test_finish_reasons(native: str, normalized: str) -> None:
    _, response = parse(
        {"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": native}]}
    )
    assert response.finish_reason == normalized and response.native_finish_reason == native


def test_cached_tokens_are_part_of_the_prompt() -> None:
    usage = {
        "promptTokenCount": 1000,
        "cachedContentTokenCount": 800,
        "candidatesTokenCount": 20,
        "thoughtsTokenCount": 30,
        "totalTokenCount": 1050,
    }
    _, response = parse(
        {
            "candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": "STOP"}],
            "usageMetadata": usage,
        }
    )
    assert response.usage["prompt_tokens"] == 1000
    assert response.usage["completion_tokens"] == 50
    assert response.usage["reasoning_tokens"] == 30
    assert response.usage["cache_info"]["cached_tokens"] == 800
    assert response.usage["total_tokens"] == 1050


# -- HTTP errors in Google's shape -----------------------------------------------------------


def test_google_error_bodies_are_typed() -> None:
    def error(status: int, body: dict[str, Any]) -> Any:
        head = ResponseHead(status, {"content-type": "application/json"})
        return error_from_response("gemini", head, json.dumps(body).encode())

    bad_key = error(
        400,
        {
            "error": {
                "code": 400,
                "message": "API key not valid. Please pass a valid API key.",
                "status": "INVALID_ARGUMENT",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                    }
                ],
            }
        },
    )
    assert isinstance(bad_key, AuthenticationError) and "GEMINI_API_KEY" in str(bad_key)
    limited = error(
        429,
        {
            "error": {
                "code": 429,
                "message": "Resource has been exhausted",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}
                ],
            }
        },
    )
    assert isinstance(limited, RateLimitError) and limited.retry_after == 13.0
    assert isinstance(
        error(500, {"error": {"code": 500, "message": "x", "status": "INTERNAL"}}),
        InternalServerError,
    )


# -- the emulator's rendering, parsed back ----------------------------------------------------


@pytest.mark.parametrize("chunk_chars", [1, 3, 50])
def test_a_rendered_reply_parses_back_to_its_script(chunk_chars: int) -> None:
    script = ScriptedReply(
        text="Two calls.",
        reasoning="Think.",
        tool_calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})],
        prompt_tokens=40,
        cached_tokens=10,
        completion_tokens=30,
        reasoning_tokens=8,
        chunk_chars=chunk_chars,
    )
    body = b"".join(render("gemini", script))
    assert b"\r\n\r\n" in body and b"[DONE]" not in body
    parser = StreamParser("gemini")
    parser.feed(body)
    parser.close()
    response = parser.response
    assert response.text == "Two calls." and response.reasoning == "Think."
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Rome"}),
    ]
    assert response.tool_calls[0].signature and response.tool_calls[1].signature is None
    assert response.finish_reason == "tool_calls"
    usage = response.usage
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        40,
        30,
        70,
    )
    assert usage["reasoning_tokens"] == 8 and usage["cache_info"]["cached_tokens"] == 10


def test_a_rendered_in_band_error_and_truncation() -> None:
    parser = StreamParser("gemini")
    with pytest.raises(InternalServerError) as caught:
        parser.feed(
            b"".join(render("gemini", ScriptedReply(text="Hello world", error_after_chars=5)))
        )
    assert caught.value.partial_response.text == "Hello"
    cut = b"".join(render("gemini", ScriptedReply(text="Hello world", truncate_after_events=1)))
    parser = StreamParser("gemini")
    parser.feed(cut)
    with pytest.raises(Exception, match="finishReason"):
        parser.close()
