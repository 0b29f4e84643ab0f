"""Our clients and the official SDKs read the same emulator streams and agree.

For each wire format the emulator is asked (by directive) for a reply with text, parallel
tool calls and exact usage; the official ``openai`` / ``anthropic`` / ``google-genai`` SDK,
``steer_sync`` and
``steer_async`` stream it, and their text, tool calls and usage must be the same.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest

import steer_async
import steer_sync
from steer_common import StreamResponse
from steer_sync.emulator import Emulator

REPLY = {
    "text": "Checking both cities.",
    "tool_calls": [
        {"id": "call_a1", "name": "get_weather", "arguments": {"city": "Paris"}},
        {"id": "call_b2", "name": "get_weather", "arguments": {"city": "Rome", "unit": "C"}},
    ],
    "prompt_tokens": 42,
    "completion_tokens": 17,
    "chunk_chars": 3,
}
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
PROMPT = f"Weather in Paris and Rome? [[emulator:{json.dumps(REPLY)}]]"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(lifetime=120) as server:
        yield server


def ours(emu: Emulator, model: str, openai_api: str, **base_urls: str) -> list[StreamResponse]:
    kwargs: dict[str, Any] = {
        "api_keys": dict.fromkeys(emu.base_urls, "test"),
        "base_urls": {**emu.base_urls, **base_urls},
        "openai_api": openai_api,
    }
    with steer_sync.SteerLLMClient(**kwargs) as client:
        blocking = client.stream_with_usage(PROMPT, model=model, tools=[TOOL])

    async def main() -> StreamResponse:
        async with steer_async.SteerLLMClient(**kwargs) as client:
            return await client.stream_with_usage(PROMPT, model=model, tools=[TOOL])

    return [blocking, asyncio.run(main())]


def summary(text: str, calls: list[tuple[str, str, Any]], prompt: int, completion: int) -> Any:
    return {"text": text, "calls": calls, "prompt": prompt, "completion": completion}


def of_ours(response: StreamResponse) -> Any:
    usage = response.usage or {}
    return summary(
        response.text,
        [(c.id, c.name, c.arguments) for c in response.tool_calls],
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )


def test_openai_chat_completions(emu: Emulator) -> None:
    client = openai.OpenAI(base_url=emu.base_urls["openai"], api_key="test", max_retries=0)
    text, calls, usage = "", {}, None
    for chunk in client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": PROMPT}],
        tools=[TOOL],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or []:
                entry = calls.setdefault(tc.index, ["", "", ""])
                entry[0] = tc.id or entry[0]
                entry[1] = (tc.function and tc.function.name) or entry[1]
                entry[2] += (tc.function and tc.function.arguments) or ""
    client.close()
    assert usage is not None
    official = summary(
        text,
        [(i, n, json.loads(a)) for i, n, a in calls.values()],
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    for response in ours(emu, "gpt-4o-mini", "chat"):
        assert of_ours(response) == official


def test_openai_responses(emu: Emulator) -> None:
    client = openai.OpenAI(base_url=emu.base_urls["openai"], api_key="test", max_retries=0)
    tool = {"type": "function", **TOOL["function"]}  # type: ignore[dict-item]
    final = None
    for event in client.responses.create(
        model="gpt-4o-mini",
        input=PROMPT,
        tools=[tool],
        stream=True,  # type: ignore[list-item]
    ):
        if event.type == "response.completed":
            final = event.response
    client.close()
    assert final is not None and final.usage != {}
    calls = [
        (i.call_id, i.name, json.loads(i.arguments))
        for i in final.output
        if i.type == "function_call"
    ]
    official = summary(
        final.output_text, calls, final.usage.input_tokens, final.usage.output_tokens
    )
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    for response in ours(emu, "gpt-4o-mini", "responses"):
        assert of_ours(response) == official


AZURE_VERSION = "2024-10-21"


def test_azure_openai_chat_completions(emu: Emulator) -> None:
    # The SDK's classic URLs: /openai/deployments/<deployment>/chat/completions?api-version
    client = openai.AzureOpenAI(
        azure_endpoint=f"{emu.url}/azure", api_key="test", api_version=AZURE_VERSION
    )
    text, calls, usage, filters = "", {}, None, []
    for chunk in client.chat.completions.create(
        model="prod-chat",  # the deployment
        messages=[{"role": "user", "content": PROMPT}],
        tools=[TOOL],  # type: ignore[list-item]
        stream=True,
        stream_options={"include_usage": True},
    ):
        extra = chunk.model_extra or {}
        filters += extra.get("prompt_filter_results") or []
        if chunk.usage:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or "" if choice.delta else ""
            for tc in (choice.delta and choice.delta.tool_calls) or []:
                entry = calls.setdefault(tc.index, ["", "", ""])
                entry[0] = tc.id or entry[0]
                entry[1] = (tc.function and tc.function.name) or entry[1]
                entry[2] += (tc.function and tc.function.arguments) or ""
    client.close()
    assert usage is not None and len(filters) == 1
    official = summary(
        text,
        [(i, n, json.loads(a)) for i, n, a in calls.values()],
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    assert emu.requests[-1].path == "/azure/openai/deployments/prod-chat/chat/completions"
    deployment_urls = {"azure": f"{emu.url}/azure/openai?api-version={AZURE_VERSION}"}
    for base_urls in ({}, deployment_urls):  # the v1 API, and the deployment URLs
        for response in ours(emu, "azure/prod-chat", "chat", **base_urls):
            assert of_ours(response) == official
            assert response.provider == "azure"
            assert response.provider_data["prompt_filter_results"] == filters


def test_azure_openai_responses(emu: Emulator) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=f"{emu.url}/azure", api_key="test", api_version="2025-03-01-preview"
    )
    tool = {"type": "function", **TOOL["function"]}  # type: ignore[dict-item]
    final = None
    for event in client.responses.create(
        model="prod-reasoner",
        input=PROMPT,
        tools=[tool],  # type: ignore[list-item]
        stream=True,
    ):
        if event.type == "response.completed":
            final = event.response
    client.close()
    assert final is not None and final.usage != {}
    assert emu.requests[-1].path == "/azure/openai/responses"
    calls = [
        (i.call_id, i.name, json.loads(i.arguments))
        for i in final.output
        if i.type == "function_call"
    ]
    official = summary(
        final.output_text, calls, final.usage.input_tokens, final.usage.output_tokens
    )
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    for response in ours(emu, "azure/prod-reasoner", "responses"):
        assert of_ours(response) == official


def bedrock_client(emu: Emulator) -> Any:
    import boto3

    return boto3.client(
        "bedrock-runtime",
        endpoint_url=emu.base_urls["bedrock"],
        region_name="us-east-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )


def test_boto3_converse_stream(emu: Emulator) -> None:
    client = bedrock_client(emu)
    spec = {
        "name": "get_weather",
        "description": "Weather for a city",
        "inputSchema": {"json": TOOL["function"]["parameters"]},  # type: ignore[index]
    }
    response = client.converse_stream(
        modelId="us.amazon.nova-micro-v1:0",
        messages=[{"role": "user", "content": [{"text": PROMPT}]}],
        toolConfig={"tools": [{"toolSpec": spec}]},
    )
    text, calls, usage, stop = "", {}, None, None
    for event in response["stream"]:
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start["start"]["toolUse"]
            calls[start["contentBlockIndex"]] = [tool["toolUseId"], tool["name"], ""]
        elif "contentBlockDelta" in event:
            delta = event["contentBlockDelta"]["delta"]
            text += delta.get("text", "")
            if "toolUse" in delta:
                calls[event["contentBlockDelta"]["contentBlockIndex"]][2] += delta["toolUse"][
                    "input"
                ]
        elif "messageStop" in event:
            stop = event["messageStop"]["stopReason"]
        elif "metadata" in event:
            usage = event["metadata"]["usage"]
    client.close()
    assert stop == "tool_use" and usage is not None
    request = emu.requests[-1]
    assert request.path == "/bedrock/model/us.amazon.nova-micro-v1%3A0/converse-stream"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    official = summary(
        text,
        [(i, n, json.loads(a)) for i, n, a in calls.values()],
        usage["inputTokens"],
        usage["outputTokens"],
    )
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    for ours_response in ours(emu, "bedrock/us.amazon.nova-micro-v1:0", "chat"):
        assert of_ours(ours_response) == official
        assert ours_response.finish_reason == "tool_calls"


def test_boto3_invoke_model_with_response_stream(emu: Emulator) -> None:
    client = bedrock_client(emu)
    model = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": PROMPT}],
        "tools": [
            {
                "name": "get_weather",
                "description": "Weather for a city",
                "input_schema": TOOL["function"]["parameters"],  # type: ignore[index]
            }
        ],
    }
    response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
    text, calls, prompt, completion, metrics = "", {}, 0, 0, None
    for event in response["body"]:
        decoded = json.loads(event["chunk"]["bytes"])  # botocore undid the base64
        kind = decoded["type"]
        if kind == "message_start":
            prompt = decoded["message"]["usage"]["input_tokens"]
        elif kind == "content_block_start" and decoded["content_block"]["type"] == "tool_use":
            block = decoded["content_block"]
            calls[decoded["index"]] = [block["id"], block["name"], ""]
        elif kind == "content_block_delta":
            delta = decoded["delta"]
            text += delta.get("text", "")
            calls.get(decoded["index"], ["", "", ""])[2] += delta.get("partial_json", "")
        elif kind == "message_delta":
            completion = decoded["usage"]["output_tokens"]
        elif kind == "message_stop":
            metrics = decoded["amazon-bedrock-invocationMetrics"]
    client.close()
    assert metrics is not None and metrics["outputTokenCount"] == completion
    official = summary(
        text, [(i, n, json.loads(a)) for i, n, a in calls.values()], prompt, completion
    )
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    for ours_response in ours(emu, f"bedrock/{model}", "chat"):
        assert of_ours(ours_response) == official
        assert ours_response.provider_data["invocation_metrics"] == metrics


def test_anthropic_messages(emu: Emulator) -> None:
    client = anthropic.Anthropic(base_url=emu.base_urls["anthropic"], api_key="test", max_retries=0)
    tool = {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": TOOL["function"]["parameters"],
    }  # type: ignore[index]
    with client.messages.stream(
        model="claude-sonnet-5",
        max_tokens=100,
        messages=[{"role": "user", "content": PROMPT}],
        tools=[tool],  # type: ignore[list-item]
    ) as stream:
        message = stream.get_final_message()
    client.close()
    text = "".join(b.text for b in message.content if b.type == "text")
    calls = [(b.id, b.name, b.input) for b in message.content if b.type == "tool_use"]
    usage = message.usage
    prompt = (
        usage.input_tokens
        + (usage.cache_read_input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
    )
    official = summary(text, calls, prompt, usage.output_tokens)
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    for response in ours(emu, "claude-sonnet-5", "chat"):
        assert of_ours(response) == official
        assert response.finish_reason == "tool_calls"
        assert response.native_finish_reason == message.stop_reason == "tool_use"


def test_google_genai(emu: Emulator) -> None:
    from google import genai
    from google.genai import types

    client = genai.Client(api_key="test", http_options=types.HttpOptions(base_url=emu.url))
    tool = types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="get_weather",
                description="Weather for a city",
                parameters_json_schema=TOOL["function"]["parameters"],  # type: ignore[index]
            )
        ]
    )
    text, calls, last = "", [], None
    for chunk in client.models.generate_content_stream(
        model="gemini-2.5-flash", contents=PROMPT, config=types.GenerateContentConfig(tools=[tool])
    ):
        last = chunk
        for part in chunk.candidates[0].content.parts or []:  # type: ignore[index,union-attr]
            text += part.text or ""
            if part.function_call is not None:
                call = part.function_call
                calls.append((call.id, call.name, call.args))
    client.close()
    assert last is not None and last.usage_metadata is not None
    usage = last.usage_metadata
    completion = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
    official = summary(text, calls, usage.prompt_token_count, completion)
    assert official["text"] == REPLY["text"] and len(official["calls"]) == 2
    assert last.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    for response in ours(emu, "gemini-2.5-flash", "chat"):
        assert of_ours(response) == official
        assert response.finish_reason == "tool_calls"
