"""StreamAccumulator.add_all (the parser's one call per read) folds as add does per event."""

from __future__ import annotations

from pathlib import Path

import pytest

from steer_common import StreamParser
from steer_common.accumulator import StreamAccumulator

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sse"


@pytest.mark.parametrize(
    ("wire", "fixture"),
    [
        ("openai", "openai/chat-parallel-tool-calls.sse"),
        ("openai", "openai/chat-text-include-usage.sse"),
        ("anthropic", "anthropic/redacted-thinking.sse"),
        ("openai_responses", "openai/responses-reasoning-summary-text.sse"),
    ],
)
@pytest.mark.parametrize("keep_text", [True, False])
def test_add_all_is_add_per_event(wire: str, fixture: str, keep_text: bool) -> None:
    parser = StreamParser(wire)
    events = parser.feed((FIXTURES / fixture).read_bytes()) + parser.close()
    one_by_one = StreamAccumulator(keep_text=keep_text, provider="p")
    for event in events:
        one_by_one.add(event)
    batched = StreamAccumulator(keep_text=keep_text, provider="p")
    batched.add_all(events[:3])
    batched.add_all([])
    batched.add_all(events[3:])
    assert batched.result() == one_by_one.result()
    for name in ("events", "deltas", "text_chars", "other_chars", "complete"):
        assert getattr(batched, name) == getattr(one_by_one, name)
    assert one_by_one.events == len(events)
    if keep_text:
        assert batched.text == parser.response.text
