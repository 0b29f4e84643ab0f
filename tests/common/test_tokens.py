"""Token estimates: ratios measured on the recordings, tiktoken offline, provenance, fallback."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

import pytest

from steer_common import StreamParser
from steer_common.errors import SteerError
from steer_common.finishing import fill_usage, request_text
from steer_common.providers import PROVIDERS
from steer_common.tokens import (
    count_with_encoding,
    encoding_file,
    encoding_for,
    estimate_chars,
    load_encoding,
)
from steer_common.usage import make_usage
from tests.fixtures import STREAMS, parse

#: Wire formats whose replies come from another provider's models, and so its tokenizer.
SAME_MODELS = {
    "openai_responses": "openai",
    "vertex_ai": "gemini",
    "azure": "openai",
    "azure_responses": "openai",
    "bedrock_anthropic": "bedrock",
}


def plain_text_replies() -> dict[str, list[tuple[str, int, int]]]:
    """Per provider: (recording, characters of text, tokens reported for that text).

    The rule: complete replies with no tool calls, no hidden thinking or server-tool
    blocks, no derived copies (framing/); reasoning tokens are left out of the count
    (xAI reports them apart; elsewhere they are subtracted), and replies that stream
    reasoning text are skipped except xAI's, whose completion count excludes it.
    """
    rows: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for fx in STREAMS:
        if fx.group == "framing":
            continue
        _, response, error = parse(fx)
        if error is not None:
            continue
        usage = response.usage
        blocks = fx.expected.get("content_blocks")
        if (
            not usage
            or response.tool_calls
            or (blocks and any(b["type"] != "text" for b in blocks))
            or fx.expected.get("code_execution")  # Gemini counts the code among candidates
        ):
            continue
        if response.reasoning and fx.wire_format != "xai":
            continue
        tokens = usage["completion_tokens"] - (usage.get("reasoning_tokens") or 0)
        if tokens > 0:
            provider = SAME_MODELS.get(fx.wire_format, fx.wire_format)
            rows[provider].append((fx.name, len(response.text), tokens))
    return rows


def test_the_character_ratios_are_the_measured_ones() -> None:
    rows = plain_text_replies()
    everything = [row for provider_rows in rows.values() for row in provider_rows]
    for provider, spec in PROVIDERS.items():
        ratio = spec.chars_per_token
        # A provider whose recordings are too few to measure takes the pool of them all.
        sample = rows[SAME_MODELS.get(provider, provider)]
        sample = sample if sum(r[1] for r in sample) > 20 else everything
        measured = sum(r[1] for r in sample) / sum(r[2] for r in sample)
        assert ratio == round(measured, 2), provider
        errors = [
            abs(estimate_chars(chars, provider) - tokens) / tokens for _, chars, tokens in sample
        ]
        # Stated in docs/usage-and-cost.md; printed here for the record (pytest -s).
        print(
            f"{provider}: {ratio} chars/token over {len(sample)} replies, mean error {100 * sum(errors) / len(errors):.0f}%"
        )
        assert sum(errors) / len(errors) < 0.5


def test_tiktoken_counts_for_real_offline() -> None:
    assert encoding_file("cl100k_base") is not None  # provided by tests/fixtures/tiktoken
    encoding = load_encoding("cl100k_base")
    assert encoding is not None
    assert count_with_encoding(encoding, "hello world") == 2
    assert count_with_encoding(encoding, "<|endoftext|>") > 1  # special text is plain text
    assert encoding_for("gpt-4", "openai") == "cl100k_base"
    assert encoding_for("gpt-4o-mini", "openai") == "o200k_base"
    assert encoding_for("gpt-99-preview", "openai") == "o200k_base"
    assert encoding_for("claude-sonnet-5", "anthropic") == "cl100k_base"


def test_a_missing_encoding_falls_back_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="steer_common.tokens"):
        assert load_encoding("o200k_base") is None
        assert load_encoding("o200k_base") is None
    assert len([r for r in caplog.records if "o200k_base" in r.getMessage()]) <= 1


def test_reported_usage_is_kept_and_says_so() -> None:
    usage = make_usage(100, 20, raw={"x": 1})
    filled = fill_usage(
        usage,
        complete=True,
        provider="openai",
        prompt_text="",
        completion_text="",
        completion_chars=0,
    )
    assert filled["prompt_tokens"] == 100 and filled["completion_tokens"] == 20
    assert filled["provenance"] == {"prompt_tokens": "reported", "completion_tokens": "reported"}


@pytest.mark.parametrize("use_tiktoken", [True, False])
def test_missing_usage_is_estimated_with_its_method(use_tiktoken: bool) -> None:
    encoding: Any = load_encoding("cl100k_base") if use_tiktoken else None
    body = {
        "model": "claude-sonnet-5",
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [{"role": "user", "content": "Say hello to the world."}],
    }
    filled = fill_usage(
        None,
        complete=True,
        provider="anthropic",
        prompt_text=request_text(body),
        completion_text="Hello, world!",
        completion_chars=13,
        encoding=encoding,
        encoding_name="cl100k_base",
    )
    if use_tiktoken:
        assert filled["completion_tokens"] == count_with_encoding(encoding, "Hello, world!")
        assert filled["provenance"]["completion_tokens"] == "estimated:tiktoken:cl100k_base"
    else:
        assert filled["completion_tokens"] == estimate_chars(13, "anthropic") == 5
        assert filled["provenance"]["prompt_tokens"] == "estimated:character"
    assert filled["total_tokens"] == filled["prompt_tokens"] + filled["completion_tokens"]
    prompt = request_text(body)
    assert "Be brief." in prompt and "Say hello to the world." in prompt
    assert "claude-sonnet-5" not in prompt  # the model name is not prompt


def test_a_cut_stream_keeps_the_reported_prompt_and_estimates_what_came() -> None:
    fx = next(f for f in STREAMS if f.name == "anthropic/mid-stream-overloaded-error")
    parser = StreamParser("anthropic")
    with pytest.raises(SteerError) as info:
        parser.feed(fx.body)
    partial = info.value.partial_response
    assert partial is not None and partial.usage != {}
    text = partial.text
    filled = fill_usage(
        partial.usage,
        complete=False,
        provider="anthropic",
        prompt_text="",
        completion_text=text,
        completion_chars=len(text),
    )
    assert filled["prompt_tokens"] == 16
    assert filled["provenance"]["prompt_tokens"] == "reported"
    # message_start said 5 output tokens (a placeholder); the text that came is more.
    assert filled["completion_tokens"] == max(5, estimate_chars(len(text), "anthropic"))
