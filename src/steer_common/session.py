"""One streaming call: the session flow both front ends drive, and its attempts, retries
and deadlines.

:meth:`StreamSession.flow` is a generator that *asks* for I/O and decides everything else.
It yields the commands of :mod:`steer_common.commands`; a front end performs each one and
sends the result back, or throws the transport failure, already mapped to a
:class:`~steer_common.errors.SteerError`, into the generator. This is the httpx
``auth_flow`` pattern: written once, driven twice (and by anyone with a transport of their
own: docs/bring-your-own-transport.md).

The session decides whether to retry and after how long (:mod:`steer_common.retry`: never
once content has reached a consumer, decided by what was decoded, never by how the bytes
were cut into reads), every deadline (``connection_timeout`` for the connection and the
whole head, ``read_timeout`` for the longest silence between meaningful events,
``total_timeout`` for everything, retries and waits included), and when a connection may
go back to the pool (``Close(reuse)``: only after a body read to its end with nothing in
doubt). The rest is in stages of its own, each sans-IO: what of a read's events reaches the
consumer and when (:mod:`steer_common.delivery`), the error of a head that is not a stream
(:func:`steer_common.http.head_error`), the callbacks (:mod:`steer_common.callbacks`), an
attempt's credential (:mod:`steer_common.authorization`), the finished response
(:mod:`steer_common.finishing`). A compressed body is inflated in bounded steps
(:class:`~steer_common.http.BodyDecoder`), the deadlines checked between them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import random
import time
from collections.abc import Callable, Generator, Sequence
from typing import Any, Literal

from steer_common.accumulator import StreamAccumulator
from steer_common.authorization import CREDENTIAL_TIMEOUT, authorized
from steer_common.callbacks import callback, on_deltas
from steer_common.commands import Close, Command, Connect, Deliver, Idle, Read, Sleep
from steer_common.deadlines import Deadlines
from steer_common.delivery import Delivery
from steer_common.errors import (
    APIError,
    InvalidStateError,
    SteerError,
    StreamInterruptedError,
    StreamTimeoutError,
    where,
)
from steer_common.finishing import finish_response
from steer_common.following import JSONFollower
from steer_common.http import (
    ERROR_BODY_TIMEOUT,
    BodyDecoder,
    ResponseHead,
    head_error,
)
from steer_common.models.events import (
    ERROR,
    StreamEvent,
)
from steer_common.models.response import Attempt, ResumePoint, StreamMetrics, StreamResponse
from steer_common.options import StreamingOptions
from steer_common.parser import StreamParser
from steer_common.providers import get_format
from steer_common.request import HTTPRequest
from steer_common.retry import RETRYABLE_FAILURES, retry_delay
from steer_common.spec import Authorizer, CallSpec
from steer_common.survival import Chain, merged, sequel
from steer_common.telemetry import CallTrace, active

__all__ = ["CANCEL_TIMEOUT", "Consumer", "Flow", "StreamSession"]


logger = logging.getLogger("steer_common.session")

Flow = Generator[Command, Any, None]
#: Who receives a call's reply as it streams (see :class:`StreamSession`).
Consumer = Literal["events", "text", "response"]

_NOTHING: Sequence[StreamEvent] = ()
_NO_EVENTS: list[StreamEvent] = []  # never changed: a stand-in between reads


def _prefills(chain: Chain, current: str, model: str | None) -> bool:
    return bool(chain.prefills(model or current))


#: The most seconds a front end spends on :meth:`StreamSession.abandoned`'s request.
CANCEL_TIMEOUT = 10.0


class StreamSession:
    """The state of one streaming call (see the module docstring).

    Args:
        request: the HTTP request to send (from :func:`~steer_common.request.build_request`).
        wire_format: the :class:`~steer_common.StreamParser` format of the reply.
        options: the call's :class:`~steer_common.options.StreamingOptions`.
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
        resume: a kept stream to pick up instead of sending ``request`` (which gives the
            URL and credentials): streamed again from its start, the events up to its
            cursor (``sequence_number`` or ``event_id``) build the response without being
            handed on again.
        chain: how the call's next session is made when this one fails for good: the
            fallback models and the continuation of a reply shown in part
            (:mod:`steer_common.survival`); ``None``: the error stands.

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
        resume: ResumePoint | None = None,
        chain: Chain | None = None,
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
        wire = get_format(wire_format)
        self._content_type = wire.content_type
        asked, resumption = wire.usage_asked, wire.resumption
        # The body, parsed only for a format that reads it.
        body: Any = request.json() if asked is not None or resumption is not None else None
        # Whether the stream must bring usage to be whole (where the request opts in).
        self._usage_expected = asked is None or asked(body)
        # How a stream the provider keeps is picked up again after a cut, and stopped when
        # its consumer leaves (None: not kept); picked up only unless resume="off".
        self._resumption = resumption if resumption is not None and resumption.kept(body) else None
        self._resumes = self._resumption is not None and options.resume != "off"
        #: Where the next attempt picks the kept stream up: (response id, last event).
        self._resume_at: tuple[str, int | str | None] | None = None
        self._sent = request  # the last request sent, authorized (a cancel's credentials)
        self._chain = chain
        # The later session of the chain now streaming (None: this one). Not ``self``: a
        # reference to itself would keep the session, and all it read, alive until the
        # garbage collector runs (and make it run, at about a call in two).
        self._next: StreamSession | None = None
        self._continues: str | None = None  # the text this session continues (a prefill)
        self._quiet = False  # a later session of a chain: the first one calls back
        # The reply must parse as one JSON document: it is not continued by prefill.
        self._json = (
            options.enable_json_stream_handler
            or options.validate_json_incrementally
            or (spec is not None and spec.response_format is not None)
        )
        self._parser = self._new_parser()
        if resume is not None:
            if self._resumption is None:
                self._resumption = resumption
            self._resumes = True
            self._resume_at = (resume.response_id, None)
            if resume.cursor is not None:
                self._parser.show_after(resume.cursor)
        self._flowing = False
        self._deadlines = Deadlines(options, clock)
        self._delivered = False
        self._started = False  # on_start was called
        self._head: ResponseHead | None = None
        # The call's metrics so far, plain numbers (a pydantic model's setattr is slow):
        # its attempts, and when its first byte and first token came.
        self._attempt_count = 0
        self._first_byte: float | None = None
        self._first_token: float | None = None
        self._attempts: list[Attempt] = []
        self._bytes = 0
        # Each attempt's delivery (what of its events reaches the consumer, and when).
        self._deliveries = Delivery.planned(options, consumer, spec, response_format)
        self._delivery: Delivery | None = None
        self._response: StreamResponse | None = None
        # The accumulator whose text the response's still lacks (see ``response``).
        self._unjoined: StreamAccumulator | None = None
        # A response finished when first read (see ``_complete``): the attempt that
        # completed, when it began and ended, and the reply's JSON value.
        self._deferred: tuple[int, float, float, Any] | None = None
        #: The error the flow raised (with its ``partial_response``), once it has.
        self.failure: SteerError | None = None
        #: Told of every failed attempt as it fails, with the error and the seconds until
        #: the retry (``None``: no retry, the error stands): ``on_attempt(attempt, error,
        #: retry_in)``; returning ``False`` refuses that retry (the error stands). A
        #: driver's hook (a batch slows down on a 429 at once, and retries it itself); it
        #: must not block or raise.
        self.on_attempt: Callable[[Attempt, SteerError, float | None], bool | None] | None = None
        #: Seconds with nothing but keep-alives handed on after which the flow asks its
        #: front end to hand the consumer an :class:`~steer_common.commands.Idle` (a
        #: browser relay sends a heartbeat for it), its reads given up for it
        #: (``Read.quiet``) and its retry waits cut into pieces. ``None`` (the default):
        #: silence is only waited through. Set before the flow starts; only a consumer
        #: that expects ``Idle`` among its events sets it.
        self.idle: float | None = None
        self._idle_at = 0.0  # when the consumer is owed an Idle (with idle set)

    def _new_parser(self) -> StreamParser:
        parser = StreamParser(
            self.wire_format,
            max_event_size=self.options.max_event_size,
            keep_text=self.keep_text,
            usage_expected=self._usage_expected,
        )
        if self._continues is not None:
            parser.continue_after(self._continues)
        return parser

    @property
    def response(self) -> StreamResponse | None:
        """The final response, once the flow has ended without an error.

        Its text is joined when it is first read here, not when the stream ends: a
        ``stream()`` consumer has had every chunk, and most never ask for the whole reply
        again (a long reply's join is a copy of it, about 0.2 ms for 200 KB). When the end
        of the call did not need it (see :meth:`_deferrable`), the response itself is made
        here too, from what the end kept.
        """
        response = self._response
        if response is None:
            if self._deferred is None:
                return None
            response = self._response = self._finish_deferred()
        unjoined = self._unjoined
        if unjoined is not None:
            self._unjoined = None
            response.text = unjoined.text
        return response

    @response.setter
    def response(self, response: StreamResponse | None) -> None:
        self._response = response
        self._unjoined = self._deferred = None

    @property
    def delivered(self) -> bool:
        """Content has reached the consumer (yielded, or passed to ``on_delta``): from now
        on nothing is retried. With no one watching (``stream_with_usage`` without
        ``on_delta``) nothing reaches anyone before the end, so this stays ``False``."""
        return self._delivered or (self._next is not None and self._next._delivered)

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
        self._deadlines.begin()
        if self.idle is not None:  # the consumer's silence starts with the call
            self._idle_at = self._deadlines.start + self.idle
        telemetry = active()
        if telemetry is None or not options.enable_telemetry:
            yield from self._sessions_flow()
            return
        trace = self._trace = CallTrace(
            telemetry,
            wire_format=self.wire_format,
            url=self.request.url,
            spec=self.spec,
            model=self.model,
            start=self._deadlines.start,
            parent=self._trace_parent,
        )
        try:
            yield from self._sessions_flow()
        finally:  # a failure is self.failure; a consumer that left early, neither
            failure, first = self.failure, self._first_token
            response = self.response
            if failure is not None and first is not None:
                response = failure.partial_response  # what arrived before the failure
            trace.finish(
                self._clock(), response, failure, attempts=self._attempt_count, first_token=first
            )

    def _sessions_flow(self) -> Flow:
        """This session's attempts, then the sessions that follow it when it fails for
        good (:func:`~steer_common.survival.sequel`), to a response or the error."""
        session, earlier, shown = self, list[StreamResponse](), False
        chain = self._chain
        fallbacks = list(chain.fallbacks) if chain is not None else []
        model = chain.model if chain is not None else ""
        while True:
            error = yield from session._attempts_flow()
            shown = shown or session._delivered
            if error is None:
                break
            partial = None
            if chain is not None or self.options.preserve_partial_response:
                partial = yield from session._finish_response(error)
            step = None
            if chain is not None:
                step = sequel(
                    error,
                    partial=partial,
                    shown=shown,
                    progressed=session._delivered,
                    resume=self.options.resume,
                    fallbacks=fallbacks,
                    prefills=functools.partial(_prefills, chain, model),
                    fallback_on=self.options.fallback_on,
                    continuable=not self._json,
                )
            left = self._deadlines.left()
            if step is None or chain is None or (left is not None and left <= 0):
                whole = merged([*earlier, partial]) if partial is not None else None
                yield from self._fail(error, session, whole)  # raises
                return
            assert partial is not None
            earlier.append(partial)
            if step.model is not None:
                model = fallbacks.pop(fallbacks.index(step.model))
            logger.debug("%s: failed for good (%r); next: %s", session.wire_format, error, step)
            if self._trace is not None:
                self._trace.sequel(model, step.prefill is not None, error)
            session = self._next = chain.open(model, step.prefill)
            session._joins(self, step.prefill)
        if session is not self:
            assert session.response is not None
            response = merged([*earlier, session.response])
            error = yield from self._called_back(response)
            if error is not None:
                yield from self._fail(error, session, response)  # raises
            self.response = response

    def _joins(self, first: StreamSession, prefill: str | None) -> None:
        """Become the next session of ``first``'s call: its deadlines, trace and attempt
        hook, its callbacks called by it, the text shown continued."""
        self._deadlines = first._deadlines  # one total_timeout for the whole call
        self.idle, self._idle_at = first.idle, first._idle_at
        self._trace = first._trace
        self.on_attempt = first.on_attempt
        self._started = self._quiet = True
        self._continues = prefill

    def _attempts_flow(self) -> Generator[Command, Any, SteerError | None]:
        """The attempts of this session: ``None`` once one completed, else the error
        that ended them (its retries spent, or no retry could mend it)."""
        options = self.options
        attempt = 0
        tries = 0  # the attempts since the stream last moved on (what retries are counted by)
        moved: tuple[str, int | str | None] | None = None
        while True:
            attempt += 1
            tries += 1
            self._attempt_count = attempt
            self._head = None
            began = self._clock()
            error = yield from self._attempt(attempt, began)
            if error is None:
                return None
            self._record(attempt, began, error)
            resume = self._resume_point(error)
            if resume is not None and resume != moved:
                moved, tries = resume, 1  # a kept stream went on since its last cut
            delay = retry_delay(
                error,
                tries,
                options,
                delivered=self._delivered and resume is None,
                draw=self._rand(),
                left=self._deadlines.left(),
            )
            if (
                self.on_attempt is not None
                and self.on_attempt(self._attempts[-1], error, delay) is False
            ):
                delay = None
            if delay is None:
                logger.debug("%s: failed after %d attempt(s): %r", self.wire_format, attempt, error)
                return error
            logger.debug(
                "%s: attempt %d failed, retrying in %.2f s: %r",
                self.wire_format,
                attempt,
                delay,
                error,
            )
            # A new record, not a change to it: a partial response made already shares it.
            self._attempts[-1] = self._attempts[-1].model_copy(update={"wait": delay})
            if self._trace is not None:
                self._trace.retry(self._attempts[-1], error)
            self._resume_at = resume
            yield from self._wait(delay)

    def _wait(self, seconds: float) -> Generator[Command, Any, None]:
        """Wait ``seconds`` before the next attempt; with ``idle`` set, in pieces, the
        consumer handed an ``Idle`` each time it is owed one."""
        idle = self.idle
        if idle is None:
            yield Sleep(seconds)
            return
        clock = self._clock
        end = clock() + seconds
        while True:
            now = clock()
            if now >= self._idle_at:
                yield Idle(now - self._idle_at + idle)
                self._idle_at = now + idle
            if now >= end:
                return
            yield Sleep(min(end, self._idle_at) - now)

    def _resume_point(self, error: SteerError) -> tuple[str, int | str | None] | None:
        """Where a kept stream that ``error`` cut can be picked up, or ``None``: not kept,
        not named yet, or ended by the provider's verdict (an in-band error) or the
        consumer's side (invalid JSON, a callback), which no reconnection mends."""
        failed = self._parser.failure
        if not self._resumes or (
            error is failed and type(failed) is not StreamInterruptedError  # a body cut short
        ):
            return None
        if not isinstance(error, RETRYABLE_FAILURES) and not (
            isinstance(error, APIError) and error.retryable
        ):
            return None
        response_id, cursor = self._parser.position
        if response_id is None or cursor is None or self._parser.done:
            return None  # not named yet, or nothing to tell what was handled from the rest
        return response_id, cursor

    def abandoned(self) -> HTTPRequest | None:
        """The request that stops a kept response whose consumer left before its end
        (``break``, ``close()``, a cancelled task), for the front end to send once the
        flow is closed; ``None``: nothing to stop (the call ended, the stream is not kept
        or not named yet, ``keep_background=True``, or it failed with a resume point)."""
        failure = self.failure
        partial = None if failure is None else failure.partial_response
        if partial is not None and partial.resume is not None:
            return None  # it can be picked up later (the partial response's resume): keep it
        current = self._next or self
        resumption = current._resumption
        ended = self._response is not None or self._deferred is not None
        if resumption is None or self.options.keep_background or ended:
            return None
        if failure is not None and current._resume_point(failure) is not None:
            return None  # the same, with preserve_partial_response=False
        response_id, _ = current._parser.position
        if response_id is None or current._parser.done:
            return None
        # The endpoint of the request that began it, with the credentials of the last one
        # sent (a token may have been renewed since).
        began = dataclasses.replace(current.request, headers=current._sent.headers)
        return resumption.cancel(began, response_id)

    def _record(
        self, number: int, began: float, error: SteerError | None, end: float | None = None
    ) -> None:
        """Keep the record of an attempt that ended (at ``end``; ``None``: now), see
        :class:`Attempt`."""
        text = ""
        if error is not None and self.options.preserve_partial_response and self.keep_text:
            text = self._parser.accumulator.text
        if self._attempts and self._attempts[-1].number == number:
            self._attempts.pop()  # it completed, then a callback failed it: the failure stands
        self._attempts.append(
            Attempt(
                number=number,
                status=None if self._head is None else self._head.status,
                duration=(self._clock() if end is None else end) - began,
                error=None if error is None else f"{type(error).__name__}: {error}",
                text=text,
                request_id=None if self._head is None else self._head.request_id,
                model=self.spec.model if self.spec is not None else self.model,
                provider=self._parser.provider,
            )
        )

    def _attempt(self, attempt: int, began: float) -> Generator[Command, Any, SteerError | None]:
        options = self.options
        resume_at = self._resume_at
        if resume_at is None:
            if attempt == 1 and self._continues is None:
                parser = self._parser  # the one made with the session, unused so far
            else:  # a retry, or a prefill to continue (_joins() came after it was made)
                parser = self._parser = self._new_parser()
            request = self.request
        else:  # the same stream, carried on by a new body
            assert self._resumption is not None
            parser = self._parser
            parser.restart()
            request = self._resumption.reconnect(self.request, *resume_at)
        if self._authorize is not None:
            limit = self._deadlines.limit(CREDENTIAL_TIMEOUT) or CREDENTIAL_TIMEOUT
            try:
                request = yield from authorized(request, self._authorize, limit, parser.provider)
            except SteerError as exc:
                return exc
        self._sent = request
        try:
            head: ResponseHead = yield Connect(
                request, self._deadlines.limit(options.connection_timeout), attempt
            )
        except StreamTimeoutError as exc:
            return self._deadlines.error(exc, connecting=True)
        except SteerError as exc:
            return exc
        self._head = head
        limits = (options.connection_timeout, options.read_timeout, ERROR_BODY_TIMEOUT)
        refused = yield from head_error(
            head,
            provider=parser.provider,
            content_type=self._content_type,
            timeout=self._deadlines.limit(min(t for t in limits if t is not None)),
            clock=self._clock,
        )
        if refused is not None:  # not a stream: its typed error, and whether it was read
            yield Close(refused[1])
            return refused[0]
        parser.accumulator.set_head(head, in_events=self.consumer == "events")
        try:
            decoder = BodyDecoder(head.headers.get("content-encoding"))
        except SteerError as exc:
            yield Close(False)
            return exc
        error: SteerError | None = None
        if not self._started:
            self._started = True
            if self.options.on_start is not None:
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
        """Read the body to its end (or its failure), handing on what the attempt's
        :class:`~steer_common.delivery.Delivery` says, as it comes."""
        options = self.options
        self._drained = False
        delivery = self._delivery
        if self._resume_at is None or delivery is None:
            delivery = self._delivery = self._deliveries(parser)
            content = False  # the first content of the attempt was seen
        else:  # a kept stream carried on: what was handed on stays so
            content = self._first_token is not None
        accumulator = parser.accumulator
        trace = self._trace
        traced = 0  # characters of output when telemetry last saw a read
        size = options.chunk_size
        clock = self._clock
        deadlines = self._deadlines
        deadlines.reading(clock())
        read_timeout = options.read_timeout
        pending: Sequence[StreamEvent] = _NOTHING  # handed on with the next Read
        on_delta = options.on_delta
        identity = decoder.identity
        idle = self.idle
        quiet: float | None = None  # how long the next read may wait before an Idle
        while True:
            # How long this read may wait (inline: it runs once per read).
            timeout = deadlines.wait(parser.done)
            if timeout is not None and timeout <= 0:
                if pending:
                    yield Deliver(pending)
                if parser.done:
                    return None  # complete; the body just did not end in time: not pooled
                return deadlines.error(None, connecting=False)
            if idle is not None:
                now = clock()
                quiet = self._idle_at - now
                if quiet <= 0:
                    if pending:
                        yield Deliver(pending)
                        pending = _NOTHING
                    yield Idle(idle - quiet)
                    self._idle_at = now + idle
                    quiet = idle
            try:
                chunk = yield Read(size, timeout, pending, quiet)
            except StreamTimeoutError as exc:
                if parser.done:
                    return None
                return deadlines.error(exc, connecting=False)
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
            # The last read's events are let go before this one is parsed: two reads'
            # events alive at once would cross the garbage collector's threshold (700
            # new objects) on every long read.
            pending = _NOTHING
            events = handled = _NO_EVENTS
            if chunk is None:  # quiet for as long as the read was let wait: an Idle is due
                continue
            now = clock()
            if self._first_byte is None:
                self._first_byte = now - deadlines.start
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
                    handled, failed = delivery.feed(events, now, failed=failure is not None)
                    if failed is not None:
                        failure = failed  # earlier in the bytes than a parser error
                    if read_timeout is not None and delivery.meaningful:
                        deadlines.read = now + read_timeout  # inline: once per read
                    if idle is not None and delivery.meaningful:
                        self._idle_at = now + idle  # keep-alives do not end the silence
                    if not content and delivery.content:
                        # The first content of this attempt: from here on, if anyone sees
                        # the reply as it streams, it is theirs: no retry could take it back.
                        content = True
                        self._delivered = self._live
                        self._first_token = now - deadlines.start
                    if on_delta is not None and handled:
                        error = yield from on_deltas(options, parser.provider, handled)
                        if error is not None:
                            return error
                    if self._yields and handled:
                        pending = handled
                    if trace is not None:
                        chars = accumulator.text_chars + accumulator.other_chars
                        if chars != traced:
                            traced = chars
                            trace.chunk(now)
                if failure is not None:
                    if pending:
                        yield Deliver(pending)  # hand on what arrived, then fail
                    return failure
                if identity or not decoder.pending:
                    break
                # A compressed read inflates in bounded steps: hand on what came, let the
                # event loop run, keep the deadlines, then take the next step.
                yield Deliver(pending)
                pending = _NOTHING
                now = clock()
                timeout = deadlines.wait(parser.done)
                if timeout is not None and timeout <= 0 and not parser.done:
                    return deadlines.error(None, connecting=False)
                try:
                    events = parser.feed(decoder.feed(b""))
                except SteerError as exc:
                    failure = exc
                    events = [e for e in exc.events if e.type != ERROR]
            if not chunk:
                break
        held = delivery.close()
        if pending or held:
            yield Deliver([*pending, *held])
        self._drained = True
        return None

    def _complete(self, attempt: int, began: float) -> Generator[Command, Any, SteerError | None]:
        assert self._delivery is not None
        value, invalid = self._delivery.finish()
        if invalid is not None:
            return invalid
        end = self._clock()
        # The text is joined when the response is read (see ``response``), unless
        # on_complete is owed it now.
        join = self.options.on_complete is not None
        if self._deferrable(join):
            self._deferred = (attempt, began, end, value)
            self._unjoined = self._parser.accumulator
            return None
        response = yield from self._finished(attempt, began, end, value, join_text=join)
        if not self._quiet:
            error = yield from self._called_back(response)
            if error is not None:
                return error
        self._response = response
        self._unjoined = None if join else self._parser.accumulator
        return None

    def _deferrable(self, join: bool) -> bool:
        """Whether the response of a completed call can be finished when it is first read
        (``response``), not now: a consumer that was handed the reply as it came
        (``stream()``, ``stream_events()``) most often never reads it. Not when the end
        of the call needs it (``on_usage``, ``on_complete``, telemetry), nor when finishing
        may have to wait (a tiktoken encoding to load, for usage the stream did not
        report whole)."""
        options = self.options
        if not self._yields or self._trace is not None:
            return False
        if not self._quiet and (join or options.on_usage is not None):
            return False
        accumulator = self._parser.accumulator
        return not options.enable_usage_aggregation or (
            bool(accumulator.usage) and accumulator.complete
        )

    def _finished(
        self, attempt: int, began: float, end: float, value: Any, *, join_text: bool
    ) -> Generator[Command, Any, StreamResponse]:
        """The response of the call that completed at ``end``: its attempt recorded, the
        response finished, the reply's JSON ``value`` on it."""
        self._record(attempt, began, None, end)
        response = yield from self._finish_response(join_text=join_text, end=end)
        if value is not JSONFollower.NONE:
            response._json = value
        return response

    def _finish_deferred(self) -> StreamResponse:
        """The response :meth:`_complete` left to be finished when read."""
        assert self._deferred is not None
        finishing = self._finished(*self._deferred, join_text=False)
        self._deferred = None
        try:
            finishing.send(None)
        except StopIteration as done:
            response: StreamResponse = done.value
            return response
        finishing.close()  # pragma: no cover - _deferrable() defers only what waits for nothing
        raise AssertionError("a deferred response waited for a command")  # pragma: no cover

    def _called_back(self, response: StreamResponse) -> Generator[Command, Any, SteerError | None]:
        """``on_usage`` and ``on_complete`` for the call's response; their error, if any."""
        if response.usage:
            error = yield from self._callback("on_usage", response.usage)
            if error is not None:
                return error
        return (yield from self._callback("on_complete", response.text))

    def _fail(
        self, error: SteerError, session: StreamSession, partial: StreamResponse | None
    ) -> Generator[Command, Any, None]:
        """Say where and how often (of the ``session`` that failed last), attach what
        arrived (``partial``), call ``on_error`` once, raise."""
        provider = error.provider = error.provider or session._parser.provider
        where(error, provider, session.request.origin, session._attempt_count)
        error.partial_response = partial if self.options.preserve_partial_response else None
        self.failure = error
        callback_error = yield from self._callback("on_error", error)
        if callback_error is not None:
            callback_error.partial_response = error.partial_response
            self.failure = callback_error
            raise callback_error from callback_error.__cause__
        raise error

    def _callback(self, name: str, *args: Any) -> Generator[Command, Any, SteerError | None]:
        return callback(self.options, self._parser.provider, name, *args)

    def _finish_response(
        self, failure: SteerError | None = None, *, join_text: bool = True, end: float | None = None
    ) -> Generator[Command, Any, StreamResponse]:
        """The response so far, finished (the partial response when ``failure`` ended it,
        with where to pick a kept stream up); ``end``: when the call ended (``None``: now)."""
        accumulator = self._parser.accumulator
        metrics = StreamMetrics(
            time_to_first_byte=self._first_byte,
            time_to_first_token=self._first_token,
            duration=(self._clock() if end is None else end) - self._deadlines.start,
            events=accumulator.events,
            deltas=accumulator.deltas,
            bytes=self._bytes,
            attempts=self._attempt_count,
        )
        response = yield from finish_response(
            self._parser,
            metrics=metrics,
            attempts=self._attempts,
            head=self._head,
            options=self.options,
            model=self.model,
            text_kept=self.keep_text,
            prompt=self.request.json,
            response_format=self.response_format,
            join_text=join_text,
        )
        if self._resumption is not None and not response.complete:
            response_id, cursor = self._parser.position
            if response_id is not None and failure is not None and self._resume_point(failure):
                provider = self._parser.provider
                model = self.spec.model if self.spec is not None else (self.model or "")
                response.resume = ResumePoint(
                    provider=provider,
                    wire_format=self.wire_format,
                    model=f"{provider}/{model}",
                    response_id=response_id,
                    sequence_number=cursor if type(cursor) is int else None,
                    event_id=cursor if type(cursor) is str else None,
                )
        return response
