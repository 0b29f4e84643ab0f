"""What a finished call leaves behind, in both clients: nothing the garbage collector must
find. A session that referred to itself kept everything it read (the reply's text, its
events, the response) alive until the collector ran, and made it run about once every two
calls."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from steer_common import StreamingOptions
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
