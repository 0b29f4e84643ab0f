"""requests/urllib3/socket exceptions mapped to steer errors, at one edge, most specific first.

Every transport failure leaves :mod:`steer_sync` as a
:class:`~steer_common.errors.SteerError`; the session flow then decides what it means
(a timeout while connecting or reading, a retry or not).
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import requests
import urllib3.exceptions

from steer_common.errors import ProtocolError, map_transport_error
from steer_common.http import MAX_HEADER_FIELDS

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
    if _too_many_headers(exc):
        # http.client enforces the core's own limit (MAX_HEADER_FIELDS) before the head
        # is seen: the same ProtocolError as the asyncio client's, never retried.
        error = ProtocolError(
            "the response head has too many header fields "
            f"(more than {MAX_HEADER_FIELDS} header fields are refused)"
        )
        error.__cause__ = exc
        return error
    return map_transport_error(exc, _TIMEOUTS, _CONNECTION)


def _too_many_headers(exc: BaseException) -> bool:
    """http.client's "got more than 100 headers", however requests and urllib3 wrapped it
    (as a cause, a context, or an argument: ``ProtocolError('Connection aborted.', e)``)."""
    seen: list[BaseException] = [exc]
    for current in seen:
        if isinstance(current, http.client.HTTPException) and "more than" in str(current):
            return True
        linked = [current.__cause__, current.__context__, *current.args]
        seen.extend(e for e in linked if isinstance(e, BaseException) and e not in seen)
        if len(seen) > 16:
            break
    return False


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
