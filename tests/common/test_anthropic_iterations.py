"""Anthropic's ``usage.iterations`` by kind (the Messages API's usage types): compaction
iterations are all the response's and summed; an ``advisor_message`` runs on its own
``model``, is left out of the response's counts and priced at the advisor's rates; a
``fallback_message`` is the hop that served the response, on the fallback model: counted
as the response's, priced at the fallback model's rates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from steer_common import StreamParser
from steer_common.cost import cost_of

MAIN = "claude-sonnet-4-6"


def iteration(kind: str, prompt: int, output: int, model: str | None = None, **extra: int) -> Any:
    entry = {
        "type": kind,
        "input_tokens": prompt,
        "output_tokens": output,
        "cache_read_input_tokens": extra.get("read", 0),
        "cache_creation_input_tokens": extra.get("write", 0),
    }
    if model is not None:
        entry["model"] = model
    return entry


def stream(iterations: list[dict[str, Any]]) -> Any:
    def event(kind: str, **payload: Any) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **payload})}\n\n".encode()

    last = iterations[-1]
    final = {
        **{k: v for k, v in last.items() if k not in ("type", "model")},
        "iterations": iterations,
    }
    start = {"id": "msg_01", "model": MAIN, "usage": {"input_tokens": 10, "output_tokens": 1}}
    body = (
        event("message_start", message=start)
        + event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        + event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Done."})
        + event("content_block_stop", index=0)
        + event("message_delta", delta={"stop_reason": "end_turn"}, usage=final)
        + event("message_stop")
    )
    parser = StreamParser("anthropic")
    parser.feed(body)
    parser.close()
    return parser.response


def price(model: str, prompt: int, completion: int, read: int = 0) -> float:
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cache_info": {"cached_tokens": read, "cache_creation_tokens": 0},
    }
    cost, _ = cost_of(usage, model, "anthropic")
    assert cost is not None
    return cost


def test_an_advisor_iteration_is_its_models_not_the_executors() -> None:
    response = stream(
        [
            iteration("message", 1000, 30),
            iteration("advisor_message", 1200, 600, model="claude-opus-4-6", read=800),
            iteration("message", 1100, 40),
        ]
    )
    usage = response.usage
    # The executor's own tokens only: its two iterations, not the advisor's 2,000 + 600.
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (2100, 70)
    assert usage["by_model"] == {
        MAIN: {
            "prompt_tokens": 2100,
            "completion_tokens": 70,
            "total_tokens": 2170,
            "cache_info": {"cached_tokens": 0, "cache_creation_tokens": 0},
        },
        "claude-opus-4-6": {
            "prompt_tokens": 2000,
            "completion_tokens": 600,
            "total_tokens": 2600,
            "cache_info": {"cached_tokens": 800, "cache_creation_tokens": 0},
        },
    }
    executor, advisor = price(MAIN, 2100, 70), price("claude-opus-4-6", 2000, 600, read=800)
    assert response.cost_usd == pytest.approx(executor + advisor)
    parts = response.cost_breakdown["by_model"]
    assert parts[MAIN]["total_usd"] == pytest.approx(executor)
    assert (
        parts["claude-opus-4-6"]["prices_per_mtok"]["output"]
        > parts[MAIN]["prices_per_mtok"]["output"]
    )


def test_a_fallback_hop_served_the_response_at_the_fallback_models_rates() -> None:
    # The primary model declined (a message entry); the fallback model served it.
    response = stream(
        [
            iteration("message", 900, 0),
            iteration("fallback_message", 900, 50, model="claude-opus-4-6"),
        ]
    )
    usage = response.usage
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (1800, 50)
    assert usage["by_model"][MAIN]["prompt_tokens"] == 900
    assert usage["by_model"]["claude-opus-4-6"]["completion_tokens"] == 50
    assert response.cost_usd == pytest.approx(
        price(MAIN, 900, 0) + price("claude-opus-4-6", 900, 50)
    )


def test_compaction_iterations_are_summed_on_the_one_model() -> None:
    response = stream([iteration("compaction", 100, 83, read=55096), iteration("message", 181, 8)])
    usage = response.usage
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (100 + 55096 + 181, 91)
    assert "by_model" not in usage
    assert response.cost_usd == pytest.approx(price(MAIN, 55377, 91, read=55096))
