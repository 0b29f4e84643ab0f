"""What the server said besides the reply: its headers (redacted), its request id and its
rate limits, normalized across providers. Sans-IO: a response head in, plain values out.

Rate-limit headers, by provider (each provider's API reference):

- OpenAI, Azure OpenAI, xAI, Groq and most compatible servers: ``x-ratelimit-limit-requests``,
  ``x-ratelimit-remaining-requests``, ``x-ratelimit-reset-requests`` (a duration such as
  ``1s``, ``6m0s`` or ``20ms``), and the same for ``-tokens``;
- Anthropic: ``anthropic-ratelimit-requests-limit`` / ``-remaining`` / ``-reset`` (an RFC 3339
  time), the same for ``tokens``, ``input-tokens`` and ``output-tokens``;
- a ``retry-after`` header, where sent;
- Gemini and Bedrock send none on a stream (``rate_limit`` is then ``None``).

Every reset is normalized to seconds from the response.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from steer_common.errors import redact

__all__ = ["Headers", "RateLimit", "public_headers", "rate_limit_from", "response_metadata"]

#: Headers whose value is a credential or a session: never shown.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "cookie",
        "set-cookie",
        "x-amz-security-token",
    }
)
REDACTED = "[REDACTED]"


class Headers(dict[str, str]):
    """Response headers: names lower case, looked up in any case (``headers["X-Request-Id"]``)."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


def public_headers(headers: Mapping[str, str]) -> Headers:
    """``headers`` with credential-like ones redacted and any known key scrubbed."""
    public = Headers({name.lower(): value for name, value in headers.items()})
    for name in SECRET_HEADERS.intersection(public):
        public[name] = REDACTED
    values = "\n".join(public.values())  # one scan for a key in any value, most often none
    if redact(values) != values:
        for name, value in public.items():
            public[name] = redact(value)
    return public


class RateLimit(BaseModel):
    """A provider's rate limits after this response (``None`` where not sent)."""

    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset: float | None = Field(
        default=None, description="seconds until the request limit resets"
    )
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_reset: float | None = Field(
        default=None, description="seconds until the token limit resets"
    )
    input_tokens_remaining: int | None = None
    output_tokens_remaining: int | None = None
    retry_after: float | None = None
    #: The rate-limit headers as sent.
    raw: dict[str, str] = Field(default_factory=dict)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def _duration(value: str) -> float | None:
    """``6m0s``, ``1.5s``, ``20ms``, ``3`` (seconds) as seconds."""
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    parts = list(_DURATION.finditer(value))
    if not parts or "".join(p.group(0) for p in parts) != value:
        return None
    return sum(float(p.group(1)) * _UNIT[p.group(2)] for p in parts)


def _until(value: str, now: float) -> float | None:
    """An RFC 3339 time as seconds from ``now`` (never negative)."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return _duration(value)
    return max(0.0, moment.timestamp() - now)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


def rate_limit_from(headers: Mapping[str, str], now: float | None = None) -> RateLimit | None:
    """The normalized limits of lower-cased ``headers``, or ``None`` when none were sent."""
    raw = {
        name: value
        for name, value in headers.items()
        if "ratelimit" in name or name == "retry-after"
    }
    if not raw:
        return None
    now = time.time() if now is None else now
    get = raw.get
    limit = RateLimit(raw=raw)
    if any(name.startswith("anthropic-ratelimit-") for name in raw):
        prefix = "anthropic-ratelimit-"
        limit.requests_limit = _int(get(prefix + "requests-limit"))
        limit.requests_remaining = _int(get(prefix + "requests-remaining"))
        limit.tokens_limit = _int(get(prefix + "tokens-limit"))
        limit.tokens_remaining = _int(get(prefix + "tokens-remaining"))
        limit.input_tokens_remaining = _int(get(prefix + "input-tokens-remaining"))
        limit.output_tokens_remaining = _int(get(prefix + "output-tokens-remaining"))
        for field, name in (("requests_reset", "requests-reset"), ("tokens_reset", "tokens-reset")):
            value = get(prefix + name)
            if value is not None:
                setattr(limit, field, _until(value, now))
    else:
        limit.requests_limit = _int(get("x-ratelimit-limit-requests"))
        limit.requests_remaining = _int(get("x-ratelimit-remaining-requests"))
        limit.tokens_limit = _int(get("x-ratelimit-limit-tokens"))
        limit.tokens_remaining = _int(get("x-ratelimit-remaining-tokens"))
        for field, name in (
            ("requests_reset", "x-ratelimit-reset-requests"),
            ("tokens_reset", "x-ratelimit-reset-tokens"),
        ):
            value = get(name)
            if value is not None:
                setattr(limit, field, _duration(value))
    if get("retry-after") is not None:
        limit.retry_after = _duration(get("retry-after") or "")
    return limit


def response_metadata(headers: Mapping[str, str], request_id: str | None) -> dict[str, Any]:
    """What ``stream_start`` and the response carry of a response head."""
    public = public_headers(headers)  # lower case; a rate limit is never a key
    return {"headers": public, "request_id": request_id, "rate_limit": rate_limit_from(public)}
