"""HTTP/1.1 chunked transfer coding, decoded sans-IO: framed bytes in, body bytes out.

:class:`ChunkedDecoder` is fed the bytes of a response body exactly as the connection
delivers them (RFC 9112 section 7.1: ``chunk-size [chunk-ext] CRLF chunk-data CRLF``,
then ``0 CRLF``, optional trailer fields and a final ``CRLF``) and returns the chunk data
they complete, in one ``bytes`` per call. A front end that reads what the socket has
(several chunks at once, when several are waiting) hands them all to the core in one
read instead of one read per chunk.

It is strict, as h11 is: the size is 1 to 16 hex digits (no sign, no ``0x``, no
underscores), every line ends in CRLF, extensions and trailers are bounded
(:data:`MAX_LINE`, :data:`MAX_TRAILERS`), and anything else is a
:class:`~steer_common.errors.ProtocolError` that says what was wrong and where. Any split
of the bytes gives the same body.
"""

from __future__ import annotations

import re
from typing import NoReturn

from steer_common.errors import ProtocolError

__all__ = ["MAX_LINE", "MAX_TRAILERS", "ChunkedDecoder"]

#: The longest chunk-size line (size and extensions) accepted, in bytes.
MAX_LINE = 4096
#: The most bytes of trailer fields accepted after the last chunk.
MAX_TRAILERS = 16 * 1024

_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?")
_TRAILER = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t\x20-\x7e\x80-\xff]*")

_SIZE, _DATA, _DATA_END, _TRAILERS, _DONE = range(5)


class ChunkedDecoder:
    """Decodes one chunked body (see the module docstring).

    Attributes:
        done: the last chunk and the trailer section have arrived.
        trailing: bytes received after the end of the body (none from a sound server; a
            connection that had any must not be reused).
    """

    __slots__ = ("_buffer", "_left", "_offset", "_state", "_trailers", "done", "trailing")

    def __init__(self) -> None:
        self._buffer = b""
        self._state = _SIZE
        self._left = 0  # data bytes left in the current chunk
        self._trailers = 0  # trailer bytes seen
        self._offset = 0  # body bytes consumed before the buffer, for error messages
        self.done = False
        self.trailing = b""

    def feed(self, data: bytes) -> bytes:
        """Add framed bytes; return the chunk data they complete (``b""`` if none).

        Raises:
            ProtocolError: the framing is malformed.
        """
        if self._buffer:
            data = self._buffer + data
            self._buffer = b""
        if self._state == _DONE:
            self.trailing += data
            return b""
        out: list[bytes] = []
        pos = 0
        end = len(data)
        state = self._state
        left = self._left
        while pos < end:
            if state == _DATA:
                take = end - pos if end - pos < left else left
                out.append(data[pos : pos + take])
                pos += take
                left -= take
                if not left:
                    state = _DATA_END
            elif state == _SIZE:
                eol = data.find(b"\r\n", pos, pos + MAX_LINE + 2)
                if eol < 0:
                    if end - pos > MAX_LINE:
                        self._fail(data, pos, f"a chunk-size line longer than {MAX_LINE} bytes")
                    if b"\n" in data[pos:end]:
                        self._fail(data, pos, "a chunk-size line not ended by CRLF")
                    break
                match = _SIZE_LINE.fullmatch(data, pos, eol)
                if match is None:
                    self._fail(data, pos, "a malformed chunk-size line")
                left = int(match.group(1), 16)
                pos = eol + 2
                state = _DATA if left else _TRAILERS
            elif state == _DATA_END:
                if end - pos < 2:
                    if data[pos:end] != b"\r":
                        self._fail(data, pos, "chunk data longer than its size")
                    break
                if data[pos : pos + 2] != b"\r\n":
                    self._fail(data, pos, "chunk data longer than its size")
                pos += 2
                state = _SIZE
            else:  # _TRAILERS
                eol = data.find(b"\r\n", pos, pos + MAX_TRAILERS - self._trailers + 2)
                if eol < 0:
                    if self._trailers + end - pos > MAX_TRAILERS:
                        self._fail(data, pos, f"trailer fields over {MAX_TRAILERS} bytes")
                    break
                if eol == pos:  # the empty line: the end of the body
                    pos += 2
                    state = _DONE
                    self.done = True
                    self.trailing = data[pos:]
                    pos = end
                    break
                if _TRAILER.fullmatch(data, pos, eol) is None:
                    self._fail(data, pos, "a malformed trailer field")
                self._trailers += eol + 2 - pos
                pos = eol + 2
        self._state = state
        self._left = left
        if pos < end:
            self._buffer = data[pos:]
        self._offset += pos
        if not out:
            return b""
        return out[0] if len(out) == 1 else b"".join(out)

    def _fail(self, data: bytes, pos: int, what: str) -> NoReturn:
        snippet = data[pos : pos + 40]
        raise ProtocolError(
            f"malformed chunked body: {what} at byte {self._offset + pos} ({snippet!r})"
        )
