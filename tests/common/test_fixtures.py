"""Every recorded stream, fed whole, one byte at a time and at Hypothesis-chosen cut points.

The outcome (events, response, or the typed error with its partial response) must be the
same however the bytes are split, and must equal the ``expected`` block the fixture's
provenance file gives. Usage is checked twice: ``raw`` against the provider's object, and
the normalized numbers against the arithmetic each provider documents, computed here from
the raw numbers by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steer_common import StreamEvent, StreamResponse
from steer_common.errors import (
    APIError,
    BadRequestError,
    NotFoundError,
    OverloadedError,
    RateLimitError,
    SteerError,
    StreamInterruptedError,
)
from steer_common.http import ResponseHead, error_from_response
from steer_common.providers import get_format
from tests.fixtures import ALL, HTTP_ERRORS, STREAMS, Fixture, byte_at_a_time, parse, split_at

Outcome = tuple[list[StreamEvent], StreamResponse, SteerError | None]


def run(fixture: Fixture, pieces: list[bytes]) -> Outcome:
    return parse(fixture, pieces)


def outcome_key(outcome: Outcome) -> tuple[Any, ...]:
    events, response, error = outcome
    return (
        events,
        response.model_dump(),
        None if error is None else (type(error), error.message),
    )


# -- what each provider's expected block says ------------------------------------------


def check_chat(fx: Fixture, response: StreamResponse, error: SteerError | None) -> None:
    exp = fx.expected
    assert response.text == exp["text"]
    assert (response.reasoning or "") == exp.get("reasoning_text", "")
    assert [
        {
            "index": c.index,
            "id": c.id,
            "name": c.name,
            "arguments_raw": c.arguments_raw,
            "arguments": c.arguments,
        }
        for c in response.tool_calls
    ] == exp["tool_calls"]
    assert response.response_id == exp["response_id"]
    assert response.model == exp["model"]
    if exp["error"] is None:
        assert error is None
        assert response.complete
        assert response.native_finish_reason == exp["finish_reason"]
    else:
        assert isinstance(error, APIError) and error.in_band
        assert error.body == exp["error"]
        assert response.error is not None
        assert response.error["message"] == exp["error"]["message"]
        assert not response.complete
        assert response.finish_reason == exp["finish_reason"]
    raw = exp["usage_raw"]
    if raw is None:
        assert response.usage == {}
        return
    usage = response.usage
    assert usage is not None and usage["raw"] == raw
    prompt_details = raw.get("prompt_tokens_details") or {}
    reasoning = (raw.get("completion_tokens_details") or {}).get("reasoning_tokens")
    if fx.group == "xai":
        # xAI direct: reasoning is outside completion_tokens; total includes it.
        assert raw["total_tokens"] == raw["prompt_tokens"] + raw["completion_tokens"] + (
            reasoning or 0
        )
        assert usage["completion_tokens"] == raw["completion_tokens"] + (reasoning or 0)
    else:
        assert usage["completion_tokens"] == raw["completion_tokens"]
    assert usage["prompt_tokens"] == raw["prompt_tokens"]
    assert usage["total_tokens"] == raw["total_tokens"]
    if reasoning is not None:
        assert usage["reasoning_tokens"] == reasoning
    if "cached_tokens" in prompt_details:
        assert usage["cache_info"]["cached_tokens"] == prompt_details["cached_tokens"]
        assert usage["cache_info"]["cache_creation_tokens"] == prompt_details.get(
            "cache_write_tokens", 0
        )
    assert exp["usage"]["input_tokens"] == raw["prompt_tokens"]


def check_responses(fx: Fixture, response: StreamResponse, error: SteerError | None) -> None:
    exp = fx.expected
    assert response.text == exp["text"]
    assert (response.reasoning or "") == exp.get("reasoning_summary_text", "")
    assert [
        {
            "output_index": c.index,
            "item_id": c.item_id,
            "call_id": c.id,
            "name": c.name,
            "arguments_raw": c.arguments_raw,
            "arguments": c.arguments,
        }
        for c in response.tool_calls
    ] == exp["tool_calls"]
    assert response.response_id == exp["response_id"]
    assert response.model == exp["model"]
    if exp["error"] is None:
        assert error is None
        assert response.complete
        assert response.native_finish_reason == exp["status"]
        assert response.finish_reason == ("tool_calls" if exp["tool_calls"] else "stop")
    else:
        # insufficient_quota: a rate-limit error that no retry can fix.
        assert isinstance(error, RateLimitError) and not error.retryable
        assert error.body["error"] == exp["error"]["error"]
        assert error.code == exp["response_error"]["code"]
        assert not response.complete
    raw = exp["usage_raw"]
    if raw is None:
        assert response.usage == {}
        return
    usage = response.usage
    assert usage is not None and usage["raw"] == raw
    assert usage["prompt_tokens"] == raw["input_tokens"]
    assert usage["completion_tokens"] == raw["output_tokens"]  # reasoning inside
    assert usage["total_tokens"] == raw["total_tokens"]
    assert usage["reasoning_tokens"] == raw["output_tokens_details"]["reasoning_tokens"]
    assert usage["cache_info"]["cached_tokens"] == raw["input_tokens_details"]["cached_tokens"]


def check_anthropic(fx: Fixture, response: StreamResponse, error: SteerError | None) -> None:
    exp = fx.expected
    assert response.text == exp["text"]
    thinking = [b for b in response.reasoning_blocks if b["type"] == "thinking"]
    redacted = [b for b in response.reasoning_blocks if b["type"] == "redacted_thinking"]
    assert (response.reasoning or "") == exp.get("thinking_text", "")
    assert [b["signature"] for b in thinking] == exp.get("thinking_signatures", [])
    assert len(redacted) == exp.get("redacted_thinking_blocks", 0)
    assert all(isinstance(b["data"], str) and b["data"] for b in redacted)
    assert [
        {
            "index": c.index,
            "id": c.id,
            "name": c.name,
            "arguments_raw": c.arguments_raw,
            "arguments": c.arguments,
        }
        for c in response.tool_calls
    ] == exp["tool_calls"]
    assert response.response_id == exp["message_id"]
    assert response.model == exp["model"]
    if exp["error"] is None:
        assert error is None
        assert response.complete
        assert response.native_finish_reason == exp["stop_reason"]
    else:
        assert isinstance(error, OverloadedError) and error.in_band and error.retryable
        assert error.body["error"] == exp["error"]
        assert response.text == exp["partial_text_before_error"]
        assert not response.complete
    merged = exp["usage_final_merged"]
    usage = response.usage
    assert usage is not None and usage["raw"] == merged
    iterations = merged.get("iterations")
    counted = merged
    if iterations:
        # Compaction: the top-level numbers cover only the last iteration.
        counted = {
            k: sum(i.get(k, 0) for i in iterations)
            for k in (
                "input_tokens",
                "output_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
            )
        }
    else:
        assert exp["usage"]["total_input_tokens_incl_cache"] == usage["prompt_tokens"]
    cache_read = counted["cache_read_input_tokens"]
    cache_write = counted["cache_creation_input_tokens"]
    assert usage["prompt_tokens"] == counted["input_tokens"] + cache_read + cache_write
    assert usage["completion_tokens"] == counted["output_tokens"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["cache_info"] == {
        "cached_tokens": cache_read,
        "cache_creation_tokens": cache_write,
    }


def check_gemini(fx: Fixture, response: StreamResponse, error: SteerError | None) -> None:
    exp = fx.expected
    assert error is None and response.complete
    assert response.text == exp["text"]
    assert (response.reasoning or "") == exp["thinking_text"]
    # Every signature is kept: a call's on its ToolCall (it goes back with the call), the
    # others on the reasoning blocks, in order.
    signatures = [b["signature"] for b in response.reasoning_blocks]
    signatures += [c.signature for c in response.tool_calls if c.signature]
    assert sorted(signatures) == sorted(exp["thought_signatures"])
    assert [
        {"name": c.name, "arguments": c.arguments, "thought_signature": c.signature}
        for c in response.tool_calls
    ] == [
        {k: call.get(k) for k in ("name", "arguments", "thought_signature")}
        for call in exp["tool_calls"]
    ]
    for index, (call, wanted) in enumerate(
        zip(response.tool_calls, exp["tool_calls"], strict=True)
    ):
        # No id on the Gemini API: one is made up, unique in the reply.
        assert call.id == (wanted["id"] or f"gemini-call-{index}")
        assert call.complete and call.parse_error is None
    assert response.native_finish_reason == exp["finish_reason"]
    native = exp["finish_reason"]
    wanted_finish = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter"}[native]
    if wanted_finish == "stop" and exp["tool_calls"]:
        wanted_finish = "tool_calls"
    assert response.finish_reason == wanted_finish
    assert response.response_id == exp["response_id"]
    assert response.model == exp["model_version"]
    data = response.provider_data
    assert data.get("code_execution") == exp["code_execution"]
    assert data.get("groundingMetadata") == exp["grounding_metadata_last"]
    assert data.get("safetyRatings") == exp["safety_ratings_last"]
    assert data.get("citationMetadata") == exp["citation_metadata"]
    assert data.get("finishMessage") == exp["finish_message"]
    raw, numbers = exp["usage_raw"], exp["usage"]
    usage = response.usage
    assert usage is not None and usage["raw"] == raw
    # Thoughts are outside candidatesTokenCount, the built-in tools' prompt apart from
    # promptTokenCount: both are added in, so the three counts sum.
    assert usage["prompt_tokens"] == numbers["input"] + numbers["tool_use_prompt"]
    assert usage["completion_tokens"] == numbers["output"]
    assert usage["total_tokens"] == numbers["total"] == raw["totalTokenCount"]
    assert usage.get("reasoning_tokens", 0) == numbers["reasoning"]
    assert exp["usage_arithmetic"]["matches"]


def check_bedrock(fx: Fixture, response: StreamResponse, error: SteerError | None) -> None:
    """Bedrock's recordings, both operations: text, reasoning and its signatures, tool
    calls, the stop reason, usage (cache reads and writes added into the prompt), and a
    mid-stream exception typed with what came before it."""
    exp = fx.expected
    assert response.text == exp["text"]
    reasoning = exp.get("reasoning_text", exp.get("thinking_text")) or ""
    assert (response.reasoning or "") == reasoning
    signatures = exp.get("reasoning_signatures", exp.get("thinking_signatures")) or []
    assert [b["signature"] for b in response.reasoning_blocks if b.get("signature")] == signatures
    assert [
        {
            "index": c.index,
            "id": c.id,
            "name": c.name,
            "arguments_raw": c.arguments_raw,
            "arguments": c.arguments,
        }
        for c in response.tool_calls
    ] == exp["tool_calls"]
    exception = exp.get("exception")
    if exception is not None:
        assert isinstance(error, APIError) and error.in_band and not response.complete
        assert error.error_type == exception["exception_type"]
        assert error.body == exception["payload"]
        assert isinstance(error, RateLimitError) and error.retryable  # throttling
        assert response.usage == {}
        return
    assert error is None and response.complete
    assert response.native_finish_reason == exp["stop_reason"]
    usage, want = response.usage, exp["usage"]
    assert usage is not None
    assert (
        usage["prompt_tokens"] == want["input"] + want["cached_input"] + want["cache_write_input"]
    )
    assert usage["completion_tokens"] == want["output"]
    assert usage["cache_info"] == {
        "cached_tokens": want["cached_input"],
        "cache_creation_tokens": want["cache_write_input"],
    }
    if fx.wire_format == "bedrock":
        assert usage["raw"] == exp["usage_raw"]
        assert usage["total_tokens"] == exp["usage_raw"]["totalTokens"]
        assert response.provider_data == {"metrics": exp["metrics"]}
    else:
        metrics = exp["bedrock_invocation_metrics"]
        assert response.provider_data == {"invocation_metrics": metrics}
        assert (metrics["inputTokenCount"], metrics["outputTokenCount"]) == (
            want["input"],
            want["output"],
        )


def check_azure(fx: Fixture, response: StreamResponse, error: SteerError | None) -> None:
    """Azure's recordings: OpenAI's formats read by OpenAI's parsers, the filter results
    kept (the first chunk's prompt results, each choice's non-empty results)."""
    exp = fx.expected
    assert error is None and response.complete
    assert response.text == exp["text"]
    assert (response.reasoning or "") == (
        exp.get("reasoning_text") or exp.get("reasoning_summary_text") or ""
    )
    assert [(c.id, c.name, c.arguments) for c in response.tool_calls] == [
        (c.get("call_id") or c["id"], c["name"], c["arguments"]) for c in exp["tool_calls"]
    ]
    usage = response.usage
    assert usage is not None and usage["raw"] == exp["usage_raw"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (
        exp["usage"]["input"],
        exp["usage"]["output"],  # reasoning inside, as OpenAI counts it
    )
    assert usage.get("reasoning_tokens") == exp["usage"]["reasoning"]
    data = response.provider_data
    if fx.wire_format == "azure_responses":
        assert response.native_finish_reason == exp["status"]
        return
    assert response.model == exp["model"]  # from the first chunk that names one
    assert response.native_finish_reason == exp["finish_reason"]
    assert data.get("prompt_filter_results") == exp["prompt_filter_results"]
    kept = data.get("content_filter_results", [])
    assert len(kept) == exp["content_filter_results_chunks"]
    filtered = {
        category
        for entry in kept
        for category, result in entry["content_filter_results"].items()
        if isinstance(result, dict) and result.get("filtered")
    }
    assert sorted(filtered) == sorted(exp["content_filter_categories_filtered"])


CHECKS = {
    "openai": check_chat,
    "xai": check_chat,
    "openai_compatible": check_chat,
    "openai_responses": check_responses,
    "anthropic": check_anthropic,
    "gemini": check_gemini,
    "vertex_ai": check_gemini,
    "azure": check_azure,
    "azure_responses": check_azure,
    "bedrock": check_bedrock,
    "bedrock_anthropic": check_bedrock,
}


@pytest.mark.parametrize("fixture", STREAMS, ids=lambda f: f.name)
def test_fixture_whole(fixture: Fixture) -> None:
    events, response, error = run(fixture, [fixture.body])
    CHECKS[fixture.wire_format](fixture, response, error)
    # The last event says how the stream ended.
    assert events[-1].type == ("error" if error else "stream_end")
    assert events[0].type in ("stream_start", "ping")


@pytest.mark.parametrize("fixture", STREAMS, ids=lambda f: f.name)
def test_fixture_byte_at_a_time(fixture: Fixture) -> None:
    whole = run(fixture, [fixture.body])
    assert outcome_key(run(fixture, byte_at_a_time(fixture.body))) == outcome_key(whole)


@pytest.mark.parametrize("fixture", STREAMS, ids=lambda f: f.name)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fixture_random_cuts(fixture: Fixture, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(fixture.body)), max_size=40))
    whole = run(fixture, [fixture.body])
    assert outcome_key(run(fixture, split_at(fixture.body, cuts))) == outcome_key(whole)


@pytest.mark.parametrize("fixture", [f for f in STREAMS if f.group == "azure"], ids=str)
def test_openais_parsers_read_azures_streams_the_same(fixture: Fixture) -> None:
    openai = "openai_responses" if fixture.wire_format == "azure_responses" else "openai"
    _, azure, _ = run(fixture, [fixture.body])
    _, read, error = parse(fixture, [fixture.body], wire_format=openai)
    assert error is None and read.provider == "openai" and azure.provider == "azure"
    assert read.model_dump(exclude={"provider", "cost_breakdown", "cost_usd"}) == (
        azure.model_dump(exclude={"provider", "cost_breakdown", "cost_usd"})
    )


def test_every_recording_is_covered() -> None:
    # The first corpus, Gemini's, Azure's, Bedrock's.
    assert len(ALL) == 49 + 18 + 10 + 12
    assert {f.wire_format for f in STREAMS} == set(CHECKS)


def test_openrouter_error_chunk_is_a_typed_error_with_everything_before_it() -> None:
    fx = next(
        f for f in STREAMS if f.name == "compat/openrouter-keepalive-comments-midstream-error"
    )
    events, response, error = run(fx, [fx.body])
    assert isinstance(error, BadRequestError) and error.status_code == 400
    assert "Token limit reached" in str(error)
    # 17 keep-alive comments before the first data line: pings, not content.
    assert sum(e.type == "ping" for e in events) == 17
    assert response.usage != {} and response.usage["total_tokens"] == 53


@pytest.mark.parametrize("fixture", HTTP_ERRORS, ids=lambda f: f.name)
def test_recorded_http_error_is_typed_with_the_providers_words(fixture: Fixture) -> None:
    exp = fixture.expected
    provider = get_format(fixture.wire_format).provider
    head = ResponseHead(exp["http_status"], {"content-type": "application/json"})
    error = error_from_response(provider, head, fixture.body)
    wanted = exp["error"]
    assert error.status_code == exp["http_status"]
    assert wanted["message"] in str(error)
    if fixture.group == "gemini":
        assert isinstance(error, NotFoundError) and not error.retryable
        assert error.error_type == wanted["status"]  # Google's gRPC status name
        assert error.body == {"error": wanted}
    if fixture.group == "bedrock":
        assert isinstance(error, BadRequestError) and not error.retryable
        assert error.body == wanted  # Bedrock's {"message": ...}


WITH_USAGE = [f for f in STREAMS if (r := run(f, [f.body]))[2] is None and r[1].usage != {}]


@pytest.mark.parametrize("fixture", WITH_USAGE, ids=lambda f: f.name)
def test_a_cut_stream_never_closes_complete_without_its_usage(fixture: Fixture) -> None:
    # Cut anywhere in its last 400 bytes (where the usage and the terminal signal are), a
    # stream whose whole body reports usage either raises StreamInterruptedError or closes
    # with that same usage: never complete with usage None (a Chat Completions stream cut
    # after its finish_reason, before the usage chunk, closed complete; so did Bedrock's
    # cut before its metadata event).
    whole = run(fixture, [fixture.body])[1]
    size = len(fixture.body)
    for end in sorted({size - 30, *range(max(size - 400, 0), size, 7)}):
        _, response, error = parse(fixture, [fixture.body[:end]])
        if error is None:
            assert response.complete and response.usage == whole.usage, end
        else:
            assert isinstance(error, StreamInterruptedError), (end, error)
            assert not error.partial_response.complete
