"""The headers each provider's streaming responses carry besides the content type and
the request id: its version and timing headers and its rate limits, as the APIs send
them (the values are plausible, fixed limits with one request and the reply's tokens
taken off)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["anthropic_headers", "azure_headers", "openai_headers"]


def openai_headers(now: float, tokens: int) -> dict[str, str]:
    """OpenAI's: ``openai-*`` and ``x-ratelimit-*`` (resets as durations)."""
    return {
        "openai-version": "2020-10-01",
        "openai-processing-ms": "212",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-tokens": str(30_000_000 - tokens),
        "x-ratelimit-reset-tokens": "0s",
    }


def anthropic_headers(now: float, tokens: int) -> dict[str, str]:
    """Anthropic's ``anthropic-ratelimit-*`` (resets as RFC 3339 times)."""
    reset = (datetime.fromtimestamp(now, timezone.utc) + timedelta(seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    return {
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": reset,
        "anthropic-ratelimit-tokens-limit": "2000000",
        "anthropic-ratelimit-tokens-remaining": str(2_000_000 - tokens),
        "anthropic-ratelimit-tokens-reset": reset,
        "anthropic-ratelimit-input-tokens-remaining": "1800000",
        "anthropic-ratelimit-output-tokens-remaining": "399000",
    }


def azure_headers(now: float, tokens: int) -> dict[str, str]:
    """Azure OpenAI's: remaining and limit counts (no resets), its region."""
    return {
        "x-ms-region": "East US 2",
        "x-ratelimit-limit-requests": "1000",
        "x-ratelimit-remaining-requests": "999",
        "x-ratelimit-limit-tokens": "1000000",
        "x-ratelimit-remaining-tokens": str(1_000_000 - tokens),
    }
