"""The emulator refuses the bodies the real endpoints refuse, in their words, and accepts
every body this library builds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from steer_common.calls import prepare_session
from steer_emulator.formats import check_request, fields

CHAT = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
RESPONSES = {"model": "gpt-5-mini", "stream": True, "input": "hi"}
MESSAGES = {**CHAT, "model": "claude-sonnet-5", "max_tokens": 100}


def refusal(fmt: str, body: dict[str, Any]) -> Any:
    raw = check_request(fmt, body)
    assert raw is not None, "accepted"
    return json.loads(raw)


@pytest.mark.parametrize(
    ("fmt", "body", "message", "param", "code"),
    [
        (
            "openai",
            {**CHAT, "temprature": 0.5},
            "Unrecognized request argument supplied: temprature",
            "temprature",
            None,
        ),
        (
            "openai",
            {**CHAT, "max_tokens": -5},
            "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got -5 instead.",
            "max_tokens",
            "integer_below_min_value",
        ),
        (
            "openai",
            {**CHAT, "temperature": "warm"},
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
            "temperature",
            "invalid_type",
        ),
        (
            "openai",
            {**CHAT, "temperature": 3},
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
            "temperature",
            "decimal_above_max_value",
        ),
        (
            "openai",
            {**CHAT, "messages": [{"role": "user"}]},
            "Missing required parameter: 'messages[0].content'.",
            "messages[0].content",
            "missing_required_parameter",
        ),
        (
            "openai_responses",
            {**RESPONSES, "temprature": 0.5},
            "Unknown parameter: 'temprature'.",
            "temprature",
            "unknown_parameter",
        ),
        (
            "openai_responses",
            {**RESPONSES, "max_output_tokens": 4},
            "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 4 instead.",
            "max_output_tokens",
            "integer_below_min_value",
        ),
    ],
)
def test_openai_refusals(
    fmt: str, body: dict[str, Any], message: str, param: str, code: str | None
) -> None:
    assert refusal(fmt, body) == {
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "param": param,
            "code": code,
        }
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**MESSAGES, "temprature": 0.5}, "temprature: Extra inputs are not permitted"),
        ({**MESSAGES, "max_tokens": -1}, "max_tokens: Input should be greater than or equal to 1"),
        (
            {k: v for k, v in MESSAGES.items() if k != "max_tokens"},
            "max_tokens: Field required",
        ),
        ({**MESSAGES, "temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
        ({**MESSAGES, "top_k": "ten"}, "top_k: Input should be a valid integer"),
        ({**MESSAGES, "messages": [{"role": "user"}]}, "messages.0.content: Field required"),
        (
            {**MESSAGES, "messages": [{"role": "user", "content": ""}]},
            "messages.0.content: text content blocks must be non-empty",
        ),
        (
            {**MESSAGES, "messages": [{"role": "system", "content": "x"}]},
            "messages.0.role: Input should be 'user' or 'assistant'",
        ),
    ],
)
def test_anthropic_refusals(body: dict[str, Any], message: str) -> None:
    answer = refusal("anthropic", body)
    assert answer["type"] == "error" and answer["error"]["type"] == "invalid_request_error"
    assert answer["error"]["message"].startswith(message)


def test_xai_refuses_in_its_own_shape() -> None:
    assert refusal("xai", {**CHAT, "model": "grok-4", "temprature": 1}) == {
        "code": "Client specified an invalid argument",
        "error": "Unrecognized request argument supplied: temprature",
    }


def test_compatible_servers_take_their_own_fields_but_not_bad_values() -> None:
    assert check_request("openai_compatible", {**CHAT, "top_k": 40, "vendor_knob": 1}) is None
    assert (
        refusal("openai_compatible", {**CHAT, "top_k": "forty"})["error"]["code"] == "invalid_type"
    )


def test_an_assistant_message_with_tool_calls_needs_no_content() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "3"},
    ]
    assert check_request("openai", {**CHAT, "messages": messages}) is None


class City(BaseModel):
    name: str


TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "f",
            "description": "d",
            "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}},
        },
    }
]


@pytest.mark.parametrize(
    ("model", "api"),
    [
        ("gpt-4o-mini", "chat"),
        ("gpt-5-mini", "responses"),
        ("claude-sonnet-5", "chat"),
        ("grok-4-fast", "chat"),
        ("openai_compatible/x", "chat"),
    ],
)
@pytest.mark.parametrize("response_format", [None, {"type": "json_object"}, City])
def test_every_body_this_library_builds_is_accepted(
    model: str, api: str, response_format: Any
) -> None:
    session = prepare_session(
        [
            {"role": "system", "content": "Be brief", "cache_control": {"type": "ephemeral"}},
            {"role": "user", "content": "hi"},
        ],
        model=model,
        api_keys=dict.fromkeys(["openai", "anthropic", "xai", "openai_compatible"], "k"),
        base_urls={"openai_compatible": "http://localhost/v1"},
        openai_api=api,  # type: ignore[arg-type]
        tools=TOOLS,
        temperature=0.5,
        max_tokens=100,
        response_format=response_format,
    )
    assert check_request(session.wire_format, session.request.json()) is None


def test_the_table_is_documented() -> None:
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "testing.md").read_text()
    for fmt, table in fields().items():
        row = next(line for line in page.splitlines() if line.startswith(f"| `{fmt}` |"))
        assert [f.strip(" `") for f in row.split("|")[2].split(",")] == list(table), fmt
