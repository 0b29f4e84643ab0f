"""A Django response that streams to a browser, for an async view under an ASGI server
(uvicorn, daphne): the twin of ``steer_sync/web/django.py``.

::

    from steer_async import SteerLLMClient
    from steer_async.web.django import stream_response

    client = SteerLLMClient()

    async def chat(request):
        return stream_response(client.stream_events(request.GET["q"], model="gpt-4o-mini"))

Hand it the async iterator of an async view: under a WSGI server Django reads an async
iterator to its end before sending anything (use ``steer_sync.web.django`` there).
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterable, Mapping
from typing import Any

from django.conf import settings
from django.http import StreamingHttpResponse

from steer_async.web.relay import relay
from steer_common.relay import HEARTBEAT_INTERVAL, BufferingWarning, buffering_middleware, encoder

__all__ = ["stream_response"]

_checked: list[object] = []  # the MIDDLEWARE setting already looked at


def stream_response(
    events: AsyncIterable[Any],
    protocol: str = "sse",
    *,
    heartbeat: float | None = HEARTBEAT_INTERVAL,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> StreamingHttpResponse:
    """A ``StreamingHttpResponse`` of ``events`` in ``protocol``.

    Args:
        events: ``client.stream_events(...)`` of the asyncio client, or an agent run's
            ``runner.stream(...)``.
        protocol: ``"sse"``, ``"ai-sdk"`` or ``"ag-ui"`` (docs/browsers.md).
        heartbeat: seconds of silence before a heartbeat comment; ``None`` for none.
        headers: more response headers (they win over the protocol's).
        options: the encoder's (``start_id``, ``message_id``...; see
            :func:`steer_common.relay.encoder`).

    The status is always 200: a failure, before the first event or after, is the
    protocol's error event at the end of the stream (docs/browsers.md, "Errors").
    Warns :class:`~steer_common.relay.BufferingWarning`, once, when ``MIDDLEWARE`` holds
    one that would buffer the stream (``GZipMiddleware``).

    Raises:
        ConfigurationError: an unknown protocol or option.
    """
    enc = encoder(protocol, **options)
    _check_middleware()
    response = StreamingHttpResponse(relay(events, enc, heartbeat))
    for name, value in {**enc.headers, **(headers or {})}.items():
        response[name] = value
    return response


def _check_middleware() -> None:
    middleware = getattr(settings, "MIDDLEWARE", None) or ()
    if middleware in _checked:
        return
    _checked.append(middleware)
    for found in buffering_middleware(middleware):
        warnings.warn(
            f"{found}; leave it out of MIDDLEWARE for streaming views (docs/browsers.md)",
            BufferingWarning,
            stacklevel=3,
        )
