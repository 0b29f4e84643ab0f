"""Server-sent events: bytes in, events out, exactly by the WHATWG rules.

The algorithm is the HTML standard's "parse an event stream" and "interpret an event
stream" (https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream),
checked against the web-platform-tests ``eventsource/format-*`` vectors in
``tests/fixtures/sse/framing``:

- a line ends at CRLF, LF or CR; a CR that ends one read may be the first half of a CRLF,
  so a LF at the start of the next read is swallowed (``spec-crlf-split-risk``);
- bytes are split into lines *before* UTF-8 decoding, so a character cut between two
  reads is never broken; invalid UTF-8 becomes U+FFFD, as the standard says;
- one U+FEFF at the very start of the stream is dropped, never a later one (``wpt-bom-*``);
- ``:`` starts a comment; ``name: value`` loses one space after the colon, only one;
  a line with no colon is a field with an empty value; names are case-sensitive;
- ``data`` lines join with ``\\n``; ``event`` names the next event only; ``id`` is sticky
  and ignored when it holds U+0000; ``retry`` is taken only when it is all ASCII digits;
- a blank line dispatches, unless no ``data`` line came; an event left unterminated
  at the end of the stream is discarded (``wpt-incomplete-final-event-discarded``).

Memory is bounded: the bytes of one event that has not been dispatched yet (its lines so
far and the line still being read) may not exceed ``max_event_size``; past that the
decoder raises :class:`~steer_common.errors.ProtocolError` instead of growing. The buffer
is scanned once: each ``feed`` searches only the bytes it added.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from steer_common.errors import InvalidStateError, ProtocolError

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DiscardedInput",
    "SSEComment",
    "SSEDecoder",
    "ServerSentEvent",
]

#: Default cap on the bytes of one undispatched event. A Responses ``response.completed``
#: event repeats the whole answer: a 128k-token reply with its reasoning summary is a few
#: MB of JSON, so 16 MiB leaves room while still stopping a server that never ends a line.
DEFAULT_MAX_EVENT_SIZE = 16 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__
_NAMES: dict[bytes, str] = {}


def _event_name(raw: bytes) -> str:
    """The decoded event name, cached: providers repeat a handful of names."""
    name = _NAMES.get(raw)
    if name is None:
        name = raw.decode("utf-8", "replace")
        if len(_NAMES) < 256:
            _NAMES[raw] = name
    return name


_LINE_END = re.compile(rb"\r\n|\r|\n")


class ServerSentEvent(NamedTuple):
    """One dispatched event.

    Attributes:
        event: the event type; ``"message"`` when no ``event:`` line named it.
        data: the ``data`` lines joined with ``\\n``.
        id: the last event id in force when the event was dispatched (sticky).
        retry: the reconnection time in milliseconds, if a ``retry`` line set one so far.
    """

    event: str
    data: str
    id: str = ""
    retry: int | None = None


class SSEComment(NamedTuple):
    """A comment line (``: keep-alive``), returned only by ``SSEDecoder(comments=True)``."""

    text: str


@dataclass(frozen=True, slots=True)
class DiscardedInput:
    """What the end of the stream cut off: an unterminated line and data never dispatched."""

    unterminated_line: str
    undispatched_data: list[str]


class SSEDecoder:
    """Incremental SSE decoder: ``feed(bytes) -> list``, then ``close() -> list``.

    Args:
        max_event_size: the most bytes one undispatched event may hold.
        comments: also return comment lines, as :class:`SSEComment`, in stream order
            (front ends use them to tell a keep-alive from silence).

    ``feed`` returns :class:`ServerSentEvent` objects (and :class:`SSEComment` objects when
    asked); any split of the same bytes across calls gives the same list.
    """

    __slots__ = (
        "_bom_checked",
        "_buf",
        "_closed",
        "_comments",
        "_data",
        "_event",
        "_event_bytes",
        "_head",
        "_head_name",
        "_head_size",
        "_last_id",
        "_max",
        "_skip_lf",
        "discarded",
        "retry",
    )

    def __init__(
        self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE, comments: bool = False
    ) -> None:
        self._buf = bytearray()
        self._max = max_event_size
        self._comments = comments
        self._bom_checked = False
        self._skip_lf = False
        self._closed = False
        self._data: list[bytes] = []
        self._event = b""
        self._event_bytes = 0
        # The one-event read's lines before its data's text, its name and their length.
        self._head = b"data: "
        self._head_name = "message"
        self._head_size = 6
        self._last_id = ""
        #: The reconnection time (ms) the stream asked for, or ``None``.
        self.retry: int | None = None
        #: Set by :meth:`close` when the stream ended inside an event, else ``None``.
        self.discarded: DiscardedInput | None = None

    @property
    def last_event_id(self) -> str:
        """The last event id the stream set (what a reconnect sends as ``Last-Event-ID``)."""
        return self._last_id

    def feed(self, data: bytes) -> list[ServerSentEvent | SSEComment]:
        """Add bytes; return the events (and comments) they complete."""
        if self._closed:
            raise InvalidStateError("SSEDecoder.feed() called after close()")
        if self._skip_lf:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if not self._bom_checked:
            data = self._strip_bom(data)
        if not data:
            return []
        buf = self._buf
        if buf:
            # A line is pending: search only the new bytes for its end.
            scan_from = len(buf)
            buf += data
            last_lf = buf.rfind(b"\n", scan_from)
            end = max(last_lf, buf.rfind(b"\r", max(scan_from, last_lf + 1)))
            if end < 0:
                if len(buf) + self._event_bytes > self._max:
                    self._too_large(len(buf))
                return []
            block = bytes(buf[: end + 1])
            del buf[: end + 1]
        else:
            # The usual case: this read starts a line (often it holds whole events).
            # The commonest read of all, a server flushing one event per chunk: a data line
            # ("data: ...\n"), maybe after an event line ("event: name\n"), then the blank
            # line that dispatches it; no CR. Dispatched without splitting the read into
            # lines and walking them. The lines before the data's text are most often
            # those of the last such read (a provider names its deltas alike): one
            # comparison reads them. Any other read takes the general path below.
            if (
                not self._data
                and not self._event
                and 0x0D not in data
                and (data.startswith(self._head) or self._one_event_head(data))
            ):
                size = self._head_size
                last = len(data) - 2
                if data.find(b"\n", size) == last and data[-1] == 0x0A:
                    self._event_bytes = 0
                    try:  # strict first: a decode with an error handler costs more
                        payload = data[size:last].decode()
                    except UnicodeDecodeError:
                        payload = data[size:last].decode("utf-8", "replace")
                    fields = (self._head_name, payload, self._last_id, self.retry)
                    return [_new(ServerSentEvent, fields)]
            last_lf = data.rfind(b"\n")
            end = last_lf if data[-1] == 0x0A else max(last_lf, data.rfind(b"\r", last_lf + 1))
            if end < 0:
                buf += data
                if len(buf) + self._event_bytes > self._max:
                    self._too_large(len(buf))
                return []
            if end + 1 == len(data):
                block = data
            else:
                block = data[: end + 1]
                buf += data[end + 1 :]
        # 0x0D, not b"\r": `bytes in bytes` first tries the operand as an integer, and
        # raising and clearing that TypeError cost more than the search (~1,800
        # instructions a read).
        out: list[ServerSentEvent | SSEComment] = []
        if 0x0D in block:
            # A CR that ends the read may be the first half of a CRLF split across reads:
            # its line is complete, and a LF at the start of the next read is dropped.
            self._skip_lf = not buf and block[-1] == 0x0D
            lines = _LINE_END.split(block)
            lines.pop()  # the block ends with a line ending: nothing after it
            self._lines(lines, out)
        elif not self._data and not self._event and not self._event_bytes:
            self._events(block, out)  # the block starts an event: often it holds several
        else:
            # The last read ended inside an event (most reads of a busy stream do). Its
            # lines, through the empty line that ends it, are walked; the events after it
            # start with nothing pending, and take the many-event path. The empty line is
            # found line end by line end (memchr): a search for "\n\n" would crawl
            # through a long data line.
            size = len(block)
            end = count = 0  # the empty line's start, and the lines before it
            while end < size and block[end] != 0x0A:
                end = block.find(b"\n", end) + 1
                count += 1
            lines = block.split(b"\n", count + 1)
            rest = lines.pop()  # after the empty line: whole events ("" if it has none)
            self._lines(lines, out)
            if rest:
                self._events(rest, out)
        if self._event_bytes + len(buf) > self._max:
            self._too_large(len(buf))
        return out

    def _events(self, block: bytes, out: list[ServerSentEvent | SSEComment]) -> None:
        """Whole lines with no CR, an event starting at the first: each event that is the
        kept head (``_one_event_head``) and one data line is dispatched as a one-event
        read is, without walking its lines; any other goes through :meth:`_lines`. (Every
        event before the last blank line ends there, so each starts with nothing pending:
        the ``id`` and ``retry`` of the events before it are all it takes from them.)"""
        pieces = block.split(b"\n\n")
        rest = pieces.pop()  # after the last blank line: the lines of an event not ended
        head, size, name = self._head, self._head_size, self._head_name
        append = out.append
        for piece in pieces:
            if not piece.startswith(head):
                if not self._one_event_head(piece):
                    self._lines([*piece.split(b"\n"), b""], out)  # with its blank line
                    continue
                head, size, name = self._head, self._head_size, self._head_name
            if piece.find(b"\n", size) < 0:
                text = piece[size:]
                try:  # strict first: a decode with an error handler costs more
                    payload = text.decode()
                except UnicodeDecodeError:
                    payload = text.decode("utf-8", "replace")
                append(_new(ServerSentEvent, (name, payload, self._last_id, self.retry)))
            else:
                self._lines([*piece.split(b"\n"), b""], out)
        if rest:
            lines = rest.split(b"\n")
            lines.pop()  # the block ends with a line ending: nothing after it
            self._lines(lines, out)

    def _lines(self, lines: list[bytes], out: list[ServerSentEvent | SSEComment]) -> None:
        """Interpret whole lines, in order (the WHATWG algorithm)."""
        pending = self._data
        size = self._event_bytes
        event = self._event
        for line in lines:
            if not line:
                if pending:
                    payload = (pending[0] if len(pending) == 1 else b"\n".join(pending)).decode(
                        "utf-8", "replace"
                    )
                    name = (_NAMES.get(event) or _event_name(event)) if event else "message"
                    out.append(_new(ServerSentEvent, (name, payload, self._last_id, self.retry)))
                    pending.clear()
                event = b""
                size = 0
                continue
            size += len(line) + 1
            if line[:6] == b"data: ":  # the common lines first: no per-field dispatch
                pending.append(line[6:])
            elif line[:7] == b"event: ":
                event = line[7:]
            elif line[0] == 0x3A:  # ":" starts a comment
                if self._comments:
                    text = line[1:].decode("utf-8", "replace")
                    out.append(SSEComment(text[1:] if text[:1] == " " else text))
            else:
                self._event = event
                self._field(line)
                event = self._event
        self._event = event
        self._event_bytes = size

    def _one_event_head(self, data: bytes) -> bool:
        """``data`` starts as one event does: ``event: name\ndata: `` or ``data: ``.
        Those lines, the event's name and their length are kept for the next reads."""
        first = data.find(b"\n")
        if data[:7] == b"event: " and data.startswith(b"data: ", first + 1):
            raw = data[7:first]
            self._head_name = (_NAMES.get(raw) or _event_name(raw)) if raw else "message"
            self._head = data[: first + 7]
        elif data[:6] == b"data: ":
            self._head_name = "message"
            self._head = b"data: "
        else:
            return False
        self._head_size = len(self._head)
        return True

    def _field(self, line: bytes) -> None:
        colon = line.find(b":")
        if colon < 0:
            name, value = line, b""
        else:
            name = line[:colon]
            value = line[colon + 1 :]
            if value[:1] == b" ":
                value = value[1:]
        if name == b"data":
            self._data.append(value)
        elif name == b"event":
            self._event = value
        elif name == b"id":
            if b"\x00" not in value:
                self._last_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # bytes.isdigit is ASCII-only
            self.retry = int(value)
        # Any other field name is ignored (WHATWG: "Otherwise: the field is ignored").

    def _strip_bom(self, data: bytes) -> bytes:
        """Drop one U+FEFF at the very start, waiting while the first bytes could be one."""
        buf = self._buf
        head = bytes(buf) + data
        if len(head) < 3 and _BOM.startswith(head):
            buf[:] = head
            return b""
        self._bom_checked = True
        buf.clear()
        return head[3:] if head.startswith(_BOM) else head

    def close(self) -> list[ServerSentEvent | SSEComment]:
        """End of stream: an unterminated event is discarded (recorded in ``discarded``)."""
        if self._closed:
            return []
        self._closed = True
        out: list[ServerSentEvent | SSEComment] = []
        if not self._bom_checked and self._buf.startswith(_BOM):
            del self._buf[:3]
        tail = bytes(self._buf)
        self._buf.clear()
        if tail or self._data:
            self.discarded = DiscardedInput(
                unterminated_line=tail.decode("utf-8", "replace"),
                undispatched_data=[d.decode("utf-8", "replace") for d in self._data],
            )
        self._data = []
        return out

    def _too_large(self, pending: int) -> None:
        size = self._event_bytes + pending
        self._closed = True
        self._buf.clear()
        self._data = []
        raise ProtocolError(
            f"one server-sent event exceeded {self._max} bytes without ending "
            f"({size} bytes buffered); raise StreamingOptions.max_event_size if the "
            "provider really sends events this large"
        )
