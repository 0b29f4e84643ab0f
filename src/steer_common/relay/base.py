"""What every browser protocol shares: :class:`Encoder`, the SSE frame, the error text.

An encoder is fed the events of one stream (the client's :class:`StreamEvent` objects, or
an agent run's :class:`~steer_common.agents.AgentEvent` objects) and hands back the bytes
to write to the browser, one complete SSE frame per item. It does no I/O: a framework
helper (``steer_sync.web``, ``steer_async.web``) writes the frames, sends
:meth:`Encoder.heartbeat` when the stream is quiet, and calls :meth:`Encoder.close` with
the exception that ended the stream, if one did.

Frame ids: every frame :meth:`~Encoder.feed` and :meth:`~Encoder.close` return carries
an ``id:`` line, and the ids are consecutive integers (``start_id + 1``, ``start_id +
2``...), so the ``k``-th of the ``n`` frames of one call has the id ``last_id - n + 1 +
k``: a registry can keep ``(id, frame)`` pairs and replay those after a
``Last-Event-ID``. :meth:`~Encoder.heartbeat` frames are comments and carry no id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from steer_common.errors import InvalidStateError, SteerError, redact
from steer_common.models.events import StreamEvent, jsonable

__all__ = ["HEARTBEAT", "Encoder", "dumps", "dumps_str", "error_text", "parse_last_event_id"]

#: The frame :meth:`Encoder.heartbeat` returns: an SSE comment, which every SSE parser
#: skips (EventSource, the AI SDK's, AG-UI's) and every proxy counts as traffic.
HEARTBEAT = b": heartbeat\n\n"

#: Compact JSON, non-ASCII kept as UTF-8 (a browser decodes an event stream as UTF-8).
#: JSON escapes CR and LF inside strings, so the text never breaks a ``data:`` line.
dumps: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), default=jsonable
).encode


#: A string as a JSON string, the same as ``dumps`` gives, without its dispatch (the text
#: deltas' hot path): the C function ``json`` itself calls.
dumps_str: Callable[[str], str] = json.encoder.encode_basestring


def error_text(error: BaseException) -> str:
    """What the browser is told of ``error``: ``"RateLimitError: ..."`` for the library's
    own errors (whose messages are already scrubbed of keys, and are scrubbed again here),
    without the host and attempts the message ends with (``error.place``: the upstream may
    be an internal gateway); only the class name for any other exception (its message may
    hold anything: a database URL, a path). The whole of either stays in the server's log."""
    name = type(error).__name__
    if isinstance(error, SteerError):
        return redact(f"{name}: {error.message.removesuffix(error.place)}")
    return name


def parse_last_event_id(value: str | None) -> int | None:
    """The frame id a reconnecting browser sends in ``Last-Event-ID``, or ``None`` when
    the header is absent or is not an id an encoder wrote."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or not value.isascii():
        return None
    return int(value)


class Encoder:
    """Turns the events of one stream into the frames of one browser protocol.

    Made by :func:`steer_common.relay.encoder`; one per response, not shared.

    Args:
        start_id: the id before the first frame's (the first frame is ``start_id + 1``);
            a stream continued after a reconnect goes on from the last id it sent.
        error_text: what the browser is told of the exception that ended a stream
            (default :func:`error_text`: the class and the redacted message of the
            library's errors, the class name of any other).

    Attributes:
        protocol: the protocol's name (``"sse"``, ``"ai-sdk"``, ``"ag-ui"``).
        headers: the response headers to send before the first frame.
        last_id: the id of the last frame returned (``start_id`` before any).
        closed: ``True`` once :meth:`close` has run.
    """

    protocol: ClassVar[str] = ""
    content_type: ClassVar[str] = "text/event-stream; charset=utf-8"
    extra_headers: ClassVar[dict[str, str]] = {}

    def __init__(
        self, *, start_id: int = 0, error_text: Callable[[BaseException], str] = error_text
    ) -> None:
        self.last_id = start_id
        self.closed = False
        self.started = False  # a frame of content went out
        self._error_text = error_text
        self.headers: dict[str, str] = {
            "Content-Type": self.content_type,
            # Proxies and browsers must not keep or transform the stream.
            "Cache-Control": "no-cache, no-transform",
            # nginx buffers a response unless told not to.
            "X-Accel-Buffering": "no",
            **self.extra_headers,
        }

    # -- the verbs -------------------------------------------------------------------

    def feed(self, event: Any) -> list[bytes]:
        """The frames for one event: a :class:`StreamEvent`, or an agent run's
        ``AgentEvent``. Events that mean nothing to a browser (``ping``, ``usage`` where
        the protocol has no place for it) give ``[]``. ``error`` events give ``[]`` too:
        the exception raised right after them is what :meth:`close` reports.

        Raises:
            InvalidStateError: the encoder is closed.
        """
        if self.closed:
            raise InvalidStateError(f"{self.protocol} encoder fed after close()")
        if type(event) is StreamEvent:
            handler = self._stream_handlers.get(event.type)
        else:
            handler = self._agent_handlers.get(event.type)
        if handler is None:
            return []
        frames: list[bytes] = handler(event)
        return frames

    def close(self, error: BaseException | None = None) -> list[bytes]:
        """The frames that end the stream: the protocol's end, after its error event when
        ``error`` (the exception that ended the stream) is given. A second call gives
        ``[]``."""
        if self.closed:
            return []
        self.closed = True
        if error is None:
            return self._finish()
        return self._fail(self._error_text(error), type(error).__name__)

    def heartbeat(self) -> bytes:
        """A frame that keeps the connection busy and means nothing (an SSE comment)."""
        return HEARTBEAT

    # -- what a protocol defines -----------------------------------------------------

    # Set by each protocol's __init__: an event's type to the method that encodes it.
    _stream_handlers: dict[str, Callable[[Any], list[bytes]]]
    _agent_handlers: dict[str, Callable[[Any], list[bytes]]]

    def _finish(self) -> list[bytes]:
        raise NotImplementedError

    def _fail(self, text: str, kind: str) -> list[bytes]:
        raise NotImplementedError

    # -- framing ---------------------------------------------------------------------

    def _frame(self, data: str, event: str | None = None) -> bytes:
        """One SSE frame with the next id; ``data`` holds no line break (compact JSON)."""
        self.last_id = number = self.last_id + 1
        if event is None:
            return f"id: {number}\ndata: {data}\n\n".encode()
        return f"id: {number}\nevent: {event}\ndata: {data}\n\n".encode()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} last_id={self.last_id} closed={self.closed}>"
