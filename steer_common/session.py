"""One streaming call, every decision in one place: the session flow both front ends drive.

:meth:`StreamSession.flow` is a generator that *asks* for I/O and decides everything else.
It yields the commands of :mod:`steer_common.commands` (``Connect``, ``Read``, ``Close``,
``Await``, ``Compute``, ``Sleep``); a front end performs each one and sends the result
back, or throws the transport failure, already mapped to a
:class:`~steer_common.errors.SteerError`, into the generator. This is the httpx
``auth_flow`` pattern: written once, driven twice (and by anyone with a transport of their
own: docs/bring-your-own-transport.md).

The flow decides:

- which status is which typed error, read from the error body (decoded, bounded, within
  its own deadline); a head that is not an event stream is a ``ProtocolError``;
- whether to retry and after how long (:mod:`steer_common.retry`): never once content has
  reached a consumer (yielded by ``stream()``/``stream_events()`` or passed to
  ``on_delta``), decided by what was decoded, never by how the bytes were cut into reads;
- every deadline: ``connection_timeout`` for the connection and the whole head,
  ``read_timeout`` for the longest silence between meaningful events (comments and pings
  do not count), ``total_timeout`` for everything, retries and waits included;
- the callbacks and their order, coalescing (``buffer_size``), the runaway guard, JSON
  mode (:mod:`steer_common.following`) and whether the stream is complete;
- when a connection may go back to the pool (``Close(reuse)``): only after a body read to
  its end with nothing in doubt.

A compressed body is inflated in bounded steps (:class:`~steer_common.http.BodyDecoder`):
between steps the flow hands on what arrived and checks its deadlines, and an asyncio front
end lets its event loop run, so a decompression bomb costs bounded memory and never
stalls the loop.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Generator, Sequence
from functools import partial
from typing import Any, Literal

from steer_common.commands import Await, Close, Command, Compute, Connect, Read, Sleep
from steer_common.cost import cost_of
from steer_common.errors import (
    APIConnectionError,
    CallbackError,
    ConnectTimeoutError,
    InvalidStateError,
    ProtocolError,
    ReadTimeoutError,
    RunawayOutputError,
    SteerError,
    StreamInterruptedError,
    StreamTimeoutError,
    TotalTimeoutError,
    TransportError,
    register_secret,
)
from steer_common.finishing import REPORTED, complete_usage
from steer_common.following import JSONFollower
from steer_common.guard import RunawayGuard
from steer_common.http import BodyDecoder, ResponseHead, error_from_response, read_error_body
from steer_common.metadata import response_metadata
from steer_common.models.events import (
    ERROR,
    JSON_PARTIAL,
    PARTIAL_OUTPUT,
    PING,
    REASONING_DELTA,
    REFUSAL_DELTA,
    TEXT_DELTA,
    TOOL_CALL_DELTA,
    TOOL_CALL_END,
    TOOL_CALL_START,
    StreamEvent,
)
from steer_common.models.response import Attempt, StreamMetrics, StreamResponse
from steer_common.models.streaming import StreamingOptions
from steer_common.parser import StreamParser
from steer_common.providers import get_format
from steer_common.request import HTTPRequest
from steer_common.retry import retry_delay
from steer_common.secrets import Secret
from steer_common.spec import Authorizer, CallSpec
from steer_common.telemetry import CallTrace, active

__all__ = [
    "CREDENTIAL_TIMEOUT",
    "DRAIN_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "ERROR_BODY_TIMEOUT",
    "MAX_HEADER_FIELDS",
    "Consumer",
    "Flow",
    "StreamSession",
]

#: The most bytes of an error body read (once decoded) to explain an error status.
ERROR_BODY_LIMIT = 64 * 1024
#: The longest an error body is waited for (shorter when a timeout option is): an error
#: body is small, and a server that drips it must not hold the call.
ERROR_BODY_TIMEOUT = 30.0
#: The most header fields a response head may have: http.client's limit (100 lines, the
#: blank one that ends the head included), which the blocking client cannot lift without
#: changing it for the whole process, so both clients refuse more, with a ProtocolError.
MAX_HEADER_FIELDS = 99
#: The longest a credential (an OAuth token refresh, a cloud SDK's chain) is waited for
#: before an attempt (shorter when total_timeout is): past it the attempt fails with a
#: ConnectTimeoutError, and is retried as one.
CREDENTIAL_TIMEOUT = 30.0
#: After the terminal signal, how long to wait for the end of the body so that the
#: connection can go back to the pool; past it the connection is closed instead.
DRAIN_TIMEOUT = 2.0

logger = logging.getLogger("steer_common.session")

Flow = Generator[Command, Any, None]
#: Who receives a call's reply as it streams (see :class:`StreamSession`).
Consumer = Literal["events", "text", "response"]

_CONTENT = frozenset(
    {TEXT_DELTA, REASONING_DELTA, REFUSAL_DELTA, TOOL_CALL_START, TOOL_CALL_DELTA, TOOL_CALL_END}
)
_NOTHING: Sequence[StreamEvent] = ()
# Headers an authorizer may set whose whole value is a secret (a SigV4 signature is not:
# it is new for every request, and proves nothing once the request is sent).
_TOKEN_HEADERS = frozenset({"api-key", "x-api-key", "x-goog-api-key", "x-amz-security-token"})


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
            one their sleeps use; tests pass one they move by hand).
        rand: a ``[0, 1)`` random source for the backoff jitter.
        authorize: what authorizes each attempt when no fixed key does (an OAuth token, a
            SigV4 signature): its headers are added to the request before each attempt.
            It may block, so it is asked of the front end as a ``Compute``.
        spec: the provider-neutral request (what telemetry says of the request).
        trace_parent: the OpenTelemetry context the call's span is a child of (an agent
            run's); ``None``: the current one.

    A session drives one call: :meth:`flow` may be started once.
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
        authorize: Authorizer | None = None,
        spec: CallSpec | None = None,
        trace_parent: Any = None,
    ) -> None:
        self.request = request
        self.spec = spec
        self._trace_parent = trace_parent
        self._trace: CallTrace | None = None
        self._authorize = authorize
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
        wire = get_format(wire_format)
        self._content_type = wire.content_type
        # Whether the stream must bring usage to be whole (where the request opts in).
        self._usage_expected = wire.usage_asked is None or wire.usage_asked(request.json())
        self._flowing = False
        self._start = 0.0
        self._total_deadline: float | None = None
        self._read_deadline: float | None = None
        self._delivered = False
        self._content = False  # content arrived in this attempt
        self._started = False  # on_start was called
        self._head: ResponseHead | None = None
        self._metrics = StreamMetrics(attempts=0)
        self._attempts: list[Attempt] = []
        self._bytes = 0
        # Typed partials for stream_events() when the reply or a tool has a pydantic model.
        self._tool_models = {t.name: t.model for t in spec.tools if t.model} if spec else {}
        self._output_model = response_format if isinstance(response_format, type) else None
        typed = consumer == "events" and (self._output_model is not None or bool(self._tool_models))
        self._json_on = (
            options.enable_json_stream_handler or options.validate_json_incrementally or typed
        )
        # The partials of an attempt (reset by each): when the last went out, the reply's
        # characters then, whether the complete value went out.
        self._partial_at: float | None = None
        self._partial_chars = 0
        self._partial_final = False
        self._follower: JSONFollower | None = None
        #: The final response, once the flow has ended without an error.
        self.response: StreamResponse | None = None
        #: The error the flow raised (with its ``partial_response``), once it has.
        self.failure: SteerError | None = None
        #: Told of every failed attempt as it fails, with the error and the seconds until
        #: the retry (``None``: no retry, the error stands): ``on_attempt(attempt, error,
        #: retry_in)``; returning ``False`` refuses that retry (the error stands). A
        #: driver's hook (a batch slows down on a 429 at once, and retries it itself); it
        #: must not block or raise.
        self.on_attempt: Callable[[Attempt, SteerError, float | None], bool | None] | None = None

    @property
    def delivered(self) -> bool:
        """Content has reached the consumer (yielded, or passed to ``on_delta``): from now
        on nothing is retried. With no one watching (``stream_with_usage`` without
        ``on_delta``) nothing reaches anyone before the end, so this stays ``False``."""
        return self._delivered

    # -- the flow -------------------------------------------------------------------------

    def flow(self) -> Flow:
        """The generator a front end drives (see the module docstring).

        Raises:
            InvalidStateError: the flow was already started (a session is one call).
        """
        if self._flowing:
            raise InvalidStateError(
                "this session's flow was already started: a session drives one call "
                "(prepare a new session for another)"
            )
        self._flowing = True
        return self._flow()

    def _flow(self) -> Flow:
        options = self.options
        self._start = self._clock()
        if options.total_timeout is not None:
            self._total_deadline = self._start + options.total_timeout
        telemetry = active()
        if telemetry is None or not options.enable_telemetry:
            yield from self._attempts_flow()
            return
        trace = self._trace = CallTrace(
            telemetry,
            wire_format=self.wire_format,
            url=self.request.url,
            spec=self.spec,
            model=self.model,
            start=self._start,
            parent=self._trace_parent,
        )
        failure: BaseException | None = None
        try:
            yield from self._attempts_flow()
        except BaseException as exc:
            failure = None if isinstance(exc, GeneratorExit) else exc
            raise
        finally:
            response = self.response
            if isinstance(failure, SteerError) and self._metrics.time_to_first_token is not None:
                response = failure.partial_response  # what arrived before the failure
            trace.finish(
                self._clock(),
                response,
                failure,
                attempts=self._metrics.attempts,
                first_token=self._metrics.time_to_first_token,
            )

    def _attempts_flow(self) -> Flow:
        options = self.options
        attempt = 0
        while True:
            attempt += 1
            self._metrics.attempts = attempt
            self._head = None
            began = self._clock()
            error = yield from self._attempt(attempt, began)
            if error is None:
                return
            self._record(attempt, began, error)
            delay = retry_delay(
                error,
                attempt,
                options,
                delivered=self._delivered,
                draw=self._rand(),
                left=self._left(),
            )
            if (
                self.on_attempt is not None
                and self.on_attempt(self._attempts[-1], error, delay) is False
            ):
                delay = None
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
            self._attempts[-1].wait = delay
            if self._trace is not None:
                self._trace.retry(self._attempts[-1], error)
            yield Sleep(delay)

    def _record(self, number: int, began: float, error: SteerError | None) -> None:
        """Keep the record of an attempt that ended (see :class:`Attempt`)."""
        text = ""
        if error is not None and self.options.preserve_partial_response and self.keep_text:
            text = self._parser.accumulator.text
        if self._attempts and self._attempts[-1].number == number:
            self._attempts.pop()  # it completed, then a callback failed it: the failure stands
        self._attempts.append(
            Attempt(
                number=number,
                status=None if self._head is None else self._head.status,
                duration=self._clock() - began,
                error=None if error is None else f"{type(error).__name__}: {error}",
                text=text,
            )
        )

    def _attempt(self, attempt: int, began: float) -> Generator[Command, Any, SteerError | None]:
        options = self.options
        parser = self._parser = StreamParser(
            self.wire_format,
            max_event_size=options.max_event_size,
            keep_text=self.keep_text,
            usage_expected=self._usage_expected,
        )
        request = self.request
        if self._authorize is not None:
            try:
                request = yield from self._authorized(request)
            except SteerError as exc:
                return exc
        try:
            head: ResponseHead = yield Connect(
                request, self._limit(options.connection_timeout), attempt
            )
        except StreamTimeoutError as exc:
            return self._timeout_error(exc, connecting=True)
        except SteerError as exc:
            return exc
        self._head = head
        if head.fields > MAX_HEADER_FIELDS:
            yield Close(False)
            return ProtocolError(
                f"{parser.provider}: the response head has {head.fields} header fields "
                f"(more than {MAX_HEADER_FIELDS} header fields are refused)",
                provider=parser.provider,
            )
        if not 200 <= head.status < 300 or (
            head.content_type and head.content_type != self._content_type
        ):
            refusal, read_whole = yield from self._head_error(head)
            yield Close(read_whole)
            return refusal
        parser.accumulator.head = response_metadata(head.headers, head.request_id)
        try:
            decoder = BodyDecoder(head.headers.get("content-encoding"))
        except SteerError as exc:
            yield Close(False)
            return exc
        error: SteerError | None = None
        if not self._started:
            self._started = True
            error = yield from self._callback("on_start")
        if error is None:
            error = yield from self._body(parser, decoder)
        if error is not None:
            yield Close(False)  # a failure inside a body leaves the connection in doubt
            return error
        yield Close(self._drained)
        return (yield from self._complete(attempt, began))

    def _body(
        self, parser: StreamParser, decoder: BodyDecoder
    ) -> Generator[Command, Any, SteerError | None]:
        """Read the body to its end (or its failure), handing events on as they come."""
        options = self.options
        self._drained = False
        self._content = False
        held: list[StreamEvent] = []  # events before the first content: dropped on a retry
        self._partial_at, self._partial_chars, self._partial_final = None, 0, False
        self._follower = (
            JSONFollower(
                parser.provider,
                validate=options.validate_json_incrementally,
                model=self._output_model,
                tool_models=self._tool_models,
            )
            if self._json_on
            else None
        )
        guard = None
        if options.max_output_chars is not None or options.max_repetitions is not None:
            guard = RunawayGuard(options.max_output_chars, options.max_repetitions)
        watching = guard is not None and guard.watching
        accumulator = parser.accumulator
        output = 0  # characters of output when the guard last saw a read
        trace = self._trace
        traced = 0  # the same, for telemetry's time per chunk
        size = options.chunk_size
        read_timeout = options.read_timeout
        clock = self._clock
        self._read_deadline = None if read_timeout is None else clock() + read_timeout
        metrics = self._metrics
        pending: Sequence[StreamEvent] = _NOTHING  # handed on with the next Read
        on_delta = options.on_delta
        identity = decoder.identity
        while True:
            # How long this read may wait (inline: it runs once per read).
            timeout = self._wait(parser.done)
            if timeout is not None and timeout <= 0:
                if pending:
                    yield Read(0, 0.0, pending)
                if parser.done:
                    return None  # complete; the body just did not end in time: not pooled
                return self._timeout_error(None, connecting=False)
            try:
                chunk = yield Read(size, timeout, pending)
            except StreamTimeoutError as exc:
                if parser.done:
                    return None
                return self._timeout_error(exc, connecting=False)
            except SteerError as exc:
                if parser.done:
                    return None
                # The connection broke inside the body: the stream is cut short.
                cut = StreamInterruptedError(
                    f"{parser.provider}: the connection broke before the end of the stream ({exc})",
                    provider=parser.provider,
                )
                cut.__cause__ = exc
                return cut
            pending = _NOTHING
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
            while True:
                if events:
                    handled, failed = self._handle(events, held, now)
                    if failed is not None:
                        failure = failed  # earlier in the bytes than a parser error
                    if on_delta is not None and handled:
                        error = yield from self._on_deltas(handled)
                        if error is not None:
                            return error
                    if self._yields and handled:
                        pending = handled
                    chars = accumulator.text_chars + accumulator.other_chars
                    if trace is not None and chars != traced:
                        traced = chars
                        trace.chunk(now)
                    if guard is not None and chars != output:
                        # Only reads that brought output are kept for the guard (a stream
                        # of pings must not pile up in it).
                        output = chars
                        if watching:
                            guard.add(events)
                        if chars >= guard.due and failure is None:
                            runaway = guard.check(chars)
                            if runaway is not None:  # never retried: it would run away again
                                failure = RunawayOutputError(f"{parser.provider}: {runaway}")
                if failure is not None:
                    if pending:
                        yield Read(0, 0.0, pending)  # hand on what arrived, then fail
                    return failure
                if identity or not decoder.pending:
                    break
                # A compressed read inflates in bounded steps: hand on what came, let the
                # event loop run, keep the deadlines, then take the next step.
                yield Read(0, 0.0, pending)
                pending = _NOTHING
                now = clock()
                timeout = self._wait(parser.done)
                if timeout is not None and timeout <= 0 and not parser.done:
                    return self._timeout_error(None, connecting=False)
                try:
                    events = parser.feed(decoder.feed(b""))
                except SteerError as exc:
                    failure = exc
                    events = [e for e in exc.events if e.type != ERROR]
            if not chunk:
                break
        if pending:
            yield Read(0, 0.0, pending)
        if held and self._yields:
            yield Read(0, 0.0, held)
        self._drained = True
        return None

    def _wait(self, done: bool) -> float | None:
        """How long the next read may wait: to the read deadline (or, once the terminal
        signal came, a short drain), within the total deadline."""
        clock = self._clock
        deadline = clock() + DRAIN_TIMEOUT if done else self._read_deadline
        total = self._total_deadline
        if total is not None and (deadline is None or total < deadline):
            deadline = total
        return None if deadline is None else deadline - clock()

    def _on_deltas(
        self, events: Sequence[StreamEvent]
    ) -> Generator[Command, Any, SteerError | None]:
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
        follower = self._follower
        failure: SteerError | None = None
        if follower is None:
            # Without the JSON follower, all a read's events say here is whether one is
            # content (and so meaningful): the first content event answers both, and the
            # rest of the read is not walked (a read often brings several deltas).
            for event in events:
                kind = event.type
                if kind in _CONTENT:
                    content = meaningful = True
                    break
                if kind != PING:
                    meaningful = True
        else:
            for number, event in enumerate(events):
                kind = event.type
                if kind != PING:
                    meaningful = True
                if kind in _CONTENT:
                    failure = follower.feed(event)
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
                    _hold(held, events)
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
        if (
            follower is not None
            and self._yields
            and (json_changed or (self._parser.done and not self._partial_final))
            and follower.following
        ):
            events = self._partials(events, follower, now)
        return events, failure

    def _partials(
        self, events: list[StreamEvent], follower: JSONFollower, now: float
    ) -> list[StreamEvent]:
        """``events`` and, when due (``partial_interval``, ``partial_chars``, and worth its
        copies: :meth:`JSONFollower.partial_due`), the reply's partial value:
        ``json_partial``, and ``partial_output`` when it is typed."""
        options = self.options
        chars = self._parser.accumulator.text_chars
        if self._partial_final:
            return events
        if not (follower.done or self._parser.done) and (
            (
                options.partial_interval is not None
                and self._partial_at is not None
                and now - self._partial_at < options.partial_interval
            )
            or (
                options.partial_chars is not None
                and chars - self._partial_chars < options.partial_chars
            )
            or not follower.partial_due(chars - self._partial_chars)
        ):
            return events
        self._partial_at, self._partial_chars = now, chars
        value = follower.partial()
        events = [*events, StreamEvent(JSON_PARTIAL, metadata={"value": value})]
        if follower.typed:
            output, complete = follower.partial_output(value)
            self._partial_final = complete
            if output is not None:
                metadata = {"value": output, "complete": complete}
                events.append(StreamEvent(PARTIAL_OUTPUT, metadata=metadata))
        return events

    def _complete(self, attempt: int, began: float) -> Generator[Command, Any, SteerError | None]:
        value = JSONFollower.NONE
        follower = self._follower
        if follower is not None:
            accumulator = self._parser.accumulator
            # A reply of tool calls only has no JSON text to check.
            text = accumulator.text_chars > 0 or not accumulator.tool_calls_seen
            value, invalid = follower.close(text=text)
            if invalid is not None:
                return invalid
        self._record(attempt, began, None)
        response = yield from self._finish_response()
        if value is not JSONFollower.NONE:
            response._json = value
        if response.usage is not None:
            error = yield from self._callback("on_usage", response.usage)
            if error is not None:
                return error
        error = yield from self._callback("on_complete", response.text)
        if error is not None:
            return error
        self.response = response
        return None

    def _head_error(self, head: ResponseHead) -> Generator[Command, Any, tuple[SteerError, bool]]:
        """The typed error for a head that is not a 200 event stream, and whether its body
        was read to its end (:func:`~steer_common.http.read_error_body`: decoded, bounded,
        within its own deadline: the shortest of ``connection_timeout``, ``read_timeout``
        and :data:`ERROR_BODY_TIMEOUT`, from the head, within ``total_timeout``)."""
        provider = self._parser.provider
        options = self.options
        limits = (options.connection_timeout, options.read_timeout, ERROR_BODY_TIMEOUT)
        timeout = self._limit(min(t for t in limits if t is not None))
        deadline = None if timeout is None else self._clock() + timeout
        body, whole = yield from read_error_body(head, ERROR_BODY_LIMIT, deadline, self._clock)
        if not 200 <= head.status < 300:
            return error_from_response(provider, head, body, now=time.time()), whole
        snippet = " ".join(body[:300].decode("utf-8", "replace").split())
        return ProtocolError(
            f"{provider}: expected a {self._content_type} body, got {head.content_type!r} "
            f"(HTTP {head.status}, from a proxy?): {snippet!r}",
            provider=provider,
        ), whole

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
        """Say where and how often, attach what arrived, call ``on_error`` once, raise."""
        provider = error.provider = error.provider or self._parser.provider
        error.message = _where(error.message, provider, self.request, self._metrics.attempts)
        if self.options.preserve_partial_response:
            error.partial_response = yield from self._finish_response()
        else:
            error.partial_response = None
        self.failure = error
        callback_error = yield from self._callback("on_error", error)
        if callback_error is not None:
            callback_error.partial_response = error.partial_response
            self.failure = callback_error
            raise callback_error from callback_error.__cause__
        raise error

    # -- time -----------------------------------------------------------------------------

    def _left(self) -> float | None:
        """Seconds left before ``total_timeout`` (``None``: none set)."""
        if self._total_deadline is None:
            return None
        return self._total_deadline - self._clock()

    def _authorized(self, request: HTTPRequest) -> Generator[Command, Any, HTTPRequest]:
        """``request`` with the authorizer's headers for this attempt (see ``authorize``).

        Raises:
            SteerError: the authorizer's own (a missing credential is a
                ``MissingAPIKeyError``), a ``ConnectTimeoutError`` when it was too slow, an
                ``APIConnectionError`` for any other failure (a token endpoint unreachable).
        """
        authorize = self._authorize
        assert authorize is not None
        limit = self._limit(CREDENTIAL_TIMEOUT) or CREDENTIAL_TIMEOUT
        provider = self._parser.provider
        try:
            headers = yield Compute(partial(authorize, request), limit)
        except SteerError:
            raise
        except Exception as exc:
            timed_out = isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError"
            if timed_out:
                error: SteerError = ConnectTimeoutError(
                    f"{provider}: no credential within {limit:g}s", timeout=limit
                )
            else:
                error = APIConnectionError(
                    f"{provider}: could not get a credential: {type(exc).__name__}: {exc}",
                    provider=provider,
                )
            error.__cause__ = exc
            raise error from exc
        merged = dict(request.headers)
        for name, value in headers.items():
            scheme, _, token = value.partition(" ")
            if scheme.lower() == "bearer":
                register_secret(token)  # a token lives an hour or so: a new one is rare
            elif name.lower() in _TOKEN_HEADERS:
                register_secret(value)
            merged[name.lower()] = Secret(value)
        return HTTPRequest(request.method, request.url, merged, request.body)

    def _limit(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what is left of ``total_timeout``."""
        left = self._left()
        if left is None:
            return timeout
        return left if timeout is None else min(timeout, left)

    def _timeout_error(self, exc: StreamTimeoutError | None, *, connecting: bool) -> SteerError:
        options = self.options
        now = self._clock()
        if self._total_deadline is not None and now >= self._total_deadline - 1e-3:
            error: TransportError = TotalTimeoutError(
                f"the call took longer than total_timeout={options.total_timeout}s",
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
        response.attempts = [a.model_copy() for a in self._attempts]
        response._response_format = self.response_format
        if self._head is not None:
            response.request_id = self._head.request_id
        priced = response.usage  # what the accumulator already priced
        if self.options.enable_usage_aggregation:
            response.usage = yield from complete_usage(
                response,
                model=self.model,
                aggregator=self.options.aggregator_type,
                text_chars=self._parser.accumulator.text_chars,
                text_kept=self.keep_text,
                prompt=self.request.json(),
            )
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


def _where(message: str, provider: str | None, request: HTTPRequest, attempts: int) -> str:
    """``message`` naming the provider, the host (its origin: never a key, a path or a
    query) and the attempts made when there was more than one: ``"openai: no event for
    read_timeout=1.0s (at https://api.openai.com, after 4 attempts)"``."""
    if provider and not message.startswith(f"{provider}:"):
        message = f"{provider}: {message}"
    origin = request.origin
    where = [] if origin in message else [f"at {origin}"]
    if attempts > 1:
        where.append(f"after {attempts} attempts")
    return f"{message} ({', '.join(where)})" if where else message


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


def _hold(held: list[StreamEvent], events: list[StreamEvent]) -> None:
    """Keep the events before the first content, a run of pings as its last one (a stream
    of keep-alives before content costs one event, not one per comment)."""
    for event in events:
        if event.type == PING and held and held[-1].type == PING:
            held[-1] = event
        else:
            held.append(event)
