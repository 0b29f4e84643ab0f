"""What of an attempt's events reaches the consumer, and when: a sans-IO stage.

:class:`Delivery` sits between the parser and the consumer, one per attempt: the session
feeds it each read's events and hands on what :meth:`Delivery.feed` returns. It decides:

- **holding until content**: the preliminaries (``stream_start``, pings: a run of them as
  one) wait for the first content event and go out with it, so a retry before content is
  invisible; if no content ever comes they go out at the end (:meth:`Delivery.close`);
- **JSON mode** (:class:`~steer_common.following.JSONFollower`): the reply followed as
  JSON, its first invalid character a :class:`~steer_common.errors.JSONModeError`, the
  events before it handed on;
- **partial snapshots**: ``json_partial`` (and ``partial_output`` when typed), when due by
  ``partial_interval``, ``partial_chars`` and what a copy costs;
- **coalescing**: runs of text deltas merged up to ``buffer_size`` characters;
- **the runaway guard** (:class:`~steer_common.guard.RunawayGuard`): a reply that loops or
  outgrows ``max_output_chars`` is a :class:`~steer_common.errors.RunawayOutputError`.

It does no I/O and keeps no clock: the session passes ``now``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from steer_common.errors import RunawayOutputError, SteerError
from steer_common.following import JSONFollower
from steer_common.guard import RunawayGuard
from steer_common.models.events import (
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

if TYPE_CHECKING:
    from steer_common.options import StreamingOptions
    from steer_common.parser import StreamParser
    from steer_common.spec import CallSpec

__all__ = ["CONTENT", "Delivery"]

#: The event types that are content: once one reached a consumer, nothing is retried.
CONTENT = frozenset(
    {TEXT_DELTA, REASONING_DELTA, REFUSAL_DELTA, TOOL_CALL_START, TOOL_CALL_DELTA, TOOL_CALL_END}
)


class Delivery:
    """One attempt's delivery (see the module docstring).

    Args:
        parser: the attempt's parser (its accumulator's counts, whether it is done).
        options: the call's options.
        yields: events are handed to a consumer as they arrive (``stream()``,
            ``stream_events()``), not only folded into the response.
        follower: the JSON follower, in JSON mode.

    Attributes:
        content: content has arrived in this attempt.
        meaningful: the last read brought an event other than a ping (it moves the read
            deadline).
        follower: the JSON follower, in JSON mode.
    """

    __slots__ = (
        "_accumulator",
        "_buffer",
        "_guard",
        "_held",
        "_options",
        "_output",
        "_parser",
        "_partial_at",
        "_partial_chars",
        "_partial_final",
        "_watching",
        "_yields",
        "content",
        "follower",
        "meaningful",
    )

    def __init__(
        self,
        parser: StreamParser,
        options: StreamingOptions,
        *,
        yields: bool,
        follower: JSONFollower | None = None,
    ) -> None:
        self._parser = parser
        self._accumulator = parser.accumulator
        self._options = options
        self._yields = yields
        self._buffer = options.buffer_size
        self.follower = follower
        self.content = False
        self.meaningful = False
        self._held: list[StreamEvent] = []  # before the first content: dropped on a retry
        self._partial_at: float | None = None  # when the last partial went out
        self._partial_chars = 0  # the reply's characters then
        self._partial_final = False  # the complete value went out
        guard = None
        if options.max_output_chars is not None or options.max_repetitions is not None:
            guard = RunawayGuard(options.max_output_chars, options.max_repetitions)
        self._guard = guard
        self._watching = guard is not None and guard.watching
        self._output = 0  # characters of output when the guard last saw a read

    @classmethod
    def planned(
        cls, options: StreamingOptions, consumer: str, spec: CallSpec | None, response_format: Any
    ) -> Callable[[StreamParser], Delivery]:
        """What makes each attempt's delivery for a call: JSON mode follows the reply when
        the options ask, or when ``stream_events()`` has typed partials to give (a pydantic
        model as ``response_format``, or tools given as models)."""
        tool_models = (
            {t.name: t.model for t in spec.tools if t.model} if spec and spec.tools else {}
        )
        output_model = response_format if isinstance(response_format, type) else None
        typed = consumer == "events" and (output_model is not None or bool(tool_models))
        json_on = options.enable_json_stream_handler or options.validate_json_incrementally
        yields = consumer != "response"

        def delivery(parser: StreamParser) -> Delivery:
            follower = None
            if json_on or typed:
                follower = JSONFollower(
                    parser.provider,
                    validate=options.validate_json_incrementally,
                    model=output_model,
                    tool_models=tool_models,
                )
            return cls(parser, options, yields=yields, follower=follower)

        return delivery

    def feed(
        self, events: list[StreamEvent], now: float, *, failed: bool = False
    ) -> tuple[list[StreamEvent], SteerError | None]:
        """The events of one read to hand on (none while only preliminaries arrived), and
        the failure that stops the stream if one of them brings it (JSON mode, the guard);
        the events before it are handed on as usual, whatever the packets. ``failed``: the
        read failed already (the parser's error stands; the guard does not judge it)."""
        content = False
        meaningful = False
        json_changed = False
        follower = self.follower
        failure: SteerError | None = None
        if follower is None:
            # Without the JSON follower, all a read's events say here is whether one is
            # content (and so meaningful): the first content event answers both, and the
            # rest of the read is not walked (a read often brings several deltas).
            for event in events:
                kind = event.type
                if kind in CONTENT:
                    content = meaningful = True
                    break
                if kind != PING:
                    meaningful = True
        else:
            for number, event in enumerate(events):
                kind = event.type
                if kind != PING:
                    meaningful = True
                if kind in CONTENT:
                    failure = follower.feed(event)
                    if failure is not None:
                        events = events[:number]
                        break
                    json_changed = json_changed or kind == TEXT_DELTA
                    content = True
        self.meaningful = meaningful
        if self._guard is not None and failure is None and not failed:
            failure = self._check(events)
        if not self.content:
            if not content:
                if self._yields:
                    _hold(self._held, events)
                return [], failure
            self.content = True  # the first content of this attempt
            held = self._held
            if held:
                events = held + events
                held.clear()
        if self._buffer:
            events = _coalesce(events, self._buffer)
        if (
            follower is not None
            and self._yields
            and (json_changed or (self._parser.done and not self._partial_final))
            and follower.following
        ):
            events = self._partials(events, follower, now)
        return events, failure

    def finish(self) -> tuple[Any, SteerError | None]:
        """The body ended whole: in JSON mode, the reply's value (``JSONFollower.NONE``
        otherwise) and the ``JSONModeError`` of a reply that is not the JSON asked for."""
        follower = self.follower
        if follower is None:
            return JSONFollower.NONE, None
        accumulator = self._accumulator
        # A reply of tool calls only has no JSON text to check.
        text = accumulator.text_chars > 0 or not accumulator.tool_calls_seen
        return follower.close(text=text)

    def close(self) -> list[StreamEvent]:
        """The body ended: the preliminaries held for content that never came (a reply of
        nothing still says so: its ``stream_start``)."""
        held = self._held if self._yields else []
        self._held = []
        return held

    def _check(self, events: list[StreamEvent]) -> SteerError | None:
        """The runaway guard, on a read that brought output (a stream of pings must not
        pile up in it)."""
        guard = self._guard
        assert guard is not None
        accumulator = self._accumulator
        chars = accumulator.text_chars + accumulator.other_chars
        if chars == self._output:
            return None
        self._output = chars
        if self._watching:
            guard.add(events)
        if chars >= guard.due:
            runaway = guard.check(chars)
            if runaway is not None:  # never retried: it would run away again
                return RunawayOutputError(f"{self._parser.provider}: {runaway}")
        return None

    def _partials(
        self, events: list[StreamEvent], follower: JSONFollower, now: float
    ) -> list[StreamEvent]:
        """``events`` and, when due (``partial_interval``, ``partial_chars``, and worth its
        copies: :meth:`JSONFollower.partial_due`), the reply's partial value:
        ``json_partial``, and ``partial_output`` when it is typed."""
        options = self._options
        chars = self._accumulator.text_chars
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
