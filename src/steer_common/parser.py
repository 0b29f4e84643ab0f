"""The sans-IO stream parser: a provider's response body in, normalized events out.

:class:`StreamParser` chains the three layers: :class:`~steer_common.sse.SSEDecoder`
(bytes to server-sent events), the provider's adapter (server-sent events to
:class:`~steer_common.models.events.StreamEvent`) and a
:class:`~steer_common.accumulator.StreamAccumulator` (events to the response so far, so
that an error can carry what arrived before it). It does no I/O: feed it the bytes your
transport reads, in any pieces::

    parser = StreamParser("anthropic")
    for chunk in body_chunks:               # from a socket, urllib, aiohttp, a file...
        for event in parser.feed(chunk):
            if event.type == "text_delta":
                print(event.delta, end="")
    parser.close()                          # raises if the stream was cut short
    response = parser.response

Errors follow the h11 model: once ``feed`` or ``close`` raises, the parser is failed and
every later call raises :class:`~steer_common.errors.InvalidStateError`. Whatever the bytes,
only :class:`~steer_common.errors.SteerError` subclasses escape.
"""

from __future__ import annotations

from typing import NoReturn

from steer_common.accumulator import StreamAccumulator
from steer_common.errors import (
    InvalidStateError,
    ProtocolError,
    SteerError,
    StreamInterruptedError,
)
from steer_common.eventstream import EventStreamEvents
from steer_common.models.events import (
    PING,
    REASONING_DELTA,
    REFUSAL_DELTA,
    STREAM_START,
    TEXT_DELTA,
    TOOL_CALL_START,
    StreamEvent,
)
from steer_common.models.response import StreamResponse
from steer_common.providers import get_format
from steer_common.sse import DEFAULT_MAX_EVENT_SIZE, ServerSentEvent, SSEDecoder

__all__ = ["StreamParser"]


#: The events that are content: a continuation's first one ends its trimming.
_CONTENT = frozenset({REASONING_DELTA, REFUSAL_DELTA, TOOL_CALL_START})


