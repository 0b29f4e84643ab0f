"""One streaming call, every decision in one place: the session flow both front ends drive.

:meth:`StreamSession.flow` is a generator that *asks* for I/O and decides everything
else. It yields commands; a front end performs each one and sends the result back (or
throws the transport failure, already mapped to a :class:`~steer_common.errors.SteerError`,
into the generator)::

    Connect(request, timeout)   -> send the request, answer with its ResponseHead
    ReadAll(timeout, limit)     -> read an error body, answer with bytes
    Read(timeout, size, events) -> hand ``events`` to the consumer, then read once: a read
                                   that returns as soon as any bytes arrive (b"" at the
                                   end of the body); one round trip per read
    Deliver(events)             -> hand these events to the consumer
    Await(awaitable)            -> await a coroutine callback (or run it, when blocking)
    Compute(function, timeout)  -> run blocking CPU work (loading a tiktoken encoding) off
                                   the event loop, waiting at most ``timeout``
    Sleep(seconds)              -> wait before the next attempt

The flow decides: which status is which typed error; whether to retry (connection
failures, 408/409/429/5xx/529, in-band overloads, a cut before any content: exponential
backoff with jitter from ``reconnect_delay``, ``Retry-After`` honoured up to
:data:`MAX_RETRY_AFTER`, never once the consumer has received content); every timeout
(``connection_timeout`` for the head, ``read_timeout`` as the longest silence between
meaningful events, so comments and pings do not reset it, ``total_timeout`` across all
attempts); the callbacks and their order; coalescing (``buffer_size``); and whether the
stream is complete. This is the httpx ``auth_flow`` pattern: written once, driven twice.

With the JSON handler on (``enable_json_stream_handler`` or ``validate_json_incrementally``,
both in ``JSON_MODE_OPTIONS``) the reply text goes through a
:class:`~steer_common.json_stream.JSONStream` as it arrives: each read that changed it adds
a ``json_partial`` event with the value so far, tool-call deltas carry their partial
arguments, ``get_json()`` returns the value the stream built, and with validation the
first invalid character ends the stream with a :class:`~steer_common.errors.JSONModeError`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from steer_common.cost import cost_of
from steer_common.errors import (
    APIConnectionError,
    APIError,
    CallbackError,
    ConnectTimeoutError,
    JSONModeError,
    ProtocolError,
    ReadTimeoutError,
    RunawayOutputError,
    SteerError,
    StreamInterruptedError,
    StreamTimeoutError,
    TotalTimeoutError,
    TransportError,
)
from steer_common.guard import RunawayGuard
from steer_common.http import BodyDecoder, ResponseHead, error_from_response
from steer_common.json_stream import JSONStream
from steer_common.models.events import (
    ERROR,
    JSON_PARTIAL,
    PING,
    REASONING_DELTA,
    REFUSAL_DELTA,
    TEXT_DELTA,
    TOOL_CALL_DELTA,
    TOOL_CALL_END,
    TOOL_CALL_START,
    StreamEvent,
)
from steer_common.models.response import StreamMetrics, StreamResponse
from steer_common.models.streaming import StreamingOptions
from steer_common.parser import StreamParser
from steer_common.request import HTTPRequest
from steer_common.tokens import encoding_file, encoding_for, load_encoding, loaded_encoding
from steer_common.usage import REPORTED, fill_usage, request_text

__all__ = [
    "DRAIN_TIMEOUT",
    "ENCODING_LOAD_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "MAX_BACKOFF",
    "MAX_RETRY_AFTER",
    "Await",
    "Command",
    "Compute",
    "Connect",
    "Consumer",
    "Deliver",
    "Flow",
    "Read",
    "ReadAll",
    "Sleep",
    "StreamSession",
]

#: The longest ``Retry-After`` honoured, in seconds (longer asks wait this long).
MAX_RETRY_AFTER = 60.0
#: The longest backoff between two attempts, in seconds.
MAX_BACKOFF = 30.0
#: The most bytes of an error body read to explain an error status.
ERROR_BODY_LIMIT = 64 * 1024
#: The longest wait for a tiktoken encoding to load before estimating from characters.
ENCODING_LOAD_TIMEOUT = 5.0
#: After the terminal signal, how long to wait for the end of the body so that the
#: connection can go back to the pool; past it the connection is closed instead.
DRAIN_TIMEOUT = 2.0

logger = logging.getLogger("steer_common.session")

_CONTENT = frozenset(
    {TEXT_DELTA, REASONING_DELTA, REFUSAL_DELTA, TOOL_CALL_START, TOOL_CALL_DELTA, TOOL_CALL_END}
)
_RETRYABLE_FAILURES = (
    APIConnectionError,
    ConnectTimeoutError,
    JSONModeError,
    ReadTimeoutError,
    StreamInterruptedError,
)


@dataclass(slots=True)
class Connect:
    """Send ``request``; answer with its :class:`~steer_common.http.ResponseHead`."""

    request: HTTPRequest
    timeout: float | None
    attempt: int


@dataclass(slots=True)
class Read:
    """Hand ``events`` (if any) to the consumer, then read once: at most ``size`` bytes,
    returning as soon as any arrive (``b""`` at the end of the body).

    The flow reuses one ``Read`` for the reads of an attempt (a command per event would
    be an allocation per event): act on it when it is yielded, do not keep it."""

    timeout: float | None
    size: int
    events: list[StreamEvent] | None = None


@dataclass(slots=True)
class ReadAll:
    """Read the body to its end, at most ``limit`` bytes (an error body)."""

    timeout: float | None
    limit: int


@dataclass(slots=True)
class Deliver:
    """Hand these events to the consumer, in order."""

    events: list[StreamEvent]


@dataclass(slots=True)
class Await:
    """Await ``awaitable`` (a coroutine callback's result); answer with ``None``."""

    awaitable: Any
    callback: str


@dataclass(slots=True)
class Compute:
    """Run ``function()`` in a worker thread, waiting at most ``timeout`` seconds; answer
    with its result (a slow run goes on in the background; its result is not awaited)."""

    function: Callable[[], Any]
    timeout: float


@dataclass(slots=True)
class Sleep:
    """Wait ``seconds`` before the next attempt."""

    seconds: float


Command = Connect | Read | ReadAll | Deliver | Await | Compute | Sleep
Flow = Generator[Command, Any, None]
#: Who receives a call's reply as it streams (see :class:`StreamSession`).
Consumer = Literal["events", "text", "response"]


class StreamSession:
    """The state of one streaming call (see the module docstring).

    Args:
        request: the HTTP request to send (from :func:`~steer_common.request.build_request`).
        wire_format: the :class:`~steer_common.StreamParser` format of the reply.
        options: the call's :class:`~steer_common.models.streaming.StreamingOptions`.
        consumer: who receives the reply as it streams. ``"events"`` (``stream_events()``)
            and ``"text"`` (``stream()``) are handed every event as it arrives; ``"text"``
            keeps the reply text only for ``preserve_partial_response`` (the partial
            response of an error) and ``on_complete``, so with both off memory stays flat
            however long the stream (the low-memory mode). ``"response"``
            (``stream_with_usage()``) is handed nothing until the end: only ``on_delta``
            sees the reply as it streams.
        response_format: what ``get_json()`` validates against (a pydantic model class).
        model: the model asked for (priced when the provider's reported name has no price).
        clock: a monotonic clock in seconds (``time.monotonic``; the front ends pass the
            one their sleeps use).
        rand: a ``[0, 1)`` random source for the backoff jitter.
    """

    def __init__(
        self,
        request: HTTPRequest,
        *,
        wire_format: str,
        options: StreamingOptions,
        consumer: Consumer = "events",
        response_format: Any = None,
        model: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.request = request
        self.wire_format = wire_format
        self.options = options
        self.consumer = consumer
        self.keep_text = (
            consumer != "text"
            or options.preserve_partial_response
            or options.on_complete is not None
        )
        # Events are yielded to a consumer as they arrive (not for stream_with_usage).
        self._yields = consumer != "response"
        # Content reaches someone as it arrives: once it has, nothing is retried.
        self._live = self._yields or options.on_delta is not None
        self.response_format = response_format
        self.model = model
        self._clock = clock
        self._rand = rand
        self._parser = StreamParser(wire_format, max_event_size=options.max_event_size)
        self._start = 0.0
        self._total_deadline: float | None = None
        self._read_deadline: float | None = None
        self._delivered = False
        self._content = False
        self._started = False
        self._in_body = False
        self._head: ResponseHead | None = None
        #: The response being read may go back to the pool once read to its end (the
        #: front ends ask when they close it): not after a failure inside its body.
        self.reusable = True
        self._metrics = StreamMetrics(attempts=0)
        self._bytes = 0
        self._json_on = options.enable_json_stream_handler or options.validate_json_incrementally
        self._json: JSONStream | None = None
        self._tool_json: dict[int, JSONStream] = {}
        #: The final response, once the flow has ended without an error.
        self.response: StreamResponse | None = None

    @property
    def delivered(self) -> bool:
        """Content has reached the consumer (yielded, or passed to ``on_delta``): from now
        on nothing is retried. With no one watching (``stream_with_usage`` without
        ``on_delta``) nothing reaches anyone before the end, so this stays ``False``."""
        return self._delivered

    # -- the flow -------------------------------------------------------------------------

    def flow(self) -> Flow:
        """The generator a front end drives (see the module docstring)."""
        options = self.options
        self._start = self._clock()
        if options.total_timeout is not None:
            self._total_deadline = self._start + options.total_timeout
        attempt = 0
        while True:
            attempt += 1
            self._metrics.attempts = attempt
            self.reusable = True
            self._in_body = False
            error = yield from self._attempt(attempt)
            if error is None:
                return
            # A failure inside a body leaves the connection in doubt: never pool it.
            self.reusable = not self._in_body
            delay = self._retry_delay(error, attempt)
            if delay is None:
                logger.debug("%s: failed after %d attempt(s): %r", self.wire_format, attempt, error)
                yield from self._fail(error)  # raises
                return
            logger.debug(
                "%s: attempt %d failed, retrying in %.2f s: %r",
                self.wire_format,
                attempt,
                delay,
                error,
            )
            yield Sleep(delay)

    def _attempt(self, attempt: int) -> Generator[Command, Any, SteerError | None]:
        options = self.options
        parser = self._parser = StreamParser(
            self.wire_format, max_event_size=options.max_event_size, keep_text=self.keep_text
        )
        try:
            head: ResponseHead = yield Connect(
                self.request, self._limit(options.connection_timeout), attempt
            )
        except StreamTimeoutError as exc:
            return self._timeout_error(exc, connecting=True)
        except APIConnectionError as exc:
            exc.message = f"{self._parser.provider}: {exc.message} ({self.request.origin})"
            return exc
        except SteerError as exc:
            return exc
        self._head = head
        if not 200 <= head.status < 300 or (
            head.content_type and head.content_type != "text/event-stream"
        ):
            return (yield from self._head_error(head))
        try:
            decoder = BodyDecoder(head.headers.get("content-encoding"))
        except SteerError as exc:
            return exc
        self._in_body = True
        if not self._started:
            self._started = True
            error = yield from self._callback("on_start")
            if error is not None:
                return error
        held: list[StreamEvent] = []  # events before the first content: dropped on a retry
        self._content = False  # content arrived in this attempt
        if self._json_on:
            # Validation checks every character as it arrives; following the value only
            # may hold short containers back for the C scanner (faster).
            self._json = JSONStream(hold=not options.validate_json_incrementally)
            self._tool_json = {}
        guard = None
        if options.max_output_chars is not None or options.max_repetitions is not None:
            guard = RunawayGuard(options.max_output_chars, options.max_repetitions)
        watching = guard is not None and guard.watching
        accumulator = parser.accumulator
        read = Read(None, options.chunk_size)  # one command, updated for every read
        read_timeout = options.read_timeout
        self._read_deadline = None if read_timeout is None else self._clock() + read_timeout
        metrics = self._metrics
        deliver: list[StreamEvent] | None = None  # handed on with the next Read command
        on_delta = options.on_delta
        identity = decoder.identity
        clock = self._clock
        total = self._total_deadline
        while True:
            # How long this read may wait (inline: it runs once per read).
            if parser.done:
                # Complete: wait a little for the end of the body, to pool the connection.
                deadline: float | None = clock() + DRAIN_TIMEOUT
            else:
                deadline = self._read_deadline
            if total is not None and (deadline is None or total < deadline):
                deadline = total
            timeout = None if deadline is None else deadline - clock()
            if timeout is not None and timeout <= 0:
                if deliver:
                    yield Deliver(deliver)
                if parser.done:
                    break  # complete; the body just did not end in time: close, don't pool
                return self._timeout_error(None, connecting=False)
            try:
                read.timeout = timeout
                read.events = deliver
                chunk = yield read
            except StreamTimeoutError as exc:
                if parser.done:
                    break
                return self._timeout_error(exc, connecting=False)
            except SteerError as exc:
                if parser.done:
                    break
                # The connection broke inside the body: the stream is cut short.
                error = StreamInterruptedError(
                    f"{parser.provider}: the connection broke before the end of the stream ({exc})",
                    provider=parser.provider,
                )
                error.__cause__ = exc
                return error
            deliver = None
            now = clock()
            if metrics.time_to_first_byte is None:
                metrics.time_to_first_byte = now - self._start
            failure: SteerError | None = None
            try:
                if chunk:
                    self._bytes += len(chunk)  # a plain counter: pydantic setattr is slow
                    events = parser.feed(chunk if identity else decoder.feed(chunk))
                else:
                    events = parser.feed(decoder.close())
                    events += parser.close()
            except SteerError as exc:
                # What came before the error in these bytes is handled like any events
                # (the consumer and the partial response agree whatever the packets were).
                failure = exc
                events = [e for e in exc.events if e.type != ERROR]
            if events:
                handled, failed = self._handle(events, held, now)
                if failed is not None:
                    failure = failed  # earlier in the bytes than a parser error
                if on_delta is not None and handled:
                    error = yield from self._on_deltas(handled)
                    if error is not None:
                        return error
                if self._yields:
                    deliver = handled or None
                runaway = None
                if guard is not None:
                    if watching:
                        guard.add(events)
                    chars = accumulator.text_chars + accumulator.other_chars
                    if chars >= guard.due:
                        runaway = guard.check(chars)
                if runaway is not None and failure is None:
                    # Never retried: the reply would run away again.
                    failure = RunawayOutputError(f"{parser.provider}: {runaway}")
            if failure is not None:
                if deliver:
                    yield Deliver(deliver)  # hand on what arrived, then fail
                return failure
            if not chunk:
                break
        if deliver:
            yield Deliver(deliver)
        if held and self._yields:
            yield Deliver(held)
        return (yield from self._complete())

    def _on_deltas(self, events: list[StreamEvent]) -> Generator[Command, Any, SteerError | None]:
        """``on_delta`` for each text delta, in order, before the consumer sees them."""
        for event in events:
            if event.type == TEXT_DELTA:
                error = yield from self._callback("on_delta", event.delta)
                if error is not None:
                    return error
        return None

    def _handle(
        self, events: list[StreamEvent], held: list[StreamEvent], now: float
    ) -> tuple[list[StreamEvent], SteerError | None]:
        """The events of one read to hand on (none while only preliminaries arrived), and
        the JSON-mode error that stops the stream, if one of them brings it (the events
        before it are handed on as usual: whatever the packets, the same ones)."""
        options = self.options
        content = False
        meaningful = False
        json_changed = False
        json_on = self._json_on
        failure: SteerError | None = None
        for number, event in enumerate(events):
            kind = event.type
            if kind != PING:
                meaningful = True
            if kind in _CONTENT:
                if json_on:
                    failure = self._follow_json(event)
                    if failure is not None:
                        events = events[:number]
                        break
                    json_changed = json_changed or kind == TEXT_DELTA
                content = True
        if meaningful and options.read_timeout is not None:
            self._read_deadline = now + options.read_timeout
        if not self._content:
            if not content:
                if self._yields:
                    held.extend(events)
                return [], failure
            # The first content of this attempt; from here on, if anyone sees the reply
            # as it streams, it is theirs: no retry could take it back.
            self._content = True
            self._delivered = self._live
            self._metrics.time_to_first_token = now - self._start
            if held:
                events = held + events
                held.clear()
        if options.buffer_size:
            events = _coalesce(events, options.buffer_size)
        if json_changed and self._json is not None and self._yields:
            events = [*events, StreamEvent(JSON_PARTIAL, metadata={"value": self._json.partial()})]
        return events, failure

    def _follow_json(self, event: StreamEvent) -> SteerError | None:
        """Feed the reply's JSON machine (and each tool call's) with a content event."""
        if event.type == TEXT_DELTA:
            stream = self._json
            if stream is None:
                return None
            try:
                stream.feed(event.delta or "")
            except JSONModeError as exc:
                if self.options.validate_json_incrementally:
                    exc.message = (
                        f"{self._parser.provider}: the reply is not valid JSON: {exc.message}"
                    )
                    return exc
                self._json = None  # not JSON after all: stop following it
        elif event.type == TOOL_CALL_DELTA and event.index is not None:
            stream = self._tool_json.get(event.index)
            if stream is None:
                stream = self._tool_json[event.index] = JSONStream(hold=True)
            try:
                stream.feed(event.delta or "")
            except JSONModeError:
                return None  # the arguments' own parse error lands on the ToolCall
            event.metadata = {**(event.metadata or {}), "partial_arguments": stream.partial()}
        return None

    def _complete(self) -> Generator[Command, Any, SteerError | None]:
        stream = self._json
        accumulator = self._parser.accumulator
        if stream is not None and accumulator.text_chars == 0 and accumulator.tool_calls_seen:
            stream = None  # a reply of tool calls only: there is no JSON text to check
        if stream is not None:
            try:
                stream.close()
            except JSONModeError as exc:
                if self.options.validate_json_incrementally:
                    exc.message = (
                        f"{self._parser.provider}: the reply is not valid JSON: {exc.message}"
                    )
                    return exc
                stream = None
        response = yield from self._finish_response()
        if stream is not None:
            response._json = stream.value
        if response.usage is not None:
            error = yield from self._callback("on_usage", response.usage)
            if error is not None:
                return error
        error = yield from self._callback("on_complete", response.text)
        if error is not None:
            return error
        self.response = response
        return None

    def _head_error(self, head: ResponseHead) -> Generator[Command, Any, SteerError]:
        try:
            body = yield ReadAll(self._limit(self.options.connection_timeout), ERROR_BODY_LIMIT)
        except SteerError:
            body = b""
        provider = self._parser.provider
        if not 200 <= head.status < 300:
            return error_from_response(provider, head, body, now=time.time())
        snippet = " ".join(body[:300].decode("utf-8", "replace").split())
        return ProtocolError(
            f"{provider}: expected a text/event-stream body, got {head.content_type!r} "
            f"(HTTP {head.status}, from a proxy?): {snippet!r}",
            provider=provider,
        )

    # -- callbacks ------------------------------------------------------------------------

    def _callback(self, name: str, *args: Any) -> Generator[Command, Any, SteerError | None]:
        """Call a user callback; a coroutine callback's result is awaited by the front end."""
        function = getattr(self.options, name)
        if function is None:
            return None
        try:
            result = function(*args)
            if hasattr(result, "__await__"):
                yield Await(result, name)
        except Exception as exc:
            error = CallbackError(
                f"the {name} callback raised {type(exc).__name__}: {exc}",
                callback=name,
                provider=self._parser.provider,
            )
            error.__cause__ = exc
            return error
        return None

    def _fail(self, error: SteerError) -> Generator[Command, Any, None]:
        """Attach what arrived, call ``on_error`` once, raise."""
        error.provider = error.provider or self._parser.provider
        if self.options.preserve_partial_response:
            error.partial_response = yield from self._finish_response()
        else:
            error.partial_response = None
        callback_error = yield from self._callback("on_error", error)
        if callback_error is not None:
            raise callback_error from callback_error.__cause__
        raise error

    # -- retries and time -----------------------------------------------------------------

    def _retry_delay(self, error: SteerError, attempt: int) -> float | None:
        options = self.options
        if self._delivered or not options.retry_on_connection_error:
            return None
        if attempt > options.max_reconnect_attempts:
            return None
        if isinstance(error, APIError):
            if not error.retryable:
                return None
        elif not isinstance(error, _RETRYABLE_FAILURES):
            return None
        base = options.reconnect_delay * 2.0 ** (attempt - 1)
        delay = min(base / 2 + self._rand() * base / 2, MAX_BACKOFF)
        if isinstance(error, APIError) and error.retry_after is not None:
            delay = min(float(error.retry_after), MAX_RETRY_AFTER)
        if self._total_deadline is not None and self._clock() + delay >= self._total_deadline:
            return None  # no time left to wait and try again: the error stands
        return delay

    def _limit(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what is left of ``total_timeout``."""
        if self._total_deadline is None:
            return timeout
        left = self._total_deadline - self._clock()
        return left if timeout is None else min(timeout, left)

    def _timeout_error(self, exc: StreamTimeoutError | None, *, connecting: bool) -> SteerError:
        options = self.options
        now = self._clock()
        if self._total_deadline is not None and now >= self._total_deadline - 1e-3:
            error: TransportError = TotalTimeoutError(
                f"the call took longer than total_timeout={options.total_timeout}s"
                f" ({self._metrics.attempts} attempt(s))",
                timeout=options.total_timeout,
            )
        elif connecting:
            error = ConnectTimeoutError(
                f"no response within connection_timeout={options.connection_timeout}s",
                timeout=options.connection_timeout,
            )
        else:
            error = ReadTimeoutError(
                f"no event for read_timeout={options.read_timeout}s "
                "(keep-alive comments and pings do not count)",
                timeout=options.read_timeout,
            )
        if exc is not None:
            error.__cause__ = exc
        return error

    def _finish_response(self) -> Generator[Command, Any, StreamResponse]:
        response = self._parser.response
        metrics = self._metrics
        metrics.bytes = self._bytes
        metrics.events = response.metrics.events
        metrics.deltas = response.metrics.deltas
        metrics.duration = self._clock() - self._start
        response.metrics = metrics.model_copy()
        response._response_format = self.response_format
        if self._head is not None:
            response.request_id = self._head.request_id
        priced = response.usage  # what the accumulator already priced
        if self.options.enable_usage_aggregation:
            response.usage = yield from self._fill_usage(response)
        usage = response.usage
        estimated = (
            usage is not None
            and usage is not priced
            and any(source != REPORTED for source in usage.get("provenance", {}).values())
        )
        if usage is not None and (response.cost_usd is None or estimated):
            # Priced again only when it must be: estimates changed the numbers, or the
            # reported model name has no price and the one asked for may.
            response.cost_usd, response.cost_breakdown = cost_of(
                usage, response.model, response.provider, fallback_model=self.model
            )
        return response

    def _fill_usage(self, response: StreamResponse) -> Generator[Command, Any, dict[str, Any]]:
        """The response's usage with nothing missing and each number's provenance."""
        usage = response.usage
        encoding = name = None
        if (usage is None or not response.complete) and self.options.aggregator_type != "character":
            name = encoding_for(response.model or self.model, response.provider)
            encoding = loaded_encoding(name)
            if encoding is None and encoding_file(name) is not None:
                try:
                    encoding = yield Compute(partial(load_encoding, name), ENCODING_LOAD_TIMEOUT)
                except Exception:  # too slow, or unreadable: characters it is
                    encoding = None
        arguments = "".join(call.arguments_raw for call in response.tool_calls)
        reasoning = response.reasoning or ""
        text = response.text if self.keep_text else None
        chars = self._parser.accumulator.text_chars + len(reasoning) + len(arguments)
        return fill_usage(
            usage,
            complete=response.complete,
            provider=response.provider,
            prompt_text=request_text(self.request.json()),
            completion_text=None if text is None else text + reasoning + arguments,
            completion_chars=chars,
            encoding=encoding,
            encoding_name=name,
        )


def _coalesce(events: list[StreamEvent], limit: int) -> list[StreamEvent]:
    """Merge runs of text deltas (up to ``limit`` characters each) into one delta."""
    out: list[StreamEvent] = []
    run: list[str] = []
    size = 0
    for event in events:
        if event.type == TEXT_DELTA and size < limit:
            run.append(event.delta or "")
            size += len(event.delta or "")
            continue
        if run:
            out.append(StreamEvent(TEXT_DELTA, "".join(run)))
            run, size = [], 0
        if event.type == TEXT_DELTA:
            run.append(event.delta or "")
            size = len(event.delta or "")
        else:
            out.append(event)
    if run:
        out.append(StreamEvent(TEXT_DELTA, "".join(run)))
    return out
