"""Streams to browsers, sans-IO: events in, bytes out.

:func:`encoder` makes the :class:`Encoder` of one protocol for one response::

    enc = encoder("sse")                  # or "ai-sdk", "ag-ui"
    write(enc.headers)                    # Content-Type, Cache-Control, X-Accel-Buffering...
    for event in client.stream_events(...):
        for frame in enc.feed(event):     # each item is one complete SSE frame
            write(frame)
    for frame in enc.close(error):        # error: the exception that ended it, or None
        write(frame)

and :meth:`Encoder.heartbeat` is the frame to write when :class:`Heartbeat` says the
stream has been quiet too long. The framework helpers (``steer_sync.web.django``,
``steer_async.web.django``, ``steer_async.web.starlette``) do exactly this; a server of
another kind drives an encoder the same way. docs/browsers.md describes the protocols.

Protocols: ``"sse"`` (:mod:`steer_common.relay.sse`, named events for ``EventSource``),
``"ai-sdk"`` (:mod:`steer_common.relay.ai_sdk`, the Vercel AI SDK's UI message stream) and
``"ag-ui"`` (:mod:`steer_common.relay.ag_ui`, AG-UI events; needs the ``ag-ui`` extra).
"""

from __future__ import annotations

from typing import Any, Final

from steer_common.errors import ConfigurationError
from steer_common.relay.ag_ui import AGUIEncoder
from steer_common.relay.ai_sdk import AISDKEncoder
from steer_common.relay.base import HEARTBEAT, Encoder, error_text, parse_last_event_id
from steer_common.relay.sse import SSEEncoder
from steer_common.relay.timing import (
    BUFFERING_MIDDLEWARE,
    HEARTBEAT_INTERVAL,
    BufferingWarning,
    Heartbeat,
    buffering_middleware,
)

__all__ = [
    "BUFFERING_MIDDLEWARE",
    "HEARTBEAT",
    "HEARTBEAT_INTERVAL",
    "PROTOCOLS",
    "BufferingWarning",
    "Encoder",
    "Heartbeat",
    "buffering_middleware",
    "encoder",
    "error_text",
    "parse_last_event_id",
]

#: The protocols :func:`encoder` speaks.
PROTOCOLS: Final = ("sse", "ai-sdk", "ag-ui")


def encoder(protocol: str, **options: Any) -> Encoder:
    """A new encoder of ``protocol`` for one response.

    Args:
        protocol: ``"sse"``, ``"ai-sdk"`` or ``"ag-ui"``.
        options: ``start_id`` and ``error_text`` (every protocol, see :class:`Encoder`),
            ``message_id`` (``ai-sdk``), ``thread_id`` and ``run_id`` (``ag-ui``).

    Raises:
        ConfigurationError: an unknown protocol or option, or ``ag-ui`` without the
            ``ag-ui-protocol`` package.
    """
    cls: type[Encoder]
    if protocol == "sse":
        cls = SSEEncoder
    elif protocol == "ai-sdk":
        cls = AISDKEncoder
    elif protocol == "ag-ui":
        cls = AGUIEncoder  # it imports ag_ui.core when made: an optional extra
    else:
        raise ConfigurationError(
            f"unknown protocol {protocol!r}: use one of {', '.join(map(repr, PROTOCOLS))}"
        )
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigurationError(f"{protocol} encoder: {exc}") from exc
