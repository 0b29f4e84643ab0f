"""A Django response that streams to a browser, for an async view under an ASGI server
(uvicorn, daphne). The source of ``steer_sync/web/django.py``, which
``scripts/unasync.py`` generates from this file: edit this one.

::

    from steer_async import SteerLLMClient
    from steer_async.web.django import stream_response

    client = SteerLLMClient()

    async def chat(request):
        return stream_response(client.stream_events(request.GET["q"], model="gpt-4o-mini"))

Hand it the async iterator of an async view: under a WSGI server Django reads an async
iterator to its end before sending anything (use ``steer_sync.web.django`` there).

Resumable: with ``stream_id=``, the generation runs into a registry (in process by
default, :mod:`steer_async.web.registry`; Redis for several processes) and a browser that
reconnects is answered by :func:`resume_response`::

    async def chat(request):
        if "Last-Event-ID" in request.headers:         # EventSource came back
            return await resume_response(request, request.GET["id"])
        return stream_response(client.stream_events(...), stream_id=request.GET["id"])
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from steer_async.web.registry import StreamRegistry, default_registry, started
from steer_async.web.relay import relay
from steer_common.relay import HEARTBEAT_INTERVAL, BufferingWarning, buffering_middleware, encoder

if TYPE_CHECKING:
    from steer_async.web.redis_registry import RedisStreamRegistry

__all__ = ["resume_response", "stream_response"]

_checked: list[object] = []  # the MIDDLEWARE setting already looked at


def stream_response(
    events: AsyncIterable[Any],
    protocol: str = "sse",
    *,
    heartbeat: float | None = HEARTBEAT_INTERVAL,
    headers: Mapping[str, str] | None = None,
    stream_id: str | None = None,
    registry: StreamRegistry | RedisStreamRegistry | None = None,
    abandon_after: float | None = None,
    **options: Any,
) -> StreamingHttpResponse:
    """A ``StreamingHttpResponse`` of ``events`` in ``protocol``.

    Args:
        events: ``client.stream_events(...)`` of the asyncio client, or an agent run's
            ``runner.stream(...)``.
        protocol: ``"sse"``, ``"ai-sdk"`` or ``"ag-ui"`` (docs/browsers.md).
        heartbeat: seconds of silence before a heartbeat comment; ``None`` for none.
        headers: more response headers (they win over the protocol's).
        stream_id: make the stream resumable under this id: the generation runs on in a
            task of its own whether or not the browser stays, and :func:`resume_response`
            answers it when it comes back (heartbeats are then the registry's).
        registry: where a resumable stream is kept (default: this process's
            :func:`~steer_async.web.registry.default_registry`).
        abandon_after: stop a resumable generation nobody has read for this many seconds
            (default: run it to its end).
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
    if stream_id is None:
        body = relay(events, enc, heartbeat)
    else:
        store = registry or default_registry()
        body = started(
            store, stream_id, events, protocol=protocol, abandon_after=abandon_after, **options
        )
    response = StreamingHttpResponse(body)
    for name, value in {**enc.headers, **(headers or {})}.items():
        response[name] = value
    return response


async def resume_response(
    request: HttpRequest,
    stream_id: str,
    protocol: str = "sse",
    *,
    registry: StreamRegistry | RedisStreamRegistry | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """The answer to a browser that comes back to a resumable stream.

    ``EventSource`` comes back by itself with ``Last-Event-ID`` (read from ``request``): it
    gets the frames after that id, the live tail and the end. The AI SDK's resume request
    (``useChat({resume: true})``: ``GET`` on the chat's stream) has no id and gets the
    stream from its start. 204 when there is nothing to resume (a finished stream, or
    none under that id: EventSource and the AI SDK stop asking); frames that are gone are
    an error event (docs/browsers.md, "Resumable streams").
    """
    store = registry or default_registry()
    frames = await store.resume(stream_id, request.headers.get("Last-Event-ID"), protocol=protocol)
    if frames is None:
        return HttpResponse(status=204)
    response = StreamingHttpResponse(frames)
    for name, value in {**encoder(protocol).headers, **(headers or {})}.items():
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
