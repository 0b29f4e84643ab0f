"""The blocking client runs coroutine callbacks wherever it is called: on a plain thread,
and from inside a running event loop (a notebook cell, an async view calling blocking
code), where the loop cannot be re-entered."""

from __future__ import annotations

import asyncio
import threading

from steer_common import StreamingOptions
from steer_sync import SteerLLMClient
from steer_sync.emulator import Emulator


def callbacks(seen: list[str]) -> StreamingOptions:
    async def on_start() -> None:
        await asyncio.sleep(0)
        seen.append(f"start on {threading.current_thread().name}")

    async def on_delta(text: str) -> None:
        await asyncio.sleep(0)
        seen.append(text)

    async def on_complete(text: str) -> None:
        seen.append(f"complete: {text}")

    return StreamingOptions(on_start=on_start, on_delta=on_delta, on_complete=on_complete)


def test_coroutine_callbacks_from_inside_a_running_loop() -> None:
    seen: list[str] = []
    with Emulator() as emulator:
        client = SteerLLMClient(dict.fromkeys(emulator.base_urls, "k"), emulator.base_urls)

        async def cell() -> str:  # a notebook cell calling the blocking client
            response = client.stream_with_usage(
                'Hi [[emulator:{"text": "one two", "chunk_chars": 4}]]',
                model="gpt-4o-mini",
                streaming_options=callbacks(seen),
            )
            return response.text

        assert asyncio.run(cell()) == "one two"
        client.close()
    # Every callback ran, in order, awaited (the test's warnings-as-errors would catch a
    # coroutine never awaited); the calling thread's loop was busy, so a helper's ran them.
    assert seen == ["start on steer-callbacks", "one ", "two", "complete: one two"]


def test_coroutine_callbacks_on_a_plain_thread_run_on_that_thread() -> None:
    seen: list[str] = []
    with Emulator() as emulator:
        client = SteerLLMClient(dict.fromkeys(emulator.base_urls, "k"), emulator.base_urls)
        chunks = list(
            client.stream(
                'Hi [[emulator:{"text": "one two", "chunk_chars": 4}]]',
                model="claude-sonnet-5",
                streaming_options=callbacks(seen),
            )
        )
        client.close()
    assert chunks == ["one ", "two"]
    assert seen == [
        f"start on {threading.current_thread().name}",
        "one ",
        "two",
        "complete: one two",
    ]
