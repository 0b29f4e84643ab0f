"""The normalized usage dictionary, one shape for every provider.

Providers count differently (research/wire-formats.md section 6); the normalized numbers
always mean the same thing, and the provider's own object stays beside them as ``raw``:

- ``prompt_tokens``: every input token, cached reads and cache writes included. OpenAI
  and xAI count cached tokens inside ``prompt_tokens`` already; Anthropic's
  ``input_tokens`` leaves cache reads and writes out, so they are added.
- ``completion_tokens``: every output token, reasoning included. OpenAI and Responses
  count reasoning inside; xAI's own API leaves it out (its ``total_tokens`` is
  prompt + completion + reasoning), so it is added.
- ``total_tokens``: ``prompt_tokens + completion_tokens``.
- ``cache_info``: ``cached_tokens`` (read from the cache, a part of ``prompt_tokens``) and
  ``cache_creation_tokens`` (written to it, also a part of ``prompt_tokens``), where known.
- ``reasoning_tokens``: the part of ``completion_tokens`` spent thinking, where known.
- ``raw``: the provider's usage object as it arrived (Anthropic: ``message_start``
  merged with the cumulative ``message_delta``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["as_int", "make_usage", "sum_cost", "sum_usage"]


def make_usage(
    prompt_tokens: int,
    completion_tokens: int,
    *,
    cached_tokens: int | None = None,
    cache_creation_tokens: int | None = None,
    reasoning_tokens: int | None = None,
    raw: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build the normalized usage dictionary (see the module docstring for the meanings)."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if cached_tokens is not None or cache_creation_tokens is not None:
        usage["cache_info"] = {
            "cached_tokens": cached_tokens or 0,
            "cache_creation_tokens": cache_creation_tokens or 0,
        }
    if reasoning_tokens is not None:
        usage["reasoning_tokens"] = reasoning_tokens
    usage["raw"] = raw
    return usage


def as_int(value: Any) -> int:
    """A token count from a provider object: ``None`` and non-numbers count as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return 0


def sum_usage(usages: list[dict[str, Any]]) -> dict[str, Any]:
    """Usage dicts added up, number by number (``cache_info``'s too); a number's
    provenance is ``reported`` only when every step reported it (``{}``: none is known).
    The providers' own ``raw`` objects are left out: they do not add up."""
    present = [u for u in usages if u]
    if not present:
        return {}
    total: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for usage in present:
        for key, value in usage.items():
            if key == "provenance" and isinstance(value, dict):
                for name, source in value.items():
                    if provenance.get(name, "reported") == "reported":
                        provenance[name] = source
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                total[key] = total.get(key, 0) + value
            elif key == "cache_info" and isinstance(value, dict):
                inner = total.setdefault(key, {})
                for name, count in value.items():
                    if isinstance(count, int) and not isinstance(count, bool):
                        inner[name] = inner.get(name, 0) + count
    if provenance:
        total["provenance"] = provenance
    return total


def sum_cost(costs: list[float | None]) -> float | None:
    """Costs added up; ``None`` when any is unknown."""
    if any(c is None for c in costs):
        return None
    # Summed as the decimals they print as, rounded once: no float noise in the total.
    return float(sum((Decimal(repr(c)) for c in costs if c is not None), Decimal(0)))
