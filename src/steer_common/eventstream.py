"""The AWS event stream framing (``application/vnd.amazon.eventstream``), sans-IO.

Bedrock streams binary messages instead of server-sent events (research/
wire-formats-more.md section 3; AWS's "event stream encoding"). Each message, all
integers big-endian:

====================  ====================================================
4 bytes               total length (the whole message, these bytes included)
4 bytes               headers length
4 bytes               CRC-32 of the 8 bytes before
headers               ``name length (1) | name | type (1) | value``, repeated
payload               total - headers - 16 bytes
4 bytes               CRC-32 of everything before it
====================  ====================================================

Header values by type: 0/1 true/false, 2 byte, 3 short, 4 int, 5 long, 6 bytes and 7
string (2-byte length, then the value), 8 timestamp (8 bytes, milliseconds), 9 UUID (16).

:class:`EventStreamDecoder` turns bytes, split anywhere, into :class:`Message` objects;
both checksums are verified and every length is bounded before anything is buffered, so
a corrupt or hostile stream is a :class:`~steer_common.errors.ProtocolError` (with the
byte offset), never a wrong message and never unbounded memory. :func:`encode` is the
inverse (the emulator's, and the tests'). :class:`EventStreamEvents` presents the
messages the way the SSE decoder presents events, so the provider adapters read both
framings alike.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any, NamedTuple

from steer_common.errors import ProtocolError
from steer_common.sse import ServerSentEvent

__all__ = [
    "MAX_HEADERS_SIZE",
    "MAX_MESSAGE_SIZE",
    "EventStreamDecoder",
    "EventStreamEvents",
    "Message",
    "encode",
]

#: AWS's limits: a message of at most 16 MiB, headers of at most 128 KiB.
MAX_MESSAGE_SIZE = 16 * 1024 * 1024
MAX_HEADERS_SIZE = 128 * 1024
_PRELUDE = 12  # total length, headers length, prelude CRC
_MINIMUM = 16  # the prelude and the message CRC, with no headers and no payload

_FIXED = {2: ">b", 3: ">h", 4: ">i", 5: ">q", 8: ">q"}


class Message(NamedTuple):
    """One decoded message: its headers (name -> value) and its payload bytes."""

    headers: dict[str, Any]
    payload: bytes


class EventStreamDecoder:
    """Bytes in, whole messages out (see the module docstring).

    Args:
        max_message_size: the largest message accepted (bytes); smaller than AWS's
            16 MiB to bound what one message may make the decoder buffer.
    """

    __slots__ = ("_buffer", "_failed", "_max", "offset")

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self._buffer = bytearray()
        self._max = min(max_message_size, MAX_MESSAGE_SIZE)
        self._failed = False
        #: Bytes consumed by whole messages so far (where the next message starts).
        self.offset = 0

    @property
    def pending(self) -> int:
        """Bytes of an incomplete message held back."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes; return the messages they complete, in order.

        Raises:
            ProtocolError: a length out of bounds, a checksum that does not match, or a
                header that runs past its message.
        """
        if self._failed:
            raise ProtocolError("the event stream already failed; it accepts no more input")
        buffer = self._buffer
        buffer += data
        out: list[Message] = []
        while len(buffer) >= _PRELUDE:
            total, headers_length, prelude_crc = struct.unpack_from(">III", buffer)
            if zlib.crc32(memoryview(buffer)[:8]) != prelude_crc:
                self._fail("the prelude checksum does not match")
            if not _MINIMUM <= total <= self._max:
                self._fail(f"a message length of {total} bytes is out of bounds")
            if headers_length > min(total - _MINIMUM, MAX_HEADERS_SIZE):
                self._fail(f"a headers length of {headers_length} bytes is out of bounds")
            if len(buffer) < total:
                break
            view = memoryview(buffer)
            (message_crc,) = struct.unpack_from(">I", buffer, total - 4)
            if zlib.crc32(view[: total - 4]) != message_crc:
                view.release()
                self._fail("the message checksum does not match")
            headers = self._headers(bytes(view[_PRELUDE : _PRELUDE + headers_length]))
            payload = bytes(view[_PRELUDE + headers_length : total - 4])
            view.release()
            del buffer[:total]
            self.offset += total
            out.append(Message(headers, payload))
        return out

    def _headers(self, data: bytes) -> dict[str, Any]:
        headers: dict[str, Any] = {}
        at, end = 0, len(data)
        try:
            while at < end:
                size = data[at]
                name = data[at + 1 : at + 1 + size].decode("utf-8")
                at += 1 + size
                kind = data[at]
                at += 1
                if kind in (0, 1):
                    value: Any = kind == 0
                elif kind in _FIXED:
                    fmt = _FIXED[kind]
                    (value,) = struct.unpack_from(fmt, data, at)
                    at += struct.calcsize(fmt)
                elif kind in (6, 7):
                    (length,) = struct.unpack_from(">H", data, at)
                    raw = data[at + 2 : at + 2 + length]
                    if len(raw) != length:
                        raise IndexError("a header value runs past the headers")
                    value = raw.decode("utf-8") if kind == 7 else raw
                    at += 2 + length
                elif kind == 9:
                    value = data[at : at + 16]
                    if len(value) != 16:
                        raise IndexError("a UUID header runs past the headers")
                    at += 16
                else:
                    self._fail(f"unknown header value type {kind}")
                if at > end or not name:
                    raise IndexError("a header runs past the headers")
                headers[name] = value
        except (IndexError, struct.error, UnicodeDecodeError) as exc:
            self._fail(f"malformed headers ({exc})")
        return headers

    def _fail(self, reason: str) -> Any:
        self._failed = True
        raise ProtocolError(f"invalid event stream at byte {self.offset}: {reason}")


def encode(headers: dict[str, str], payload: bytes) -> bytes:
    """One message with string headers (the only kind Bedrock sends), checksums included."""
    encoded = b"".join(
        bytes([len(name)])
        + name.encode()
        + b"\x07"
        + struct.pack(">H", len(value.encode()))
        + value.encode()
        for name, value in headers.items()
    )
    total = _MINIMUM + len(encoded) + len(payload)
    prelude = struct.pack(">II", total, len(encoded))
    body = prelude + struct.pack(">I", zlib.crc32(prelude)) + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))


class EventStreamEvents:
    """The messages as events, the way :class:`~steer_common.sse.SSEDecoder` gives them:
    an ``event`` message as ``ServerSentEvent(event=<:event-type>, data=<payload>)``; an
    ``exception`` as ``event="exception:<:exception-type>"``; an ``error`` as
    ``event="error:<:error-code>"`` with the ``:error-message`` as data.

    Payloads are UTF-8 (Bedrock's are JSON); an invalid byte becomes U+FFFD, as in
    server-sent events.

    Raises:
        ProtocolError: see :meth:`EventStreamDecoder.feed`; also a message of an unknown
            ``:message-type``.
    """

    __slots__ = ("_decoder",)

    #: What :class:`~steer_common.parser.StreamParser` reports as discarded at the end.
    discarded = None

    def __init__(self, max_message_size: int = MAX_MESSAGE_SIZE) -> None:
        self._decoder = EventStreamDecoder(max_message_size)

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        out = []
        for message in self._decoder.feed(data):
            headers = message.headers
            kind = headers.get(":message-type", "event")
            if kind == "event":
                name = str(headers.get(":event-type", ""))
            elif kind == "exception":
                name = f"exception:{headers.get(':exception-type', '')}"
            elif kind == "error":
                code = headers.get(":error-code", "")
                out.append(ServerSentEvent(f"error:{code}", str(headers.get(":error-message", ""))))
                continue
            else:
                raise ProtocolError(f"an event stream message of unknown type {kind!r}")
            # An invalid byte becomes U+FFFD, as in server-sent events (and the SDKs).
            out.append(ServerSentEvent(name, message.payload.decode("utf-8", "replace")))
        return out

    def close(self) -> None:
        """End of input (an incomplete message left is the adapter's to judge: the
        stream ended before its terminal event)."""
