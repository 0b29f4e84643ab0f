"""What a finished call leaves behind, in both clients: nothing the garbage collector must
find. A session that referred to itself kept everything it read (the reply's text, its
events, the response) alive until the collector ran, and made it run about once every two
calls."""

from __future__ import annotations

import gc
import inspect
from typing import Any

import pytest

from steer_common import StreamingOptions, StreamParser
from steer_common.commands import Read
from steer_common.models.events import StreamEvent
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt

OURS = ("steer_common", "steer_sync", "steer_async")


JSON = StreamingOptions(enable_json_stream_handler=True, max_output_chars=10_000)


@pytest.mark.parametrize("how", ["text", "response", "events", "held"])
@pytest.mark.parametrize(
    ("options", "reply"),
    [(None, "Fine."), (JSON, '{"answer": 42}'), (JSON, "not JSON after all")],
    ids=["defaults", "json-and-guard", "json-handler-on-text"],
)
def test_a_finished_call_leaves_no_reference_cycle(
    make_runner: Any, emulator: Emulator, how: str, options: StreamingOptions | None, reply: str
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    call = getattr(runner, how)
    prompt = emulator_prompt("Answer.", text=reply)
    call(prompt, model="gpt-4o-mini", streaming_options=options)  # connections, caches
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds is kept in gc.garbage
    try:
        call(prompt, model="gpt-4o-mini", streaming_options=options)
        gc.collect()
        cycles = sorted(
            {type(o).__qualname__ for o in gc.garbage if type(o).__module__.startswith(OURS)}
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert cycles == []


def test_a_read_s_events_are_let_go_before_the_next_read_is_parsed(
    make_runner: Any, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two reads' events alive at once cross the collector's threshold (700 new objects)
    # on a busy stream: while a read is parsed, neither the session's flow nor the
    # client's driver (through its last Read command) keeps the last read's events.
    fed: list[list[StreamEvent]] = []
    held: list[int] = []
    feed = StreamParser.feed

    def watched(parser: StreamParser, data: bytes) -> list[StreamEvent]:
        if fed and fed[-1]:
            holders = gc.get_referrers(fed[-1])
            held.append(
                sum(
                    isinstance(r, Read) or inspect.isgenerator(r) or inspect.isasyncgen(r)
                    for r in holders
                )
            )
        fed.append(feed(parser, data))
        return fed[-1]

    monkeypatch.setattr(StreamParser, "feed", watched)
    runner = make_runner(**emulator_kwargs(emulator))
    chunks = runner.text(emulator_prompt("Answer.", text="word " * 300), model="gpt-4o-mini")
    assert "".join(chunks) == "word " * 300
    assert len(held) >= 2 and held == [0] * len(held)
