"""What a stream cost, in US dollars, from genai-prices' bundled price snapshot.

Prices come from the ``genai-prices`` package's offline snapshot: no network, ever, unless
you call :func:`update_prices` yourself. The normalized usage (see :mod:`steer_common.usage`)
maps onto it directly: ``prompt_tokens`` counts every input token with cache reads and
cache writes inside it, and each of those is priced at its own rate; ``completion_tokens``
counts reasoning tokens, which are billed as output.

Dollars are computed exactly, in ``Decimal`` (as genai-prices does), and rounded to a
``float`` once: ``cost_usd`` reads ``2.75e-06``, never ``2.7500000000000004e-06``.

Your own prices win over the snapshot: :func:`register_price` (a negotiated rate, a
fine-tuned or self-hosted model). A model with no known price gets ``cost_usd = None`` and
a ``reason`` in the breakdown, never a guess.
"""

from __future__ import annotations

import functools
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from steer_common.providers import PROVIDERS

__all__ = ["Price", "cost_of", "known_model", "register_price", "update_prices"]


@dataclass(frozen=True, slots=True)
class Price:
    """Your own price for a model, in US dollars per million tokens.

    ``cache_read`` and ``cache_write`` default to the input price when not given.
    """

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


# Copy-on-write: registered from any thread without locks (the core takes none).
_CUSTOM: Mapping[str, Price] = {}


def register_price(model: str, price: Price | None) -> None:
    """Price ``model`` (the name you request, or the one the provider reports) yourself.

    ``None`` removes a registered price.
    """
    global _CUSTOM
    custom = dict(_CUSTOM)
    if price is None:
        custom.pop(model, None)
    else:
        custom[model] = price
    _CUSTOM = custom


def update_prices() -> Any:  # pragma: no cover - needs the network, by design
    """Fetch genai-prices' latest price list now and keep it fresh (network).

    The library never calls this. It starts genai-prices' updater (which refreshes hourly)
    and returns it; call its ``stop()`` to end the refreshes.
    """
    from genai_prices.update_prices import UpdatePrices  # noqa: PLC0415 - on request only

    updater = UpdatePrices()
    updater.start(wait=True)
    return updater


@functools.cache
def _snapshot_version() -> str:
    try:
        return version("genai-prices")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


def cost_of(
    usage: Mapping[str, Any] | None,
    model: str | None,
    provider: str | None,
    *,
    fallback_model: str | None = None,
) -> tuple[float | None, dict[str, Any]]:
    """The cost of ``usage`` on ``model``, and a breakdown saying how it was found.

    Args:
        usage: the normalized usage (``prompt_tokens``, ``completion_tokens``, ``cache_info``).
        model: the model the provider reported (a dated snapshot, often).
        provider: ``openai``, ``anthropic``, ``xai`` or ``openai_compatible``.
        fallback_model: the model requested, tried when ``model`` has no price.

    Returns:
        ``(cost_usd, breakdown)``; ``cost_usd`` is ``None`` when no price is known, and the
        breakdown then says why in ``reason``.
    """
    if not usage:
        return None, {"reason": "no usage to price"}
    by_model = usage.get("by_model")
    if by_model and isinstance(by_model, Mapping):
        return _cost_by_model(by_model, model, provider, fallback_model)
    prompt = int(usage.get("prompt_tokens") or 0)
    completion = int(usage.get("completion_tokens") or 0)
    cache = usage.get("cache_info") or {}
    cache_read = int(cache.get("cached_tokens") or 0)
    cache_write = int(cache.get("cache_creation_tokens") or 0)
    candidates = [m for m in (model, fallback_model) if m]
    if not candidates:
        return None, {"reason": "the model is not known"}
    for name in candidates:
        custom = _CUSTOM.get(name)
        if custom is not None:
            return _custom_cost(custom, name, prompt, completion, cache_read, cache_write)
    spec = PROVIDERS.get(provider or "")
    provider_ids = [None if spec is None else spec.price_id]
    if spec is not None and spec.price_id is None:
        provider_ids.append("openrouter")  # "vendor/model" names, as OpenRouter prices them
    for name in candidates:
        for provider_id in provider_ids:
            found = _lookup(name, provider_id)
            if found is None:
                continue
            model_id, found_provider, price, rates = found
            band = rates.bands[bisect_left(rates.starts, prompt)]
            if band is None:
                input_usd, output_usd = _priced(price, prompt, completion, cache_read, cache_write)
            else:
                rate_in, rate_out, rate_read, rate_write = band
                uncached = max(prompt - cache_read - cache_write, 0)
                input_usd = (
                    uncached * rate_in + cache_read * rate_read + cache_write * rate_write
                ) / _MILLION
                output_usd = completion * rate_out / _MILLION
            total = float(input_usd + output_usd)  # exact decimals, rounded once
            return total, {
                "input_usd": float(input_usd),
                "output_usd": float(output_usd),
                "total_usd": total,
                "model": model_id,
                "provider": found_provider,
                "prices_per_mtok": dict(rates.per_mtok),
                "source": rates.source,
            }
    return None, {
        "reason": f"no price known for {' or '.join(repr(m) for m in candidates)} "
        f"(provider {provider!r}); register one with steer_common.cost.register_price",
    }


