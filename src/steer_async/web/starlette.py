"""A Starlette (and FastAPI) response that streams to a browser::

    from fastapi import FastAPI
    from steer_async import SteerLLMClient
    from steer_async.web.starlette import stream_response

    app, client = FastAPI(), SteerLLMClient()

    @app.get("/chat")
    async def chat(q: str):
        return stream_response(client.stream_events(q, model="gpt-4o-mini"), protocol="ai-sdk")

Starlette's own ``GZipMiddleware`` leaves ``text/event-stream`` alone, so it needs no
warning; a browser that goes away makes Starlette cancel the response, which closes the
stream and the provider's connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping
from typing import Any

from starlette.responses import StreamingResponse

from steer_async.web.relay import relay
from steer_common.relay import HEARTBEAT_INTERVAL, encoder

__all__ = ["stream_response"]


def stream_response(
    events: AsyncIterable[Any],
    protocol: str = "sse",
    *,
    heartbeat: float | None = HEARTBEAT_INTERVAL,
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> StreamingResponse:
    """A ``StreamingResponse`` of ``events`` in ``protocol``.

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

    Raises:
        ConfigurationError: an unknown protocol or option.
    """
    enc = encoder(protocol, **options)
    return StreamingResponse(
        relay(events, enc, heartbeat), headers={**enc.headers, **(headers or {})}
    )
