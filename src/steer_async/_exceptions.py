"""httpx/socket exceptions mapped to steer errors, at one edge, most specific first.

The twin of ``steer_sync/_exceptions.py``: every transport failure leaves
:mod:`steer_async` as a :class:`~steer_common.errors.SteerError`.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from steer_common.errors import map_transport_error

__all__ = ["map_exceptions", "mapped"]

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


def mapped(exc: BaseException) -> BaseException:
    """The steer error for one of this transport's exceptions (others as they are)."""
    return map_transport_error(exc, _TIMEOUTS, _CONNECTION)


@contextmanager
def map_exceptions() -> Iterator[None]:
    """Re-raise transport exceptions as steer errors (see :func:`mapped`)."""
    try:
        yield
    except Exception as exc:
        error = mapped(exc)
        if error is exc:
            raise
        raise error from exc
