"""One call, and the request each provider documents for it, written out by hand.

The call has a system message (with Anthropic ``cache_control``), a user message, an
assistant message with an OpenAI-style tool call, the tool's result, one function tool,
``temperature``, ``max_tokens`` and a provider extra (``top_p``). The expected bodies
follow each provider's API reference: Chat Completions (``messages``, ``tools[].function``,
``stream_options.include_usage``, ``max_completion_tokens`` for OpenAI), Responses
(``input`` items, ``function_call`` / ``function_call_output``, flat ``tools``,
``max_output_tokens``), Anthropic Messages (top-level ``system`` blocks, ``tool_use`` /
``tool_result`` blocks, ``input_schema``, a required ``max_tokens``).
"""

from __future__ import annotations

from typing import Any

MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse.", "cache_control": {"type": "ephemeral"}},
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "21 C, sunny"},
]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
PARAMETERS = TOOLS[0]["function"]["parameters"]
CALL: dict[str, Any] = {"tools": TOOLS, "temperature": 0.2, "max_tokens": 50, "top_p": 0.9}

CHAT_MESSAGES = [
    {"role": "system", "content": "You are terse."},
    MESSAGES[1],
    MESSAGES[2],
    MESSAGES[3],
]
CHAT_TOOLS = TOOLS

EXPECTED: dict[str, dict[str, Any]] = {
    "openai": {
        "model": "gpt-4o-mini",
        "path": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": CHAT_MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.2,
            "max_completion_tokens": 50,
            "tools": CHAT_TOOLS,
            "top_p": 0.9,
        },
    },
    "xai": {
        "model": "grok-4-fast",
        "path": "/v1/chat/completions",
        "body": {
            "model": "grok-4-fast",
            "messages": CHAT_MESSAGES,
            "stream": True,
            "stream_options": {"include_usage": True},
            "temperature": 0.2,
            "max_tokens": 50,
            "tools": CHAT_TOOLS,
            "top_p": 0.9,
        },
    },
    "openai_responses": {
        "model": "gpt-4o-mini",
        "path": "/v1/responses",
        "body": {
            "model": "gpt-4o-mini",
            "input": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "weather",
                    "arguments": '{"city": "Paris"}',
                },
                {"type": "function_call_output", "call_id": "call_1", "output": "21 C, sunny"},
            ],
            "stream": True,
            "temperature": 0.2,
            "max_output_tokens": 50,
            "tools": [
                {
                    "type": "function",
                    "name": "weather",
                    "description": "Current weather for a city",
                    "parameters": PARAMETERS,
                }
            ],
            "top_p": 0.9,
        },
    },
    "anthropic": {
        "model": "claude-sonnet-4-5",
        "path": "/v1/messages",
        "body": {
            "model": "claude-sonnet-4-5",
            "max_tokens": 50,
            "system": [
                {"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}
            ],
            "messages": [
                {"role": "user", "content": "Weather in Paris?"},
                {
                    "role": "assistant",
                    "content": [
                        {
                            "type": "tool_use",
                            "id": "call_1",
                            "name": "weather",
                            "input": {"city": "Paris"},
                        }
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "call_1", "content": "21 C, sunny"}
                    ],
                },
            ],
            "stream": True,
            "temperature": 0.2,
            "tools": [
                {
                    "name": "weather",
                    "description": "Current weather for a city",
                    "input_schema": PARAMETERS,
                }
            ],
            "top_p": 0.9,
        },
    },
}


def check_headers(wire_format: str, headers: dict[str, str], key: str) -> None:
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower["content-type"] == "application/json"
    assert lower["accept"] == "text/event-stream"
    assert lower["user-agent"].startswith("steer-llm-sdk/")
    if wire_format == "anthropic":
        assert lower["x-api-key"] == key
        assert lower["anthropic-version"] == "2023-06-01"
        assert "authorization" not in lower
    else:
        assert lower["authorization"] == f"Bearer {key}"
