"""EventProcessor: filters and transformers in order, over sync and async streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from steer_common import StreamEvent
from steer_common.pipeline import EventProcessor, TypeFilter
from tests.fixtures import by_name, parse


def recorded_events(name: str) -> list[StreamEvent]:
    return parse(by_name(name))[0]


def test_type_filter_keeps_only_those_types() -> None:
    events = recorded_events("anthropic/tool-use")
    processor = EventProcessor().add_filter(TypeFilter("tool_call_start", "tool_call_end"))
    kept = list(processor.process(events))
    assert [e.type for e in kept] == ["tool_call_start", "tool_call_end"]
    assert kept[1].tool_call is not None and kept[1].tool_call.arguments == {
        "location": "Florence,Italy"
    }


def test_type_filter_rejects_unknown_types() -> None:
    with pytest.raises(ValueError, match="unknown event types"):
        TypeFilter("delta")


def test_steps_run_in_the_order_added() -> None:
    events = [StreamEvent("text_delta", "ab"), StreamEvent("text_delta", "c"), StreamEvent("ping")]
    seen: list[str] = []

    def upper(event: StreamEvent) -> StreamEvent:
        seen.append(f"upper:{event.delta}")
        return StreamEvent(event.type, (event.delta or "").upper())

    def long_enough(event: StreamEvent) -> bool:
        seen.append(f"filter:{event.delta}")
        return len(event.delta or "") > 1

    processor = EventProcessor().add_filter(TypeFilter("text_delta")).add_transformer(upper)
    processor.add_filter(long_enough)
    assert [e.delta for e in processor.process(events)] == ["AB"]
    assert seen == ["upper:ab", "filter:AB", "upper:c", "filter:C"]


def test_a_transformer_returning_none_drops_the_event() -> None:
    processor = EventProcessor().add_transformer(lambda e: None if e.type == "ping" else e)
    assert processor.feed(StreamEvent("ping")) == []
    assert processor.feed(StreamEvent("text_delta", "x")) == [StreamEvent("text_delta", "x")]
    assert processor.close() == []


def test_an_empty_processor_passes_everything() -> None:
    events = recorded_events("openai/chat-parallel-tool-calls")
    assert list(EventProcessor().process(events)) == events


def test_breaking_out_closes_the_source_generator() -> None:
    closed = []

    def source() -> Iterator[StreamEvent]:
        try:
            while True:
                yield StreamEvent("text_delta", "x")
        finally:
            closed.append(True)

    stream = EventProcessor().process(source())
    for _ in stream:
        break
    stream.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_async_streams_are_processed_asynchronously() -> None:
    events = recorded_events("xai/grok-3-mini-reasoning-text")
    closed = []

    async def source() -> AsyncIterator[StreamEvent]:
        try:
            for event in events:
                await asyncio.sleep(0)
                yield event
        finally:
            closed.append(True)

    async def main() -> list[StreamEvent]:
        processor = EventProcessor().add_filter(TypeFilter("reasoning_delta"))
        return [e async for e in processor.process(source())]

    out = asyncio.run(main())
    assert out == [e for e in events if e.type == "reasoning_delta"]
    assert "".join(e.delta or "" for e in out).startswith("First, the user asked")
    assert closed == [True]
