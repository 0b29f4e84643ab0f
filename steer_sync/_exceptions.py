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

from steer_common.errors import map_transport_error

__all__ = ["map_exceptions", "mapped"]

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