def _cost_by_model(
    by_model: Mapping[str, Any], model: str | None, provider: str | None, fallback: str | None
) -> tuple[float | None, dict[str, Any]]:
    """Each model's tokens at its own rates (Anthropic's advisor and fallback iterations);
    the entry with no name is the response's own model."""
    parts: dict[str, dict[str, Any]] = {}
    total = Decimal(0)
    input_usd = output_usd = Decimal(0)
    for name, counts in by_model.items():
        cost, breakdown = cost_of(
            counts, name or model, provider, fallback_model=None if name else fallback
        )
        parts[name or model or ""] = breakdown
        if cost is None:
            return None, {
                "reason": f"no price known for {name or model!r}, one of the models this "
                f"response ran on: {breakdown.get('reason')}",
                "by_model": parts,
            }
        total += Decimal(str(cost))
        input_usd += Decimal(str(breakdown["input_usd"]))
        output_usd += Decimal(str(breakdown["output_usd"]))
    first = next(iter(parts.values()))
    return float(total), {
        "input_usd": float(input_usd),
        "output_usd": float(output_usd),
        "total_usd": float(total),
        "model": model,
        "provider": first["provider"],
        "by_model": parts,
        "source": first["source"],
    }


@functools.lru_cache(maxsize=512)
def known_model(model: str, provider: str | None) -> bool:
    """Whether ``model`` is a model the provider serves, as far as the price snapshot (and
    :func:`register_price`) knows: what the emulator judges a model name by."""
    if model in _CUSTOM:
        return True
    spec = PROVIDERS.get(provider or "")
    provider_ids = [None if spec is None else spec.price_id]
    if spec is not None and spec.price_id is None:
        provider_ids.append("openrouter")
    return any(_lookup(model, provider_id) is not None for provider_id in provider_ids)


@dataclass(frozen=True, slots=True)
class _Rates:
    """A snapshot price made ready for pricing many calls: its plain rates per prompt size
    band, as exact decimals (found once, not at every call)."""

    #: The tier starts of any of its four rates, sorted: band ``i`` is a prompt that
    #: passes the first ``i`` of them (``bisect_left(starts, prompt)``).
    starts: tuple[int, ...]
    #: Per band, the input, output, cache read and cache write rates per MTok; ``None``:
    #: a rate that is not plain, priced by genai-prices (:func:`_priced`).
    bands: tuple[tuple[Decimal, Decimal, Decimal, Decimal] | None, ...]
    per_mtok: Mapping[str, float | None]
    source: str


def _rates_of(price: Any) -> _Rates:
    values = (price.input_mtok, price.output_mtok, price.cache_read_mtok, price.cache_write_mtok)
    starts = sorted(
        {tier.start for value in values for tier in getattr(value, "tiers", None) or ()}
    )
    bands: list[tuple[Decimal, Decimal, Decimal, Decimal] | None] = []
    for band in range(len(starts) + 1):
        prompt = starts[band - 1] + 1 if band else 0  # a prompt size in this band
        rates = [_rate(value, prompt) for value in values]
        if all(r is None or isinstance(r, (Decimal, int, float)) for r in rates):
            rate_in = _decimal(rates[0] or 0)
            bands.append(
                (
                    rate_in,
                    _decimal(rates[1] or 0),
                    rate_in if rates[2] is None else _decimal(rates[2]),
                    rate_in if rates[3] is None else _decimal(rates[3]),
                )
            )
        else:
            bands.append(None)
    return _Rates(
        tuple(starts),
        tuple(bands),
        {
            "input": _number(price.input_mtok),
            "output": _number(price.output_mtok),
            "cache_read": _number(price.cache_read_mtok),
            "cache_write": _number(price.cache_write_mtok),
        },
        f"genai-prices {_snapshot_version()} snapshot",
    )


