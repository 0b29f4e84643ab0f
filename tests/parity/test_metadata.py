"""Response metadata in both clients, every wire format, over loopback: the emulator sends
each provider's headers (rate limits included); the response and the ``stream_start``
event carry them, redacted; the attempts show the retries that happened."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steer_sync.emulator import Emulator
from tests.faultserver import FaultServer, chunked_sse, fixture_events
from tests.parity.conftest import emulator_kwargs, emulator_prompt
from tests.parity.test_clients import KEYS, client_kwargs, fixture
from tests.parity.test_emulated_providers import MODELS

#: The limits the emulator sends, by format (steer_emulator/headers.py).
REQUESTS = {
    "openai": (10000, 9999),
    "openai_responses": (10000, 9999),
    "anthropic": (4000, 3999),
    "azure": (1000, 999),
    "azure_responses": (1000, 999),
}


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_every_stream_carries_its_heads_metadata(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    prompt = emulator_prompt(f"hi {runner.kind}", prompt_tokens=12, completion_tokens=3)
    response = runner.response(prompt, model=model)
    events = runner.events(prompt + " again", model=model)
    assert response.request_id is not None and response.request_id.startswith("req_")
    assert response.headers is not None
    assert response.headers["Content-Type"].startswith(("text/event-stream", "application/"))
    (start,) = [e for e in events if e.type == "stream_start"]
    assert start.metadata is not None and start.metadata["request_id"].startswith("req_")
    assert start.metadata["headers"]["content-type"] == response.headers["content-type"]
    # stream() makes its response, head included, when s.response is first read.
    _, held, error = runner.held(prompt + " held", model=model)
    assert error is None and held.request_id is not None and held.request_id.startswith("req_")
    assert (
        held.headers is not None
        and held.headers["Content-Type"] == response.headers["content-type"]
    )
    assert (held.rate_limit is None) == (response.rate_limit is None)
    if wire_format in REQUESTS:
        limit = response.rate_limit
        assert limit is not None
        assert (limit.requests_limit, limit.requests_remaining) == REQUESTS[wire_format]
        assert limit.tokens_remaining == limit.tokens_limit - 15  # this reply's tokens
        assert start.metadata["rate_limit"].requests_remaining == REQUESTS[wire_format][1]
    else:  # Gemini, Bedrock, xAI, compatible servers: none sent on the stream
        assert response.rate_limit is None
    if wire_format in ("openai", "anthropic", "openai_responses"):
        assert response.service_tier in ("default", "standard", "auto")
    if wire_format == "openai":
        assert response.system_fingerprint is not None
        assert response.system_fingerprint.startswith("fp_")


def test_retries_are_seen_in_the_attempts(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = emulator_prompt(f"retry {runner.kind}", status=503, fail_times=1)
    response = runner.response(prompt, model="gpt-4o-mini")
    first, second = response.attempts
    assert (first.status, second.status) == (503, 200)
    assert first.error is not None and "503" in first.error and first.wait is not None
    assert second.error is None and second.wait is None


def test_credential_headers_are_redacted(make_runner: Any) -> None:
    fx = fixture("openai/chat-text-include-usage")
    with FaultServer() as server:
        key = KEYS["openai"]
        headers = {
            "set-cookie": "__cf_bm=session-cookie; path=/",
            "x-echo": f"you sent {key}",
            "x-ratelimit-remaining-requests": "41",
            "x-request-id": "req_abc",
        }
        server.handler = lambda request: chunked_sse(fixture_events(fx.body), headers=headers)
        response = make_runner(**client_kwargs(server)).response("hi", model="gpt-4o-mini")
    assert response.request_id == "req_abc"
    assert response.headers["set-cookie"] == "[REDACTED]"
    assert response.headers["x-echo"] == "you sent [REDACTED]"
    assert key not in json.dumps(response.model_dump(mode="json"))
    assert response.rate_limit is not None and response.rate_limit.requests_remaining == 41
