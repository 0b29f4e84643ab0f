"""Bedrock, socket-free: the requests as documented (research/wire-formats-more.md
section 3), routing, keys and SigV4 signatures, the adapters' rules beyond the
recordings, and the emulator's renderings parsed back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steer_common import StreamParser
from steer_common.calls import prepare_session
from steer_common.errors import ConfigurationError, MissingAPIKeyError, StreamInterruptedError
from steer_common.eventstream import encode
from steer_emulator import ScriptedReply, render
from steer_emulator.dispatch import authorized, sigv4_shaped

TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
ENV = {"AWS_BEARER_TOKEN_BEDROCK": "bedrock-api-key", "AWS_REGION": "eu-west-1"}
HOST = "https://bedrock-runtime.eu-west-1.amazonaws.com"


def session(model: str, **kwargs: Any) -> Any:
    environ = kwargs.pop("environ", ENV)
    return prepare_session(kwargs.pop("input", "hi"), model=model, environ=environ, **kwargs)


def test_converse_is_the_documented_request() -> None:
    made = session(
        "bedrock/us.amazon.nova-micro-v1:0",
        input=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {
                        "id": "tooluse_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "tooluse_1", "content": "18 C"},
        ],
        tools=[TOOL],
        max_tokens=300,
        temperature=0.2,
    )
    request = made.request
    assert made.wire_format == "bedrock"
    assert request.url == f"{HOST}/model/us.amazon.nova-micro-v1%3A0/converse-stream"
    assert request.headers["authorization"] == "Bearer bedrock-api-key"
    assert request.headers["accept"] == "application/vnd.amazon.eventstream"
    assert request.json() == {
        "messages": [
            {"role": "user", "content": [{"text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": [
                    {
                        "toolUse": {
                            "toolUseId": "tooluse_1",
                            "name": "get_weather",
                            "input": {"city": "Paris"},
                        }
                    }
                ],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "tooluse_1", "content": [{"text": "18 C"}]}}
                ],
            },
        ],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_weather",
                        "inputSchema": {"json": TOOL["function"]["parameters"]},  # type: ignore[index]
                        "description": "The weather in a city",
                    }
                }
            ]
        },
    }


def test_anthropic_models_use_invoke_with_the_messages_body() -> None:
    made = session("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=100)
    request = made.request
    assert made.wire_format == "bedrock_anthropic"
    assert request.url == (
        f"{HOST}/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke-with-response-stream"
    )
    body = request.json()
    assert body == {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_json_modes_are_an_instruction_on_converse() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    body = session(
        "bedrock/amazon.nova-micro-v1:0",
        response_format={"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
    ).request.json()
    (instruction,) = body["system"]
    assert "one JSON object" in instruction["text"] and json.dumps(schema) in instruction["text"]


def test_the_region_and_base_url_come_from_the_environment() -> None:
    environ = {"AWS_BEARER_TOKEN_BEDROCK": "k", "AWS_DEFAULT_REGION": "ap-south-1"}
    url = session("bedrock/amazon.nova-micro-v1:0", environ=environ).request.url
    assert url.startswith("https://bedrock-runtime.ap-south-1.amazonaws.com/model/")
    custom = {
        "AWS_BEARER_TOKEN_BEDROCK": "k",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": "https://vpce.example",
    }
    url = session("bedrock/amazon.nova-micro-v1:0", environ=custom).request.url
    assert url.startswith("https://vpce.example/model/")
    with pytest.raises(ConfigurationError, match="AWS_REGION"):
        session("bedrock/amazon.nova-micro-v1:0", environ={"AWS_BEARER_TOKEN_BEDROCK": "k"})


def test_without_a_key_the_core_alone_names_the_ways() -> None:
    with pytest.raises(MissingAPIKeyError, match="AWS_BEARER_TOKEN_BEDROCK"):
        session("bedrock/amazon.nova-micro-v1:0", environ={"AWS_REGION": "us-east-1"})


def test_sigv4_signs_with_botocore_without_io() -> None:
    from botocore.credentials import Credentials

    from steer_cloud.aws import SigV4

    made = session("bedrock/amazon.nova-micro-v1:0", environ={**ENV, "AWS_REGION": "us-east-1"})
    signer = SigV4("us-east-1", Credentials("AKIDEXAMPLE", "secret", "session-token"))
    headers = signer(made.request)
    value = headers["authorization"]
    assert value.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/us-east-1/bedrock/aws4_request" in value
    assert headers["x-amz-security-token"] == "session-token"
    sent = {**{k.lower(): v for k, v in made.request.headers.items()}, **headers}
    sent["host"] = "bedrock-runtime.us-east-1.amazonaws.com"
    assert sigv4_shaped(value, sent)
    assert authorized("bedrock", sent)
    assert not sigv4_shaped(value.replace("Signature=", "Signature=zz"), sent)
    assert not sigv4_shaped(value, {k: v for k, v in sent.items() if k != "x-amz-date"})


# -- the adapters beyond the recordings ------------------------------------------------------


def message(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return encode(headers, json.dumps({**payload, "p": "abc"}).encode())


def test_cache_reads_and_writes_are_added_into_the_prompt() -> None:
    parser = StreamParser("bedrock")
    body = b"".join(
        [
            message("messageStart", {"role": "assistant"}),
            message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hi"}}),
            message("contentBlockStop", {"contentBlockIndex": 0}),
            message("messageStop", {"stopReason": "end_turn"}),
            message(
                "metadata",
                {
                    "usage": {
                        "inputTokens": 10,
                        "outputTokens": 5,
                        "totalTokens": 1215,
                        "cacheReadInputTokens": 1000,
                        "cacheWriteInputTokens": 200,
                    },
                    "metrics": {"latencyMs": 9},
                },
            ),
        ]
    )
    parser.feed(body)
    parser.close()
    usage = parser.response.usage
    assert usage is not None
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        1210,
        5,
        1215,
    )
    assert usage["cache_info"] == {"cached_tokens": 1000, "cache_creation_tokens": 200}


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "tool_calls"),
        ("max_tokens", "length"),
        ("guardrail_intervened", "content_filter"),
        ("content_filtered", "content_filter"),
    ],
)
def test_stop_reasons_map_and_the_raw_one_stays(stop: str, finish: str) -> None:
    parser = StreamParser("bedrock")
    parser.feed(message("messageStop", {"stopReason": stop}))
    parser.feed(message("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1}}))
    parser.close()
    response = parser.response
    assert response.complete and (response.finish_reason, response.native_finish_reason) == (
        finish,
        stop,
    )


def test_a_stream_cut_before_its_metadata_is_interrupted() -> None:
    # ConverseStream always ends with the metadata event (the usage): a stream cut after
    # messageStop has lost it, and closing it as complete would leave usage None.
    parser = StreamParser("bedrock")
    delta = {"contentBlockIndex": 0, "delta": {"text": "Hello"}}
    parser.feed(message("contentBlockDelta", delta))
    parser.feed(message("messageStop", {"stopReason": "end_turn"}))
    with pytest.raises(StreamInterruptedError, match="before the metadata event") as info:
        parser.close()
    assert info.value.partial_response is not None
    assert info.value.partial_response.text == "Hello"


def test_a_redacted_reasoning_block_is_kept() -> None:
    parser = StreamParser("bedrock")
    delta = {"reasoningContent": {"redactedContent": "ZW5jcnlwdGVk"}}
    parser.feed(message("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}))
    parser.feed(message("messageStop", {"stopReason": "end_turn"}))
    parser.feed(message("metadata", {"usage": {"inputTokens": 3, "outputTokens": 1}}))
    parser.close()
    assert parser.response.reasoning_blocks == [
        {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"}
    ]


def test_a_chunk_whose_bytes_are_not_base64_is_a_protocol_error() -> None:
    from steer_common.errors import ProtocolError

    parser = StreamParser("bedrock_anthropic")
    with pytest.raises(ProtocolError, match="base64"):
        parser.feed(message("chunk", {"bytes": "not base64!"}))


@pytest.mark.parametrize("wire_format", ["bedrock", "bedrock_anthropic"])
def test_the_emulators_rendering_parses_back(wire_format: str) -> None:
    reply = ScriptedReply(
        text="Two lookups.",
        reasoning="Think first.",
        tool_calls=[("call_1", "lookup", {"q": "a"}), (None, "lookup", {"q": "b"})],
        prompt_tokens=120,
        cached_tokens=100,
        completion_tokens=40,
        chunk_chars=3,
    )
    parser = StreamParser(wire_format)
    for element in render(wire_format, reply):
        parser.feed(element)
    parser.close()
    response = parser.response
    assert response.complete and response.finish_reason == "tool_calls"
    assert (response.text, response.reasoning) == ("Two lookups.", "Think first.")
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("lookup", {"q": "a"}),
        ("lookup", {"q": "b"}),
    ]
    assert response.usage != {} and response.usage["prompt_tokens"] == 120
    assert response.usage["cache_info"]["cached_tokens"] == 100


def test_an_agent_steps_reasoning_goes_back_signed_before_its_calls() -> None:
    assistant = {
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "Look it up.", "signature": "EqQBCkgIAx"},
            {"type": "redacted_thinking", "data": "ZW5jcnlwdGVk"},
            {"type": "text", "text": "Checking."},
        ],
        "tool_calls": [
            {"id": "t1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
        ],
    }
    messages = [
        {"role": "user", "content": "Weather?"},
        assistant,
        {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
    ]
    body = session("bedrock/amazon.nova-pro-v1:0", input=messages).request.json()
    assert body["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "Look it up.", "signature": "EqQBCkgIAx"}}},
        {"reasoningContent": {"redactedContent": "ZW5jcnlwdGVk"}},
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}},
    ]
