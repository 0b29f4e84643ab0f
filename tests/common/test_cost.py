"""Cost on every stream: each recording priced by hand from its raw usage and the price table.

The hand computation applies each provider's own arithmetic to the raw usage object of the
recording (OpenAI: cached tokens inside ``prompt_tokens``; Anthropic: cache reads and writes
outside ``input_tokens``, start and delta merged, compaction iterations summed; xAI:
reasoning outside ``completion_tokens``) and the per-million-token rates of genai-prices'
bundled table; the library must arrive at the same dollars.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from genai_prices import Usage, calc_price

from steer_common.cost import Price, cost_of, register_price
from tests.fixtures import STREAMS, Fixture, parse

PROVIDER_IDS = {
    "openai": "openai",
    "openai_responses": "openai",
    "anthropic": "anthropic",
    "xai": "x-ai",
}


def response_of(fx: Fixture) -> Any:
    return parse(fx)[1]


def rates(model: str, provider: str) -> dict[str, float]:
    price = calc_price(
        Usage(input_tokens=1, output_tokens=1), model_ref=model, provider_id=PROVIDER_IDS[provider]
    ).model_price
    read = price.cache_read_mtok if price.cache_read_mtok is not None else price.input_mtok
    write = price.cache_write_mtok if price.cache_write_mtok is not None else price.input_mtok
    # Every recording is under 200k tokens: the base rate of a tiered price applies.
    return {
        k: float(getattr(v, "base", v)) / 1e6
        for k, v in {
            "in": price.input_mtok,
            "out": price.output_mtok,
            "read": read,
            "write": write,
        }.items()
    }


def by_hand(fx: Fixture, model: str) -> float:
    r = rates(model, fx.wire_format)
    exp = fx.expected
    if fx.wire_format == "anthropic":
        u = dict(exp["usage_final_merged"])
        if u.get("iterations"):
            u = {
                k: sum(i.get(k, 0) for i in u["iterations"])
                for k in (
                    "input_tokens",
                    "output_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                )
            }
        return (
            u["input_tokens"] * r["in"]
            + u["cache_read_input_tokens"] * r["read"]
            + u["cache_creation_input_tokens"] * r["write"]
            + u["output_tokens"] * r["out"]
        )
    raw = exp["usage_raw"]
    if fx.wire_format == "openai_responses":
        cached = raw["input_tokens_details"]["cached_tokens"]
        return (
            (raw["input_tokens"] - cached) * r["in"]
            + cached * r["read"]
            + raw["output_tokens"] * r["out"]
        )
    cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens", 0)
    completion = raw["completion_tokens"]
    if fx.wire_format == "xai":
        completion += raw["completion_tokens_details"]["reasoning_tokens"]  # billed as output
    return (raw["prompt_tokens"] - cached) * r["in"] + cached * r["read"] + completion * r["out"]


PRICED = [
    f for f in STREAMS if f.wire_format in PROVIDER_IDS and (response_of(f).cost_usd is not None)
]


def test_most_recordings_are_priced() -> None:
    assert len(PRICED) >= 25


@pytest.mark.parametrize("fx", PRICED, ids=lambda f: f.name)
def test_cost_equals_the_hand_computation(fx: Fixture) -> None:
    response = response_of(fx)
    breakdown = response.cost_breakdown
    assert breakdown["source"].startswith("genai-prices")
    assert response.cost_usd == pytest.approx(by_hand(fx, breakdown["model"]), rel=1e-9)
    assert breakdown["total_usd"] == pytest.approx(breakdown["input_usd"] + breakdown["output_usd"])


def test_an_unknown_model_has_no_cost_and_says_why() -> None:
    fx = next(
        f for f in STREAMS if f.name == "compat/openrouter-keepalive-comments-midstream-error"
    )
    response = response_of(fx)
    assert response.cost_usd is None
    assert "no price known for 'minimax/minimax-m2:free'" in response.cost_breakdown["reason"]


def test_your_own_price_wins() -> None:
    usage = {
        "prompt_tokens": 1_000_000,
        "completion_tokens": 500_000,
        "cache_info": {"cached_tokens": 200_000, "cache_creation_tokens": 0},
    }
    register_price("my-finetune", Price(input=2.0, output=8.0, cache_read=0.5))
    try:
        cost, breakdown = cost_of(usage, "my-finetune", "openai")
        assert cost == pytest.approx(0.8 * 2.0 + 0.2 * 0.5 + 0.5 * 8.0)
        assert breakdown["source"] == "register_price"
    finally:
        register_price("my-finetune", None)
    assert cost_of(usage, "my-finetune", "openai")[0] is None


def test_the_requested_model_is_priced_when_the_reported_one_is_not() -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 100}
    assert cost_of(usage, "grok-3-mini-high", "xai")[0] is None
    cost, breakdown = cost_of(usage, "grok-3-mini-high", "xai", fallback_model="grok-3-mini")
    assert cost is not None and breakdown["model"] == "grok-3-mini"


@pytest.mark.parametrize(
    ("model", "provider", "usage", "printed"),
    [
        (
            "claude-3-haiku-20240307",
            "anthropic",
            {"prompt_tokens": 10, "completion_tokens": 5},
            "8.75e-06",
        ),
        ("gpt-4o-mini", "openai", {"prompt_tokens": 11, "completion_tokens": 3}, "3.45e-06"),
        (
            "claude-sonnet-5",
            "anthropic",
            {"prompt_tokens": 1000, "completion_tokens": 7, "cache_info": {"cached_tokens": 333}},
            "0.0014706",
        ),
    ],
)
def test_costs_are_exact_decimals_rounded_once(
    model: str, provider: str, usage: dict[str, Any], printed: str
) -> None:
    cost, breakdown = cost_of(usage, model, provider)
    assert repr(cost) == printed  # no float noise such as 8.750000000000001e-06
    assert repr(breakdown["total_usd"]) == printed


# -- each model looked up once per price snapshot ------------------------------------------


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The model names genai-prices is asked about, in a fresh copy of its snapshot."""
    import copy

    import genai_prices
    from genai_prices import data_snapshot

    asked: list[str] = []
    real = genai_prices.calc_price

    def counted(*args: Any, **kwargs: Any) -> Any:
        asked.append(kwargs["model_ref"])
        return real(*args, **kwargs)

    monkeypatch.setattr(genai_prices, "calc_price", counted)
    data_snapshot.set_custom_snapshot(copy.deepcopy(data_snapshot.get_snapshot()))
    yield asked
    data_snapshot.set_custom_snapshot(None)


