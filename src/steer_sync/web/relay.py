"""The frames of a response: a stream's events through an encoder, with heartbeats while
the stream is quiet (the twin of ``steer_async/web/relay.py``).

The encoder (:mod:`steer_common.relay`) decides the bytes and :class:`Heartbeat` when one
is due; this module waits. A stream of ``client.stream_events()`` is read in the server's
thread: with heartbeats on, its session gives a read up when a heartbeat is due and hands
on an :class:`~steer_common.commands.Idle` (:func:`steer_sync.driver.idle_after`). Any
other stream (an agent run's) cannot be asked that, so with heartbeats on it is read in a
thread of its own and its events come through a queue, taken with a timeout.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from steer_common.commands import Idle
from steer_common.relay import Encoder, Heartbeat
from steer_sync.driver import idle_after

__all__ = ["relay"]

_END = object()  # the reader's last item: the stream ended


def relay(events: Iterable[Any], encoder: Encoder, heartbeat: float | None) -> Iterator[bytes]:
    """The bytes to send for ``events`` (``client.stream_events(...)`` or an agent run's
    ``runner.stream(...)``), one item per event that gave frames.

    An exception from the stream ends it with the protocol's error frames; it is not
    raised (the response is already under way, and the browser is told). Closing this
    generator (the browser went away: the server closes the response) closes the stream,
    and with it the connection to the provider: at once, but for a stream read in a thread
    of its own, which closes once its current read returns (a blocking read cannot be
    interrupted from another thread; the provider's next event or keep-alive ends it).

    Raises:
        ConfigurationError: ``heartbeat`` is not a positive number or ``None``.
    """
    clock = Heartbeat(heartbeat, now=time.monotonic())  # refuses a heartbeat of 0 or less
    if heartbeat is None or idle_after(events, heartbeat):
        return _direct(events, encoder)
    return _queued(events, encoder, clock)


def _direct(events: Iterable[Any], encoder: Encoder) -> Iterator[bytes]:
    stream = iter(events)
    error: BaseException | None = None
    try:
        while True:
            try:
                event = next(stream)
            except StopIteration:
                break
            except Exception as exc:  # the stream failed: the browser is told below
                error = exc
                break
            if type(event) is Idle:  # quiet for the heartbeat interval
                yield encoder.heartbeat()
                continue
            frames = encoder.feed(event)
            if frames:
                yield b"".join(frames)
        yield b"".join(encoder.close(error))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # closes the provider's connection


def _queued(events: Iterable[Any], encoder: Encoder, clock: Heartbeat) -> Iterator[bytes]:
    items: queue.SimpleQueue[Any] = queue.SimpleQueue()
    stop = threading.Event()
    reader = threading.Thread(
        target=_read, args=(events, items, stop), name="steer-relay-reader", daemon=True
    )
    reader.start()
    error: BaseException | None = None
    try:
        done = False
        while not done:
            try:
                item = items.get(timeout=clock.timeout(time.monotonic()))
            except queue.Empty:
                yield encoder.heartbeat()
                clock.wrote(time.monotonic())
                continue
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
                except queue.Empty:
                    break
            if frames:
                yield b"".join(frames)
                clock.wrote(time.monotonic())
        yield b"".join(encoder.close(error))
    finally:
        stop.set()  # the reader closes the stream after its current read


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _read(events: Iterable[Any], items: queue.SimpleQueue[Any], stop: threading.Event) -> None:
    """The reader thread: the stream's events into ``items``, then ``_END`` or the error;
    the stream closed as soon as ``stop`` is set."""
    stream = iter(events)
    try:
        for event in stream:
            if stop.is_set():
                return
            items.put(event)
        items.put(_END)
    except Exception as exc:
        items.put(_Failed(exc))
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # closes the provider's connection
