"""httpx/socket exceptions mapped to steer errors, at one edge, most specific first.

The twin of ``steer_sync/_exceptions.py``: every transport failure leaves
:mod:`steer_async` as a :class:`~steer_common.errors.SteerError`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from steer_common.errors import APIConnectionError, SteerError, StreamTimeoutError

__all__ = ["map_exceptions"]

_TIMEOUTS: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    socket.timeout,
    TimeoutError,
)
_CONNECTION: tuple[type[BaseException], ...] = (
    httpx.HTTPError,
    httpx.StreamError,
    OSError,
)


@contextmanager
def map_exceptions() -> Iterator[None]:
    """Re-raise transport exceptions as steer errors (timeouts first, then the rest)."""
    try:
        yield
    except SteerError:
        raise
    except _TIMEOUTS as exc:
        raise StreamTimeoutError(f"timed out: {type(exc).__name__}") from exc
    except _CONNECTION as exc:
        raise APIConnectionError(f"connection failed: {type(exc).__name__}: {exc}") from exc
