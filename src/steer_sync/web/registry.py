"""Resumable streams for the blocking client: a generation runs in a thread of its own and
writes its frames to a registry, from which any number of readers (a browser, the same
browser after it reconnected) read them.

::

    registry = StreamRegistry()                          # in this process (the default)
    frames = registry.start("chat-42", client.stream_events(...), protocol="sse")
    ...                                                  # the first response writes frames
    frames = registry.resume("chat-42", request.headers.get("Last-Event-ID"))
    # None: nothing to resume (answer 204); else the frames owed, the live tail, the end

:class:`StreamRegistry` keeps the frames in this process's memory: it serves one process
(a ``runserver``, a threaded WSGI server). Several workers or processes share
:class:`~steer_sync.web.redis_registry.RedisStreamRegistry`. The decisions (which frames a
reader is owed, the bounds, expiry) are :mod:`steer_common.relay.replay`'s; the asyncio
twin is ``steer_async.web.registry``.

The generation keeps running while nobody reads (a browser that reloads finds it further
on); ``abandon_after=`` stops one that nobody has read for that many seconds, and ends its
stream with an error event. It is checked as each event arrives, and for a stream of
``client.stream_events()`` also while the model is silent (the session's ``idle``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from steer_common.commands import Idle
from steer_common.errors import SteerError
from steer_common.relay import HEARTBEAT, HEARTBEAT_INTERVAL, Encoder, Heartbeat, encoder
from steer_common.relay.replay import (
    Position,
    ReplayError,
    ReplayLimits,
    StreamAbandonedError,
    StreamTable,
    Window,
    abandoned,
    lost,
    plan_resume,
)
from steer_sync.driver import idle_after

__all__ = ["StreamRegistry", "default_registry", "started"]

logger = logging.getLogger("steer_sync.web")


class _Registry:
    """What both stores share: the producer that drives an encoder into the store."""

    def __init__(
        self, limits: ReplayLimits | None, heartbeat: float | None, clock: Callable[[], float]
    ) -> None:
        self.limits = limits or ReplayLimits()
        self.heartbeat = heartbeat
        self._clock = clock

    def start(
        self,
        stream_id: str,
        events: Iterable[Any],
        *,
        protocol: str = "sse",
        abandon_after: float | None = None,
        **options: Any,
    ) -> Iterator[bytes]:
        """Run a generation into the registry under ``stream_id``; answer its first reader.

        ``events`` (``client.stream_events(...)``, an agent run's events) are read in a
        thread of their own, encoded in ``protocol`` and kept, so the generation goes on
        when the first reader goes away. Past its end, or when it fails, the stream ends
        with the protocol's end (an error event after a failure).

        Args:
            stream_id: the key readers resume by: one per reply, and unguessable (whoever
                has it reads the reply). A finished stream under it is replaced.
            events: the events to encode; closed when the generation stops early.
            protocol: ``"sse"``, ``"ai-sdk"`` or ``"ag-ui"``.
            abandon_after: stop the generation (closing ``events``) once no reader has
                been attached for this many seconds; None (default) runs it to its end.
            options: the encoder's options (``message_id`` for ``ai-sdk``...).

        Raises:
            RegistryFullError: ``max_streams`` streams are held and all are running.
            StreamRunningError: a stream under ``stream_id`` is still running.
            ConfigurationError: an unknown protocol or encoder option.
        """
        enc = encoder(protocol, **options)
        self._open(stream_id, protocol)
        first = self._reader(stream_id, protocol, (0, 0))
        if abandon_after is not None:
            # A stream of the client's own is checked while it is silent too, a quarter of
            # abandon_after apart (another is checked as each of its events arrives).
            idle_after(events, abandon_after / 4)
        producer = threading.Thread(
            target=self._produce,
            args=(stream_id, events, enc, abandon_after),
            name=f"steer-relay-{stream_id}",
            daemon=True,
        )
        producer.start()
        return first

    def _produce(
        self, stream_id: str, events: Iterable[Any], enc: Encoder, abandon_after: float | None
    ) -> None:
        error: BaseException | None = None
        iterator = iter(events)
        try:
            for event in iterator:
                if type(event) is not Idle:  # an Idle: the stream is silent; only the check
                    frames = enc.feed(event)
                    if frames and not self._append(stream_id, frames):
                        return  # the stream is no longer held (expired, or room was made)
                if abandon_after is not None and self._abandoned(stream_id, abandon_after):
                    error = StreamAbandonedError(
                        f"the generation was stopped: no reader for {abandon_after:g} s "
                        "(abandon_after)"
                    )
                    break
        except Exception as exc:  # the events failed: the stream ends with an error event
            error = exc
            if not isinstance(exc, SteerError):
                logger.exception("resumable stream %r: the events raised", stream_id)
        finally:
            close: Callable[[], object] | None = getattr(iterator, "close", None)
            if close is not None:
                close()  # the upstream response closes with it: the billing stops
        try:
            self._append(stream_id, enc.close(error), finished=True)
        except Exception:  # the store failed: its readers see the stream expire
            logger.exception("resumable stream %r: its end could not be stored", stream_id)

    def _error_frames(self, protocol: str, last_id: int, error: SteerError) -> list[bytes]:
        return encoder(protocol, start_id=last_id).close(error)

    # What each store defines.
    def _open(self, stream_id: str, protocol: str) -> None:
        raise NotImplementedError

    def _append(self, stream_id: str, frames: list[bytes], *, finished: bool = False) -> bool:
        raise NotImplementedError

    def _abandoned(self, stream_id: str, grace: float) -> bool:
        raise NotImplementedError

    def _reader(self, stream_id: str, protocol: str, after: Position) -> Iterator[bytes]:
        raise NotImplementedError


class _Stream:
    """One stream held in process: its frames and who waits for them."""

    def __init__(
        self, protocol: str, limits: ReplayLimits, lock: threading.Lock, now: float
    ) -> None:
        self.protocol = protocol
        self.window = Window(limits)
        self.frames: deque[tuple[Position, bytes]] = deque()
        self.finished = False
        self.gone = False  # expired or evicted while a reader waited
        self.changed = threading.Condition(lock)
        self.readers = 0
        self.last_seen = now

    def after(self, position: Position) -> list[tuple[Position, bytes]]:
        """The frames past ``position`` (readers are near the tail: read from the right)."""
        owed: list[tuple[Position, bytes]] = []
        for item in reversed(self.frames):
            if item[0] <= position:
                break
            owed.append(item)
        owed.reverse()
        return owed


class StreamRegistry(_Registry):
    """Resumable streams kept in this process's memory (the default store).

    Args:
        limits: the bounds (:class:`~steer_common.relay.replay.ReplayLimits`: frames and
            bytes per stream, streams, ttl).
        heartbeat: seconds of silence after which a reader is sent a heartbeat comment;
            None sends none.
        clock: the clock of ttl and ``abandon_after`` (seconds; tests pass their own).
    """

    def __init__(
        self,
        limits: ReplayLimits | None = None,
        *,
        heartbeat: float | None = HEARTBEAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(limits, heartbeat, clock)
        self._lock = threading.Lock()
        self._table = StreamTable(self.limits)
        self._streams: dict[str, _Stream] = {}

    def resume(
        self, stream_id: str, last_event_id: str | None = None, *, protocol: str = "sse"
    ) -> Iterator[bytes] | None:
        """The frames a reconnecting reader is owed, then the live tail, then the end.

        Args:
            stream_id: the stream's key.
            last_event_id: the ``Last-Event-ID`` header (None: from the start).
            protocol: the protocol of the error event sent for a stream no longer held.

        Returns:
            None when there is nothing to resume (answer 204: ``EventSource`` and the AI
            SDK stop there); else the frames. A reader owed frames that are gone (dropped
            past the bounds, or the stream expired) gets an error event instead.
        """
        with self._lock:
            self._forget(self._table.expire(self._clock()))
            stream = self._streams.get(stream_id)
            try:
                after = plan_resume(
                    last_event_id,
                    held=stream is not None,
                    finished=stream is not None and stream.finished,
                    last=stream.window.last if stream else (0, 0),
                    dropped=stream.window.dropped if stream else None,
                )
            except ReplayError as exc:
                last = stream.window.last[0] if stream else 0
                return iter(self._error_frames(stream.protocol if stream else protocol, last, exc))
            if after is None or stream is None:
                return None
            return self._follow(stream, after)

    def __len__(self) -> int:
        """The streams held."""
        with self._lock:
            return len(self._streams)

    # -- the store -----------------------------------------------------------------------

    def _forget(self, stream_ids: list[str]) -> None:
        for stream_id in stream_ids:
            stream = self._streams.pop(stream_id, None)
            if stream is not None:
                stream.gone = True
                stream.frames.clear()
                stream.changed.notify_all()

    def _open(self, stream_id: str, protocol: str) -> None:
        with self._lock:
            self._forget(self._table.open(stream_id, self._clock()))
            self._streams[stream_id] = _Stream(protocol, self.limits, self._lock, self._clock())

    def _append(self, stream_id: str, frames: list[bytes], *, finished: bool = False) -> bool:
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                return False
            for frame in frames:
                position, drop = stream.window.add(frame)
                stream.frames.append((position, frame))
                if drop is not None:
                    while stream.frames and stream.frames[0][0] <= drop:
                        stream.frames.popleft()
            stream.finished = finished
            self._table.touch(stream_id, self._clock(), finished=finished)
            stream.changed.notify_all()
            return True

    def _abandoned(self, stream_id: str, grace: float) -> bool:
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is None:
                return True
            return abandoned(stream.readers, stream.last_seen, self._clock(), grace)

    def _reader(self, stream_id: str, protocol: str, after: Position) -> Iterator[bytes]:
        with self._lock:
            stream = self._streams[stream_id]
        return self._follow(stream, after)

    def _follow(self, stream: _Stream, after: Position) -> Iterator[bytes]:
        beat = Heartbeat(self.heartbeat, time.monotonic())  # real waiting: never the test clock
        with self._lock:
            stream.readers += 1
        try:
            while True:
                error: SteerError | None = None
                with self._lock:
                    while True:
                        error = lost(after, gone=stream.gone, dropped=stream.window.dropped)
                        if error is not None:
                            break
                        owed = stream.after(after)
                        now = time.monotonic()
                        if owed or stream.finished or beat.due(now):
                            break
                        stream.changed.wait(beat.timeout(now))
                    last_id = stream.window.last[0]
                if error is not None:
                    yield from self._error_frames(stream.protocol, last_id, error)
                    return
                if owed:
                    after = owed[-1][0]
                    for _, frame in owed:
                        yield frame
                elif stream.finished:
                    return
                else:
                    yield HEARTBEAT
                beat.wrote(time.monotonic())
        finally:
            with self._lock:
                stream.readers -= 1
                stream.last_seen = self._clock()


_default: list[StreamRegistry] = []


def default_registry() -> StreamRegistry:
    """This process's registry, made on first use: where resumable streams go by default."""
    if not _default:
        _default.append(StreamRegistry())
    return _default[0]


def started(
    registry: _Registry,
    stream_id: str,
    events: Iterable[Any],
    *,
    protocol: str = "sse",
    abandon_after: float | None = None,
    **options: Any,
) -> Iterator[bytes]:
    """``registry.start(...)`` as the body a response hands its server: the generation
    starts when the server reads the body. A registry that has no room (or a stream id still
    running) ends the body with the protocol's error event."""
    try:
        frames = registry.start(
            stream_id, events, protocol=protocol, abandon_after=abandon_after, **options
        )
    except ReplayError as exc:
        yield from encoder(protocol, **options).close(exc)
        return
    with contextlib.closing(frames):  # type: ignore[type-var]
        yield from frames
