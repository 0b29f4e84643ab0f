"""``EventProcessor``: filter and transform a stream of events, sync or async.

A processor holds an ordered list of steps. A *filter* is a predicate: an event for which
it returns false is dropped. A *transformer* takes an event and returns an event (the
same one, a changed one, or a new one) or ``None`` to drop it. Steps run in the order
they were added::

    processor = EventProcessor()
    processor.add_filter(TypeFilter("text_delta", "tool_call_end"))
    processor.add_transformer(lambda e: StreamEvent(e.type, (e.delta or "").upper()) if e.delta else e)
    for event in processor.process(client.stream_events("hi", model="gpt-4o-mini")):
        ...

``process`` takes an iterable (and returns an iterator) or an async iterable (and returns
an async iterator), so the same processor serves both clients. ``feed``/``close`` is the
same pipeline for code that pushes events itself (the core's verb pair).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import overload

from steer_common.models.events import EVENT_TYPES, StreamEvent

__all__ = ["EventFilter", "EventProcessor", "EventTransformer", "TypeFilter"]

EventFilter = Callable[[StreamEvent], bool]
EventTransformer = Callable[[StreamEvent], "StreamEvent | None"]


class TypeFilter:
    """A filter that keeps only events of the given types.

    Raises:
        ValueError: a type that no event has (a typo would otherwise drop everything).
    """

    __slots__ = ("types",)

    def __init__(self, *types: str) -> None:
        unknown = [t for t in types if t not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
        self.types = frozenset(types)

    def __call__(self, event: StreamEvent) -> bool:
        return event.type in self.types

    def __repr__(self) -> str:
        return f"TypeFilter({', '.join(sorted(self.types))})"


class EventProcessor:
    """An ordered pipeline of filters and transformers (see the module docstring)."""

    __slots__ = ("_steps",)

    def __init__(self) -> None:
        # (is_filter, function) in the order added.
        self._steps: list[tuple[bool, Callable[[StreamEvent], object]]] = []

    def add_filter(self, predicate: EventFilter) -> EventProcessor:
        """Drop events for which ``predicate(event)`` is false. Returns ``self``."""
        self._steps.append((True, predicate))
        return self

    def add_transformer(self, transformer: EventTransformer) -> EventProcessor:
        """Replace each event by ``transformer(event)`` (``None`` drops it). Returns ``self``."""
        self._steps.append((False, transformer))
        return self

    def process_event(self, event: StreamEvent) -> StreamEvent | None:
        """Run one event through every step: the event to hand on, or ``None``."""
        current: StreamEvent | None = event
        for is_filter, step in self._steps:
            if is_filter:
                if not step(current):  # type: ignore[arg-type]
                    return None
            else:
                result = step(current)  # type: ignore[arg-type]
                if result is None:
                    return None
                current = result  # type: ignore[assignment]
        return current

    def feed(self, event: StreamEvent) -> list[StreamEvent]:
        """Push one event; return what comes out (zero or one event)."""
        result = self.process_event(event)
        return [] if result is None else [result]

    def close(self) -> list[StreamEvent]:
        """End of the stream. The built-in steps hold nothing back, so this returns ``[]``."""
        return []

    @overload
    def process(self, stream: AsyncIterable[StreamEvent]) -> AsyncIterator[StreamEvent]: ...

    @overload
    def process(self, stream: Iterable[StreamEvent]) -> Iterator[StreamEvent]: ...

    def process(
        self, stream: Iterable[StreamEvent] | AsyncIterable[StreamEvent]
    ) -> Iterator[StreamEvent] | AsyncIterator[StreamEvent]:
        """Filter and transform a whole stream, sync or async (whichever ``stream`` is)."""
        if isinstance(stream, AsyncIterable):
            return self._aprocess(stream)
        return self._process(stream)

    def _process(self, stream: Iterable[StreamEvent]) -> Iterator[StreamEvent]:
        process_event = self.process_event
        iterator = iter(stream)
        try:
            for event in iterator:
                result = process_event(event)
                if result is not None:
                    yield result
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()  # an early break closes the source stream (and its connection)

    async def _aprocess(self, stream: AsyncIterable[StreamEvent]) -> AsyncIterator[StreamEvent]:
        process_event = self.process_event
        iterator = aiter(stream)
        try:
            async for event in iterator:
                result = process_event(event)
                if result is not None:
                    yield result
        finally:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
