"""The frames of a response: a stream's events through an encoder, with heartbeats while
the stream is quiet (the twin of ``steer_sync/web/relay.py``).

The encoder (:mod:`steer_common.relay`) decides the bytes and :class:`Heartbeat` when one
is due; this module waits. A heartbeat must not cancel the stream's read, and the stream
must run in one task from start to end (httpx's cancel scopes belong to the task that
entered them), so with heartbeats on the stream is read in a task of its own and its
events come through a queue, taken with a timeout; with ``heartbeat=None`` it is read in
the response's task.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from steer_common.relay import Encoder, Heartbeat

__all__ = ["relay"]

_END = object()  # the reader's last item: the stream ended
_closing: set[asyncio.Future[None]] = set()  # readers closing their stream (held, not lost)


def relay(
    events: AsyncIterable[Any], encoder: Encoder, heartbeat: float | None
) -> AsyncIterator[bytes]:
    """The bytes to send for ``events`` (``client.stream_events(...)`` or an agent run's
    ``runner.stream(...)``), one item per event that gave frames.

    An exception from the stream ends it with the protocol's error frames; it is not
    raised (the response is already under way, and the browser is told). Closing this
    generator (the browser went away: the server cancels or closes the response) closes
    the stream at once, and with it the connection to the provider.
    """
    if heartbeat is None:
        return _direct(events, encoder)
    return _queued(events, encoder, heartbeat)


async def _direct(events: AsyncIterable[Any], encoder: Encoder) -> AsyncIterator[bytes]:
    stream = aiter(events)
    error: BaseException | None = None
    try:
        while True:
            try:
                event = await anext(stream)
            except StopAsyncIteration:
                break
            except Exception as exc:  # the stream failed: the browser is told below
                error = exc
                break
            frames = encoder.feed(event)
            if frames:
                yield b"".join(frames)
        yield b"".join(encoder.close(error))
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()  # closes the provider's connection


async def _queued(
    events: AsyncIterable[Any], encoder: Encoder, heartbeat: float
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    clock = Heartbeat(heartbeat, now=loop.time())
    items: asyncio.Queue[Any] = asyncio.Queue()
    reader = asyncio.ensure_future(_read(events, items))
    getter: asyncio.Future[Any] | None = None
    error: BaseException | None = None
    try:
        done = False
        while not done:
            # asyncio.wait, not wait_for: wait_for may drop a cancellation that lands as
            # the item arrives (Python < 3.12), and the browser's leaving would be lost.
            if getter is None:
                getter = asyncio.ensure_future(items.get())
            arrived, _ = await asyncio.wait((getter,), timeout=clock.timeout(loop.time()))
            if not arrived:
                yield encoder.heartbeat()
                clock.wrote(loop.time())
                continue
            item, getter = getter.result(), None
            frames: list[bytes] = []
            while True:  # the events that came meanwhile go out in the same write
                if item is _END:
                    done = True
                    break
                if isinstance(item, _Failed):
                    error, done = item.error, True
                    break
                frames += encoder.feed(item)
                try:
                    item = items.get_nowait()
                except asyncio.QueueEmpty:
                    break
            if frames:
                yield b"".join(frames)
                clock.wrote(loop.time())
        yield b"".join(encoder.close(error))
    finally:
        if getter is not None:
            getter.cancel()
        if not reader.done():
            reader.cancel()  # the stream closes in its own task
            # Wait for it without passing on a cancellation of our own: a second cancel
            # would cut the reader's closing of the connection short (anyio's cancel scopes,
            # Starlette's, cancel again at every await), and the provider would stream on.
            _closing.add(reader)
            reader.add_done_callback(_closing.discard)
            await asyncio.wait((reader,))


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _read(events: AsyncIterable[Any], items: asyncio.Queue[Any]) -> None:
    """The reader task: the stream's events into ``items``, then ``_END`` or the error;
    cancelling it closes the stream."""
    stream = aiter(events)
    try:
        async for event in stream:
            items.put_nowait(event)
        items.put_nowait(_END)
    except Exception as exc:
        items.put_nowait(_Failed(exc))
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()  # closes the provider's connection
