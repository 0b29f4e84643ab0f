"""What the blocking client sends, captured with ``responses``, against each documented shape."""

from __future__ import annotations

import json

import pytest
import responses

import steer_sync
from tests.request_shapes import CALL, EXPECTED, MESSAGES, check_headers

BASE = "https://api.test"
SSE_DONE = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
ANTHROPIC_DONE = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


@pytest.mark.parametrize("wire_format", sorted(EXPECTED))
@responses.activate
def test_each_provider_gets_its_documented_request(wire_format: str) -> None:
    expected = EXPECTED[wire_format]
    body = ANTHROPIC_DONE if wire_format == "anthropic" else SSE_DONE
    if wire_format == "openai_responses":
        body = b'data: {"type":"response.completed","response":{"status":"completed"}}\n\n'
    responses.post(BASE + expected["path"], body=body, content_type="text/event-stream")
    client = steer_sync.SteerLLMClient(
        api_keys={"openai": "k-openai", "anthropic": "k-anthropic", "xai": "k-xai"},
        base_urls={"openai": f"{BASE}/v1", "xai": f"{BASE}/v1", "anthropic": BASE},
        openai_api="responses" if wire_format == "openai_responses" else "chat",
    )
    response = client.stream_with_usage(MESSAGES, model=expected["model"], **CALL)
    assert response.complete
    (call,) = responses.calls
    assert json.loads(call.request.body) == expected["body"]
    provider = "openai" if wire_format == "openai_responses" else wire_format
    check_headers(wire_format, dict(call.request.headers), f"k-{provider}")


@responses.activate
def test_compression_is_asked_for_or_refused_as_configured() -> None:
    responses.post(f"{BASE}/v1/chat/completions", body=SSE_DONE, content_type="text/event-stream")
    client = steer_sync.SteerLLMClient(api_keys={"openai": "k"}, base_urls={"openai": f"{BASE}/v1"})
    client.stream_with_usage("hi", model="gpt-4o-mini")
    client.stream_with_usage(
        "hi",
        model="gpt-4o-mini",
        streaming_options=steer_sync.StreamingOptions(enable_compression=False),
    )
    assert responses.calls[0].request.headers["accept-encoding"] == "gzip, deflate"
    assert responses.calls[1].request.headers["accept-encoding"] == "identity"
