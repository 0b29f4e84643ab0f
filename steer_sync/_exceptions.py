"""requests/urllib3/socket exceptions mapped to steer errors, at one edge, most specific first.

Every transport failure leaves :mod:`steer_sync` as a
:class:`~steer_common.errors.SteerError`; the session flow then decides what it means
(a timeout while connecting or reading, a retry or not).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import requests
import urllib3.exceptions

from steer_common.errors import APIConnectionError, SteerError, StreamTimeoutError

__all__ = ["map_exceptions"]

_TIMEOUTS: tuple[type[BaseException], ...] = (
    requests.exceptions.Timeout,
    urllib3.exceptions.TimeoutError,
    socket.timeout,
    TimeoutError,
)
_CONNECTION: tuple[type[BaseException], ...] = (
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
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
