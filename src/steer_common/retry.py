"""Whether a failed attempt is tried again, and after how long: pure functions.

The rules (docs/errors.md, "What is retried"):

- only while nothing has reached the consumer (``delivered`` is false), only with
  ``retry_on_connection_error``, and at most ``max_reconnect_attempts`` times;
- only failures a retry can mend: a provider error its module calls retryable (408, 409,
  429 but not ``insufficient_quota``, 5xx, 529, an in-band overload), a failed or broken
  connection, a connect or read timeout, a stream cut before its end. A reply that broke
  JSON mode is the model's output, not the connection's: the usual cause, a reply cut by
  ``max_tokens``, fails the same way again, so it is not retried (another generation
  would be billed for nothing);
- after an exponential backoff with jitter, ``reconnect_delay * 2**(attempt - 1)`` with
  its upper half drawn at random, at most :data:`MAX_BACKOFF`; a ``Retry-After`` the
  provider sent replaces it, up to :data:`MAX_RETRY_AFTER`;
- never past ``total_timeout``: a wait that would end after it is not started.
"""

from __future__ import annotations

from steer_common.errors import (
    APIConnectionError,
    APIError,
    ConnectTimeoutError,
    ReadTimeoutError,
    SteerError,
    StreamInterruptedError,
)
from steer_common.options import StreamingOptions

__all__ = ["MAX_BACKOFF", "MAX_RETRY_AFTER", "RETRYABLE_FAILURES", "backoff", "retry_delay"]

#: The longest ``Retry-After`` honoured, in seconds (longer asks wait this long).
MAX_RETRY_AFTER = 60.0
#: The longest backoff between two attempts, in seconds.
MAX_BACKOFF = 30.0
#: Failures other than provider errors that a new attempt can mend.
RETRYABLE_FAILURES: tuple[type[SteerError], ...] = (
    APIConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    StreamInterruptedError,
)


def backoff(attempt: int, base: float, draw: float) -> float:
    """The wait after failed ``attempt`` (from 1): ``base * 2**(attempt-1)``, its upper
    half scaled by ``draw`` (a number in ``[0, 1)``), at most :data:`MAX_BACKOFF`."""
    full = base * 2.0 ** (attempt - 1)
    return min(full / 2 + draw * full / 2, MAX_BACKOFF)


def retry_delay(
    error: SteerError,
    attempt: int,
    options: StreamingOptions,
    *,
    delivered: bool,
    draw: float,
    left: float | None,
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or ``None``: ``error`` stands.

    Args:
        error: why attempt ``attempt`` failed.
        attempt: the attempt that failed, from 1.
        options: the call's options.
        delivered: content has reached the consumer (nothing can be taken back).
        draw: a random number in ``[0, 1)`` for the jitter.
        left: seconds left before ``total_timeout`` (``None``: no total timeout).
    """
    if delivered or not options.retry_on_connection_error:
        return None
    if attempt > options.max_reconnect_attempts:
        return None
    if isinstance(error, APIError):
        if not error.retryable:
            return None
    elif not isinstance(error, RETRYABLE_FAILURES):
        return None
    delay = backoff(attempt, options.reconnect_delay, draw)
    if isinstance(error, APIError) and error.retry_after is not None:
        delay = min(float(error.retry_after), MAX_RETRY_AFTER)
    if left is not None and delay >= left:
        return None  # no time to wait and try again: the error stands
    return delay
