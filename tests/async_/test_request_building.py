"""What the asyncio client sends, captured with ``httpx.MockTransport``, against each documented shape."""

from __future__ import annotations

import json

import httpx
import pytest

import steer_async
from tests.request_shapes import CALL, EXPECTED, MESSAGES, check_headers

BASE = "https://api.test"
SSE_DONE = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'
ANTHROPIC_DONE = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
RESPONSES_DONE = b'data: {"type":"response.completed","response":{"status":"completed"}}\n\n'


@pytest.mark.parametrize("wire_format", sorted(EXPECTED))
async def test_each_provider_gets_its_documented_request(wire_format: str) -> None:
    expected = EXPECTED[wire_format]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = {"anthropic": ANTHROPIC_DONE, "openai_responses": RESPONSES_DONE}.get(
            wire_format, SSE_DONE
        )
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http_client:
        client = steer_async.SteerLLMClient(
            api_keys={"openai": "k-openai", "anthropic": "k-anthropic", "xai": "k-xai"},
            base_urls={"openai": f"{BASE}/v1", "xai": f"{BASE}/v1", "anthropic": BASE},
            openai_api="responses" if wire_format == "openai_responses" else "chat",
            http_client=http_client,
        )
        response = await client.stream_with_usage(MESSAGES, model=expected["model"], **CALL)
    assert response.complete
    (request,) = seen
    assert request.url == BASE + expected["path"]
    assert json.loads(request.content) == expected["body"]
    provider = "openai" if wire_format == "openai_responses" else wire_format
    check_headers(wire_format, dict(request.headers), f"k-{provider}")
