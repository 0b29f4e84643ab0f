"""``buffer_size`` and ``chunk_size`` act where the guide says, in both clients: the deltas
that piled up while the consumer was busy arrive coalesced (through ``stream()``,
``stream_events()`` and ``on_delta``), and a consumer that keeps up still gets every delta
the moment it arrives."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from steer_common import HIGH_THROUGHPUT_OPTIONS, StreamingOptions
from steer_sync.emulator import Emulator
from tests.parity.conftest import AsyncRunner, emulator_kwargs, emulator_prompt

# 400 one-character deltas, written one HTTP chunk each, 0.5 ms apart: a consumer that
# pauses after the first until the emulator has written them all finds them all waiting.
TEXT = "".join(chr(ord("a") + i % 26) for i in range(400))
PILE = emulator_prompt("pile", deltas=list(TEXT), event_delay=0.0005)
# How long a paused consumer waits at most for the emulator to finish writing (it takes
# about 0.2 s; a fixed pause of 0.3 s was too short on a loaded machine).
WRITTEN_WITHIN = 20.0


def deliveries(
    runner: Any, how: str, prompt: str, options: StreamingOptions, emulator: Emulator
) -> list[str]:
    """The text as the consumer received it, piece by piece; after the first piece it pauses
    until the emulator has written the whole reply."""
    got: list[str] = []
    if isinstance(runner, AsyncRunner):

        async def pause() -> None:
            await asyncio.to_thread(emulator.wait_for_streams, 0, WRITTEN_WITHIN)

        async def on_delta(text: str) -> None:
            got.append(text)
            if len(got) == 1:
                await pause()

        async def main() -> None:
            client = runner.client
            if how == "on_delta":
                await client.stream_with_usage(
                    prompt,
                    model="gpt-4o-mini",
                    streaming_options=options.replace(on_delta=on_delta),
                )
                return
            stream = (
                client.stream(prompt, model="gpt-4o-mini", streaming_options=options)
                if how == "stream"
                else client.stream_events(prompt, model="gpt-4o-mini", streaming_options=options)
            )
            async for item in stream:
                if how == "stream_events":
                    if item.type != "text_delta":
                        continue
                    item = item.delta
                got.append(item)
                if len(got) == 1:
                    await pause()

        runner.run(main())
        return got

    def sync_on_delta(text: str) -> None:
        got.append(text)
        if len(got) == 1:
            emulator.wait_for_streams(0, WRITTEN_WITHIN)

    client = runner.client
    if how == "on_delta":
        client.stream_with_usage(
            prompt, model="gpt-4o-mini", streaming_options=options.replace(on_delta=sync_on_delta)
        )
        return got
    if how == "stream":
        stream = client.stream(prompt, model="gpt-4o-mini", streaming_options=options)
    else:
        events = client.stream_events(prompt, model="gpt-4o-mini", streaming_options=options)
        stream = (e.delta for e in events if e.type == "text_delta")
    for item in stream:
        got.append(item)
        if len(got) == 1:
            emulator.wait_for_streams(0, WRITTEN_WITHIN)
    return got


@pytest.mark.parametrize("how", ["stream", "stream_events", "on_delta"])
def test_deltas_that_piled_up_are_coalesced(make_runner: Any, emulator: Emulator, how: str) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    got = deliveries(runner, how, PILE, StreamingOptions(buffer_size=64), emulator)
    assert "".join(got) == TEXT
    assert all(len(piece) <= 64 for piece in got)
    # The 399 deltas behind the pause came in a handful of reads, 64 characters a piece
    # at most: 400/64 rounds up to 7, and a read boundary can cut one piece short.
    assert len(got) <= 20, len(got)


@pytest.mark.parametrize("how", ["stream", "on_delta"])
def test_without_buffer_size_every_delta_comes_alone(
    make_runner: Any, emulator: Emulator, how: str
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    got = deliveries(runner, how, PILE, StreamingOptions(), emulator)
    assert got == list(TEXT)


def test_high_throughput_coalesces_for_a_busy_consumer(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    got = deliveries(runner, "stream", PILE, HIGH_THROUGHPUT_OPTIONS, emulator)
    assert "".join(got) == TEXT and len(got) <= 5, len(got)


def test_a_consumer_that_keeps_up_gets_every_delta_as_it_arrives(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    # Five deltas 150 ms apart: no read holds two of them, so none waits for another,
    # even with the preset that coalesces up to 4 KB.
    prompt = emulator_prompt("slow", deltas=[f"{i} " for i in range(5)], event_delay=0.15)
    chunks = runner.text(prompt, model="gpt-4o-mini", streaming_options=HIGH_THROUGHPUT_OPTIONS)
    assert chunks == [f"{i} " for i in range(5)]
