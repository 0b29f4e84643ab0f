"""A Starlette (and FastAPI) response that streams to a browser::

    from fastapi import FastAPI
    from steer_async import SteerLLMClient
    from steer_async.web.starlette import stream_response

    app, client = FastAPI(), SteerLLMClient()

    @app.get("/chat")
    async def chat(q: str):
        return stream_response(client.stream_events(q, model="gpt-4o-mini"), protocol="ai-sdk")

Resumable: with ``stream_id=``, the generation runs into a registry (in process by
default; Redis for several processes) and :func:`resume_response` answers a browser that
comes back (``EventSource`` with ``Last-Event-ID``, or the AI SDK's resume ``GET``)::

    @app.get("/chat/{chat_id}/stream")
    async def resume(request: Request, chat_id: str):
        return await resume_response(request, chat_id, protocol="ai-sdk")

Starlette's own ``GZipMiddleware`` leaves ``text/event-stream`` alone, so it needs no
warning; a browser that goes away makes Starlette cancel the response, which closes the
stream and the provider's connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from steer_async.web.registry import StreamRegistry, default_registry, started
from steer_async.web.relay import relay
from steer_common.relay import HEARTBEAT_INTERVAL, encoder

if TYPE_CHECKING:
    from steer_async.web.redis_registry import RedisStreamRegistry

__all__ = ["resume_response", "stream_response"]


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
) -> StreamingResponse:
    """A ``StreamingResponse`` of ``events`` in ``protocol``.

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

    Raises:
        ConfigurationError: an unknown protocol or option.
    """
    enc = encoder(protocol, **options)
    if stream_id is None:
        body = relay(events, enc, heartbeat)
    else:
        store = registry or default_registry()
        body = started(
            store, stream_id, events, protocol=protocol, abandon_after=abandon_after, **options
        )
    return StreamingResponse(body, headers={**enc.headers, **(headers or {})})


async def resume_response(
    request: Request,
    stream_id: str,
    protocol: str = "sse",
    *,
    registry: StreamRegistry | RedisStreamRegistry | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The answer to a browser that comes back to a resumable stream: the frames after its
    ``Last-Event-ID`` (from the start without one), the live tail and the end; 204 when
    there is nothing to resume (docs/browsers.md, "Resumable streams")."""
    store = registry or default_registry()
    frames = await store.resume(stream_id, request.headers.get("last-event-id"), protocol=protocol)
    if frames is None:
        return Response(status_code=204)
    return StreamingResponse(frames, headers={**encoder(protocol).headers, **(headers or {})})
