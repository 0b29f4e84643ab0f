"""Authorizing an attempt when no fixed key does: a token callable's token, a cloud chain's
OAuth token or SigV4 signature (:mod:`steer_cloud`), asked for before every attempt.

The authorizer may block (a token refresh, a credential lookup), so it is asked of the
front end as a ``Compute``, within a time limit; its headers join the request's, each held
as a :class:`~steer_common.secrets.Secret` and its token registered for redaction.
"""

from __future__ import annotations

from collections.abc import Generator
from functools import partial
from typing import Any

from steer_common.commands import Command, Compute
from steer_common.errors import (
    APIConnectionError,
    ConnectTimeoutError,
    SteerError,
    register_secret,
)
from steer_common.request import HTTPRequest
from steer_common.secrets import Secret
from steer_common.spec import Authorizer

__all__ = ["CREDENTIAL_TIMEOUT", "authorized"]

#: The longest a credential (an OAuth token refresh, a cloud SDK's chain) is waited for
#: before an attempt (shorter when total_timeout is): past it the attempt fails with a
#: ConnectTimeoutError, and is retried as one.
CREDENTIAL_TIMEOUT = 30.0

# Headers an authorizer may set whose whole value is a secret (a SigV4 signature is not:
# it is new for every request, and proves nothing once the request is sent).
_TOKEN_HEADERS = frozenset({"api-key", "x-api-key", "x-goog-api-key", "x-amz-security-token"})


def authorized(
    request: HTTPRequest, authorize: Authorizer, limit: float, provider: str
) -> Generator[Command, Any, HTTPRequest]:
    """``request`` with the authorizer's headers for this attempt, waited for at most
    ``limit`` seconds.

    Raises:
        SteerError: the authorizer's own (a missing credential is a
            ``MissingAPIKeyError``), a ``ConnectTimeoutError`` when it was too slow, an
            ``APIConnectionError`` for any other failure (a token endpoint unreachable).
    """
    try:
        headers = yield Compute(partial(authorize, request), limit)
    except SteerError:
        raise
    except Exception as exc:
        timed_out = isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError"
        if timed_out:
            error: SteerError = ConnectTimeoutError(
                f"{provider}: no credential within {limit:g}s", timeout=limit
            )
        else:
            error = APIConnectionError(
                f"{provider}: could not get a credential: {type(exc).__name__}: {exc}",
                provider=provider,
            )
        error.__cause__ = exc
        raise error from exc
    merged = dict(request.headers)
    for name, value in headers.items():
        scheme, _, token = value.partition(" ")
        if scheme.lower() == "bearer":
            register_secret(token)  # a token lives an hour or so: a new one is rare
        elif name.lower() in _TOKEN_HEADERS:
            register_secret(value)
        merged[name.lower()] = Secret(value)
    return HTTPRequest(request.method, request.url, merged, request.body)