USAGE = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}


def test_a_model_is_looked_up_once(lookups: list[str]) -> None:
    # genai-prices' lookup cost about 0.3 ms a stream: most of what a short call costs.
    first = cost_of(USAGE, "gpt-4o-mini", "openai")
    assert cost_of(USAGE, "gpt-4o-mini", "openai") == first
    assert cost_of({"prompt_tokens": 1, "completion_tokens": 2}, "gpt-4o-mini", "openai")[0]
    assert lookups == ["gpt-4o-mini"]


def test_the_prices_of_a_new_snapshot_apply(lookups: list[str]) -> None:
    import copy
    from decimal import Decimal

    from genai_prices import data_snapshot, types

    assert cost_of(USAGE, "gpt-4o-mini", "openai")[0] == pytest.approx(0.15 + 0.60)
    # What update_prices() does when the prices change: a new snapshot.
    changed = copy.deepcopy(data_snapshot.get_snapshot())
    model = next(
        m for p in changed.providers if p.id == "openai" for m in p.models if m.id == "gpt-4o-mini"
    )
    model.prices = types.ModelPrice(input_mtok=Decimal("1.5"), output_mtok=Decimal("6"))
    data_snapshot.set_custom_snapshot(changed)
    assert cost_of(USAGE, "gpt-4o-mini", "openai")[0] == pytest.approx(1.5 + 6)
    assert lookups == ["gpt-4o-mini", "gpt-4o-mini"]


def test_a_price_that_depends_on_the_date_is_looked_up_each_time(lookups: list[str]) -> None:
    # claude-opus-4-6's price has a start date: the price of each request's moment applies.
    for _ in range(2):
        assert cost_of(USAGE, "claude-opus-4-6", "anthropic")[0] is not None
    assert lookups == ["claude-opus-4-6", "claude-opus-4-6"]


@pytest.mark.parametrize("prompt", [1_000, 200_000, 200_001, 350_000])
@pytest.mark.parametrize("cached", [False, True])
def test_tiered_prices_are_genai_prices_own(
    prompt: int, cached: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # claude-sonnet-4-5's rates step up past 200k prompt tokens, for every token: priced by
    # hand (genai-prices' own calculation took ~90 us a call), to the same decimal.
    price = calc_price(Usage(input_tokens=0, output_tokens=0), model_ref="claude-sonnet-4-5",
                       provider_id="anthropic").model_price  # fmt: skip
    assert any(hasattr(getattr(price, f), "tiers") for f in ("input_mtok", "output_mtok"))
    reads, writes = (prompt // 4, prompt // 10) if cached else (0, 0)
    usage = {
        "prompt_tokens": prompt,
        "completion_tokens": 3_000,
        "cache_info": {"cached_tokens": reads, "cache_creation_tokens": writes},
    }
    expected = calc_price(
        Usage(input_tokens=prompt, output_tokens=3_000, cache_read_tokens=reads,
              cache_write_tokens=writes),
        model_ref="claude-sonnet-4-5", provider_id="anthropic",
    ).total_price  # fmt: skip

    def slow(*args: Any) -> Any:
        raise AssertionError("priced by genai-prices' calculation")

    cost_of(usage, "claude-sonnet-4-5", "anthropic")  # the price is looked up (once)
    monkeypatch.setattr(type(price), "calc_price", slow)
    assert cost_of(usage, "claude-sonnet-4-5", "anthropic")[0] == float(expected)
