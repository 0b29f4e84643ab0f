"""Response metadata, socket-free: rate-limit headers normalized per provider, headers
redacted and looked up in any case."""

from __future__ import annotations

import pytest

from steer_common.errors import register_secret
from steer_common.metadata import public_headers, rate_limit_from, response_metadata

NOW = 1_750_000_000.0  # 2025-06-15T15:06:40Z


def test_openais_limits_with_durations() -> None:
    limit = rate_limit_from(
        {
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9998",
            "x-ratelimit-reset-requests": "6m0s",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": "199950",
            "x-ratelimit-reset-tokens": "15ms",
        },
        NOW,
    )
    assert limit is not None
    assert (limit.requests_limit, limit.requests_remaining, limit.requests_reset) == (
        10000,
        9998,
        360.0,
    )
    assert (limit.tokens_limit, limit.tokens_remaining) == (200000, 199950)
    assert limit.tokens_reset == pytest.approx(0.015)
    assert limit.raw["x-ratelimit-reset-requests"] == "6m0s"


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1s", 1.0), ("1.5s", 1.5), ("20ms", 0.02), ("1h2m3s", 3723.0), ("7", 7.0)],
)
def test_every_duration_form(value: str, seconds: float) -> None:
    limit = rate_limit_from({"x-ratelimit-reset-tokens": value}, NOW)
    assert limit is not None and limit.tokens_reset == pytest.approx(seconds)


def test_anthropics_limits_with_times() -> None:
    limit = rate_limit_from(
        {
            "anthropic-ratelimit-requests-limit": "4000",
            "anthropic-ratelimit-requests-remaining": "3999",
            "anthropic-ratelimit-requests-reset": "2025-06-15T15:06:50Z",
            "anthropic-ratelimit-tokens-limit": "2000000",
            "anthropic-ratelimit-tokens-remaining": "1990000",
            "anthropic-ratelimit-tokens-reset": "2025-06-15T15:06:30Z",  # already past
            "anthropic-ratelimit-input-tokens-remaining": "1800000",
            "anthropic-ratelimit-output-tokens-remaining": "390000",
            "retry-after": "3",
        },
        NOW,
    )
    assert limit is not None
    assert (limit.requests_remaining, limit.requests_reset) == (3999, 10.0)
    assert (limit.tokens_remaining, limit.tokens_reset) == (1990000, 0.0)
    assert (limit.input_tokens_remaining, limit.output_tokens_remaining) == (1800000, 390000)
    assert limit.retry_after == 3.0


def test_no_rate_limit_headers_is_none() -> None:
    assert rate_limit_from({"content-type": "text/event-stream"}, NOW) is None


def test_headers_are_redacted_and_looked_up_in_any_case() -> None:
    register_secret("sk-test-metadata-0123456789")
    headers = public_headers(
        {
            "Content-Type": "text/event-stream",
            "Set-Cookie": "__cf_bm=abc; path=/",
            "X-Api-Key": "sk-test-metadata-0123456789",
            "X-Echo": "upstream saw sk-test-metadata-0123456789",
            "X-Request-Id": "req_1",
        }
    )
    assert headers["x-request-id"] == headers["X-Request-Id"] == "req_1"
    assert "CONTENT-TYPE" in headers and headers.get("Content-type") == "text/event-stream"
    assert headers["set-cookie"] == "[REDACTED]" and headers["x-api-key"] == "[REDACTED]"
    assert headers["x-echo"] == "upstream saw [REDACTED]"
    assert all(name == name.lower() for name in headers)


def test_the_metadata_of_a_head() -> None:
    meta = response_metadata({"X-Ratelimit-Remaining-Requests": "5"}, "req_9")
    assert meta["request_id"] == "req_9"
    assert meta["rate_limit"].requests_remaining == 5
    assert meta["headers"]["x-ratelimit-remaining-requests"] == "5"