def _lookup(model: str, provider_id: str | None) -> tuple[str, str, Any, _Rates] | None:
    """The snapshot's (model id, provider id, price, its rates) for a model name: found
    once per price snapshot (``update_prices`` replaces it), except for a price that
    depends on the time of the request (a start date, off-peak hours), found each time."""
    global _found, _snapshots
    if _snapshots is None:
        # Imported on first use: genai-prices takes about 0.3 s to import.
        from genai_prices import data_snapshot  # noqa: PLC0415

        _snapshots = data_snapshot
    snapshot = _snapshots.get_snapshot()
    found_in, prices = _found
    if found_in is not snapshot:
        prices = {}
        _found = (snapshot, prices)
    key = (model, provider_id)
    if key in prices:
        return prices[key]
    from genai_prices import Usage, calc_price  # noqa: PLC0415

    try:
        calc = calc_price(
            Usage(input_tokens=0, output_tokens=0), model_ref=model, provider_id=provider_id
        )
    except LookupError:
        found = None
    else:
        price = calc.model_price
        found = (calc.model.id, calc.provider.id, price, _rates_of(price))
        if isinstance(calc.model.prices, list) and len(calc.model.prices) > 1:
            return found  # conditional: the price of this moment, not of every moment
    if len(prices) < _FOUND_MAX:
        prices[key] = found
    return found


#: The lookups made, and the price snapshot they were made in.
_found: tuple[object, dict[tuple[str, str | None], tuple[str, str, Any, _Rates] | None]] = (
    None,
    {},
)
_FOUND_MAX = 4096  # model names a process prices; past it, each lookup is made again
_snapshots: Any = None  # genai_prices.data_snapshot, once imported


def _priced(
    price: Any, prompt: int, completion: int, read: int, write: int
) -> tuple[Decimal, Decimal]:
    """Input and output dollars, exact, of a price whose rates are not all plain (a
    :class:`_Rates` band of ``None``): by genai-prices."""
    from genai_prices import Usage  # noqa: PLC0415

    calc = price.calc_price(
        Usage(
            input_tokens=prompt,
            output_tokens=completion,
            cache_read_tokens=read,
            cache_write_tokens=write,
        )
    )
    return _decimal(calc["input_price"]), _decimal(calc["output_price"])


def _rate(value: Any, prompt: int) -> Any:
    """A tiered rate (genai-prices' ``TieredPrices``: a base and tiers by prompt size) as the
    one plain rate that applies, by genai-prices' own rule: every token at the rate of the
    highest tier whose start the whole prompt passes. Any other value as it is."""
    tiers = getattr(value, "tiers", None)
    if tiers is None:
        return value
    for tier in reversed(tiers):  # sorted by start
        if prompt > tier.start:
            return tier.price
    return value.base


_MILLION = Decimal(1_000_000)


def _decimal(value: Any) -> Decimal:
    """A price as an exact decimal (a float through its shortest repr: ``0.15``, not
    ``0.1499999999999999944...``)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _custom_cost(
    price: Price, name: str, prompt: int, completion: int, cache_read: int, cache_write: int
) -> tuple[float, dict[str, Any]]:
    read_rate = price.input if price.cache_read is None else price.cache_read
    write_rate = price.input if price.cache_write is None else price.cache_write
    uncached = max(prompt - cache_read - cache_write, 0)
    input_usd = (
        uncached * _decimal(price.input)
        + cache_read * _decimal(read_rate)
        + cache_write * _decimal(write_rate)
    ) / _MILLION
    output_usd = completion * _decimal(price.output) / _MILLION
    total = float(input_usd + output_usd)
    return total, {
        "input_usd": float(input_usd),
        "output_usd": float(output_usd),
        "total_usd": total,
        "model": name,
        "prices_per_mtok": {
            "input": price.input,
            "output": price.output,
            "cache_read": read_rate,
            "cache_write": write_rate,
        },
        "source": "register_price",
    }


def _number(value: Any) -> float | None:
    """A per-MTok price as a float: a tiered price gives its base rate (``None``: absent)."""
    value = getattr(value, "base", value)
    if isinstance(value, (Decimal, int, float)):
        return float(value)
    return None