class StreamParser:
    """Incremental parser for one streamed response.

    Args:
        wire_format: a wire format of the registry (docs/providers.md): ``"openai"``
            (Chat Completions), ``"openai_responses"``, ``"anthropic"``, ``"gemini"``,
            ``"vertex_ai"``, ``"azure"``, ``"azure_responses"``, ``"bedrock"``,
            ``"bedrock_anthropic"``, ``"xai"`` or ``"openai_compatible"``.
        max_event_size: the most bytes one undispatched server-sent event may hold
            (``StreamingOptions.max_event_size``).
        keep_text: keep the text in :attr:`response` (``False`` for a low-memory consumer
            that keeps the text itself).
        usage_expected: the request asked for usage in the stream. Where usage is opt-in
            (Chat Completions' ``stream_options.include_usage``, which this library's
            requests always set), a stream cut after its ``finish_reason`` but before its
            usage chunk then raises :class:`~steer_common.errors.StreamInterruptedError`;
            pass ``False`` for a request that did not ask, so that the ``finish_reason``
            alone ends it.

    Raises:
        ConfigurationError: an unknown wire format.
    """

    __slots__ = (
        "_acc",
        "_adapter",
        "_closed",
        "_continuing",
        "_failed",
        "_hidden",
        "_max_event_size",
        "_sse",
        "_tail",
        "wire_format",
    )

    def __init__(
        self,
        wire_format: str,
        *,
        max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
        keep_text: bool = True,
        usage_expected: bool = True,
    ) -> None:
        wire = get_format(wire_format)
        adapter_class = wire.adapter
        self.wire_format = wire_format
        self._adapter = adapter_class()
        self._adapter.usage_expected = usage_expected
        self._max_event_size = max_event_size
        self._sse = self._decoder()
        self._acc = StreamAccumulator(keep_text=keep_text, provider=adapter_class.provider)
        self._failed: SteerError | None = None
        self._closed = False
        self._continuing = False
        self._tail = ""  # the whitespace shown that a continuation repeats
        self._hidden: list[StreamEvent] | None = None  # the adapter's, once show_after set it

    def _decoder(self) -> SSEDecoder | EventStreamEvents:
        if get_format(self.wire_format).framing == "eventstream":
            return EventStreamEvents(max_message_size=self._max_event_size)
        return SSEDecoder(max_event_size=self._max_event_size, comments=True)

    @property
    def position(self) -> tuple[str | None, int | str | None]:
        """Where a stream the provider keeps stands: the id of the kept response and the
        cursor of the last event handled, OpenAI's ``sequence_number`` or Gemini's
        ``event_id`` (``None`` for a format that keeps none, or before the stream said)."""
        adapter = self._adapter
        return adapter.response_id, adapter.cursor

    def restart(self) -> None:
        """The next bytes are a new body that carries on this stream (a kept stream
        picked up again after a cut): the bytes of the body that broke are forgotten (an
        event it cut is sent again whole), the events and the response so far are kept,
        and an event already handled is skipped.

        Raises:
            InvalidStateError: the parser failed on something other than the end of its
                body (an in-band error, a malformed event): that stream cannot go on.
        """
        failed = self._failed
        if failed is not None and type(failed) is not StreamInterruptedError:
            self._latched()
        self._sse = self._decoder()
        self._failed = None
        self._closed = False
        self._adapter.restarted()

    def continue_after(self, text: str) -> None:
        """This stream continues a reply whose ``text`` was handed on already (sent back
        as a prefill, without its trailing whitespace): the response starts with ``text``;
        the stream's start is not handed on again, nor, when ``text`` ended with
        whitespace, as much of it as the continuation starts with (it was shown: a
        continuation that starts with other whitespace, a paragraph break, keeps it)."""
        self._acc.add_all([StreamEvent(TEXT_DELTA, text)])
        self._continuing = True
        self._tail = text[len(text.rstrip()) :]

    def _continued(self, out: list[StreamEvent]) -> list[StreamEvent]:
        """``out`` without what a continuation repeats (see :meth:`continue_after`)."""
        kept = []
        for event in out:
            kind = event.type
            if kind == STREAM_START:
                self._acc.add_all([event])  # who answered, without a second start
                continue
            tail = self._tail
            if tail and kind == TEXT_DELTA:
                delta = event.delta or ""
                same = 0
                while same < len(delta) and same < len(tail) and delta[same] == tail[same]:
                    same += 1
                if same == len(delta):  # all of it shown already: wait for the next
                    self._tail = tail[same:]
                    continue
                event.delta = delta[same:]
                self._tail = ""
            elif kind in _CONTENT:
                self._tail = ""
            kept.append(event)
        return kept

    def show_after(self, cursor: int | str) -> None:
        """The events up to ``cursor`` (OpenAI's ``sequence_number``, Gemini's
        ``event_id``) were handed on by an earlier consumer (a kept stream picked up again
        from its start in another process): they build the response, and :meth:`feed`
        returns only the events after them."""
        self._adapter.shown = cursor
        self._hidden = self._adapter.hidden = []

    @property
    def failure(self) -> SteerError | None:
        """What the parser failed with (it then takes no more input), or ``None``."""
        return self._failed

    @property
    def provider(self) -> str:
        """The provider name reported on events and errors."""
        return self._adapter.provider

    @property
    def done(self) -> bool:
        """The provider's terminal signal has arrived."""
        return self._adapter.done

    @property
    def response(self) -> StreamResponse:
        """The response so far (``complete`` once the terminal signal arrived)."""
        return self._acc.result()

    @property
    def accumulator(self) -> StreamAccumulator:
        """The accumulator behind :attr:`response` (counts of events, deltas, text)."""
        return self._acc

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Add bytes; return the events they complete, in order.

        Raises:
            APIError: the provider sent an in-band error (typed by its kind).
            ProtocolError: the bytes break the wire format or an event is too large.
            InvalidStateError: the parser already failed or was closed.
        """
        if self._failed is not None or self._closed:
            self._latched()
        out: list[StreamEvent] = []
        handle = self._adapter.handle
        try:
            for item in self._sse.feed(data):
                if type(item) is ServerSentEvent:
                    handle(item, out)
                else:
                    out.append(StreamEvent(PING, metadata={"comment": item.text}))  # type: ignore[union-attr]
        except SteerError as exc:
            self._fail(exc, out)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
            # A chunk of valid JSON in a shape the provider never sends.
            self._fail(
                ProtocolError(
                    f"{self.provider}: unexpected event shape: {exc!r}", provider=self.provider
                ),
                out,
            )
        if self._hidden:  # a slot, not the adapter's class attribute: once per read
            self._take_hidden()
        if self._continuing:
            out = self._continued(out)
        self._acc.add_all(out)
        return out

    def _take_hidden(self) -> None:
        """Add the events a consumer saw before to the response (they precede the rest)."""
        hidden = self._adapter.hidden
        assert hidden is not None
        self._acc.add_all(hidden)
        hidden.clear()

    def close(self) -> list[StreamEvent]:
        """End of input: return the last events, or raise if the stream was cut short.

        Raises:
            StreamInterruptedError: the body ended before the provider's terminal signal.

        After a failure, or a second time, ``close`` does nothing and returns ``[]``.
        """
        if self._closed or self._failed is not None:
            return []
        self._closed = True
        out: list[StreamEvent] = []
        self._sse.close()
        try:
            discarded = self._sse.discarded
            if discarded is not None:
                self._adapter.unterminated(discarded, out)
            self._adapter.finish(out)
        except SteerError as exc:
            discarded = self._sse.discarded
            if discarded is not None and (
                discarded.unterminated_line or discarded.undispatched_data
            ):
                exc.message += " (an unterminated event was discarded at the end)"
            self._fail(exc, out)
        self._acc.add_all(out)
        return out

    def _fail(self, exc: SteerError, out: list[StreamEvent]) -> NoReturn:
        if self._adapter.hidden:
            self._take_hidden()
        self._acc.add_all(out)
        exc.events = out
        exc.provider = exc.provider or self.provider
        exc.partial_response = self._acc.result()
        self._failed = exc
        raise exc

    def _latched(self) -> NoReturn:
        failed = self._failed
        if failed is None:
            raise InvalidStateError("StreamParser.feed() called after close()")
        raise InvalidStateError(
            f"the parser already failed ({type(failed).__name__}: {failed}); it accepts no more input"
        ) from failed
