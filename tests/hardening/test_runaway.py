"""A model stuck in a loop, or one that outgrows the cap, in every wire format and both
clients: stopped with a RunawayOutputError, nothing lost, the connection closed."""

from __future__ import annotations

from typing import Any

import pytest

from steer_common import StreamingOptions
from steer_common.errors import RunawayOutputError
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator, emulator_kwargs, emulator_prompt
from tests.parity.test_emulated_providers import MODELS

__all__ = ["emulator"]

LOOP = "I will now repeat myself. "


def run(runner: Any, prompt: str, model: str, options: StreamingOptions) -> tuple[Any, str]:
    received: list[str] = []
    try:
        runner.text(
            prompt, model=model, streaming_options=options.replace(on_delta=received.append)
        )
    except RunawayOutputError as exc:
        return exc, "".join(received)
    raise AssertionError("the runaway was not stopped")


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_a_looping_reply_is_stopped(make_runner: Any, emulator: Emulator, wire_format: str) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    # 2,000 repetitions (52 KB) streamed slowly enough that the stop comes while the server still writes.
    prompt = emulator_prompt("loop", text=LOOP * 2000, chunk_chars=13, event_delay=0.001)
    disconnects = emulator.disconnects
    error, received = run(runner, prompt, model, StreamingOptions())
    assert "repeats" in str(error) and "max_repetitions=50" in str(error)
    partial = error.partial_response
    assert partial is not None and not partial.complete
    assert received == partial.text  # handed on once, all of it
    assert partial.text.startswith(LOOP) and 50 * len(LOOP) <= len(partial.text) < 20_000
    assert emulator.wait_for_disconnect(disconnects + 1)  # the stream was cut, not drained


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_the_size_cap(make_runner: Any, emulator: Emulator, wire_format: str) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    text = " ".join(f"word{i}" for i in range(400))
    prompt = emulator_prompt("long", text=text, chunk_chars=10)
    options = StreamingOptions(max_output_chars=500)
    error, received = run(runner, prompt, model, options)
    assert "max_output_chars=500" in str(error)
    assert received == error.partial_response.text
    partial = error.partial_response
    output = len(partial.text) + len(partial.reasoning or "")  # reasoning counts too
    # Stopped within the read that crossed it: a read brings at most chunk_size bytes.
    assert 500 < output <= 500 + options.chunk_size
    # Off, the same reply streams whole.
    assert "".join(runner.text(prompt, model=model)) == text
