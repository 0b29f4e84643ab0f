"""``StreamingHelper``: drives a call's session flow over the blocking transport.

The twin of ``steer_async/driver.py``. The session
(:class:`~steer_common.session.StreamSession`) decides everything; the helper performs
the commands its flow yields (connect, read, sleep, run a callback) and hands on the
events it delivers. Every method of the client is one of the helper's three ways of
consuming a flow: :meth:`StreamingHelper.events`, :meth:`StreamingHelper.text` and
:meth:`StreamingHelper.response`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import weakref
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from steer_common.commands import Await, Close, Compute, Connect, Deliver, Idle, Read, Sleep
from steer_common.errors import SteerError
from steer_common.models.events import TEXT_DELTA, StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.request import HTTPRequest
from steer_common.session import CANCEL_TIMEOUT, Consumer, StreamSession
from steer_sync.transport import RequestsTransport, TransportResponse

__all__ = ["StreamingHelper", "idle_after"]

logger = logging.getLogger("steer_sync.driver")


class StreamingHelper:
    """Runs :class:`~steer_common.session.StreamSession` flows on one transport.

    Args:
        transport: where requests go (the client's pooled transport); a new one when
            ``None``.

    Shared by every thread, like the transport.
    """

    __slots__ = ("transport",)

    def __init__(self, transport: RequestsTransport | None = None) -> None:
        self.transport = transport or RequestsTransport()

    def events(self, session: StreamSession) -> Generator[StreamEvent, None, None]:
        """The normalized events the session delivers, as they arrive."""
        stream = _drive(self.transport, session, "events")
        _sessions[stream] = session
        return stream

    def text(self, session: StreamSession) -> Generator[str, None, None]:
        """Only the text of the text deltas (what ``stream()`` yields)."""
        return _drive(self.transport, session, "text")

    def response(self, session: StreamSession) -> StreamResponse:
        """Drive the session to its end; its :class:`StreamResponse`."""
        for _ in _drive(self.transport, session, "response"):
            pass  # it yields nothing: the events stay in the session
        assert session.response is not None
        return session.response


# The session of each stream of events not yet collected, for idle_after.
_sessions: weakref.WeakKeyDictionary[Any, StreamSession] = weakref.WeakKeyDictionary()


def idle_after(events: Any, seconds: float) -> bool:
    """Have ``events``, a stream of :meth:`StreamingHelper.events` (``stream_events()``)
    not yet started, hand on an :class:`~steer_common.commands.Idle` among its events after
    each ``seconds`` with nothing but keep-alives handed on (:attr:`StreamSession.idle`):
    its reads are given up for it, on the reading thread. ``False`` (nothing changed) for
    anything else: another iterable, or a stream already started.

    The blocking browser relay sends its heartbeats this way, with no thread of its own.
    """
    session = _sessions.get(events) if inspect.isgenerator(events) else None
    if session is None or inspect.getgeneratorstate(events) != inspect.GEN_CREATED:
        return False
    session.idle = seconds
    return True


def _drive(
    transport: RequestsTransport, session: StreamSession, consumer: Consumer
) -> Generator[Any, None, None]:
    """Perform the commands of the session's flow; yield what ``consumer`` takes of the
    events it delivers: every event, only the text of the text deltas (``stream()``: one
    generator, not two, per event), or nothing (the response is all it wants)."""
    text = consumer == "text"
    deliver = consumer != "response"
    flow = session.flow()
    response: TransportResponse | None = None
    try:
        command: Any = next(flow)
        while True:
            kind = type(command)
            reply: Any = None
            try:
                if kind is Read or kind is Deliver:  # the common commands first
                    events = command.events
                    if events and deliver:
                        if text:
                            for event in events:
                                if event.type == TEXT_DELTA:
                                    yield event.delta
                        else:
                            yield from events
                    if kind is Read:
                        size, limit, quiet = command.size, command.timeout, command.quiet
                        # The events handed on are let go before the next read is parsed:
                        # two reads' events at once cross the collector's threshold.
                        command = events = None
                        reply = response.read(size, limit, quiet)  # type: ignore[union-attr]
                elif kind is Connect:
                    response = transport.open(command.request, command.timeout)
                    reply = response.head
                elif kind is Close:
                    if response is not None:
                        response.close(command.reuse)
                    response = None
                elif kind is Await:
                    _run_coroutine(command.awaitable)
                elif kind is Compute:
                    reply = _WORKERS.submit(command.function).result(command.timeout)
                elif kind is Sleep:
                    time.sleep(command.seconds)
                elif kind is Idle and deliver and not text:
                    yield command  # handed on among the events (session.idle asked)
            except SteerError as exc:  # a transport failure, mapped at the edge
                command = flow.throw(exc)
                continue
            except Exception as exc:
                if kind is not Await and kind is not Compute:
                    raise
                command = flow.throw(exc)  # a callback raised, or the work failed or was slow
                continue
            command = flow.send(reply)
    except StopIteration:
        return
    finally:
        flow.close()
        if response is not None:
            response.close(False)  # left early, or failed: never pooled
        cancel = session.abandoned()
        if cancel is not None:
            _send_quietly(transport, cancel)


def _send_quietly(transport: RequestsTransport, request: HTTPRequest) -> None:
    """Send a request whose answer changes nothing (a kept response's cancel, its consumer
    gone), within :data:`CANCEL_TIMEOUT`: a failure is logged, never raised."""
    try:
        transport.open(request, CANCEL_TIMEOUT).close(False)
    except (SteerError, OSError) as exc:
        logger.warning("could not send %s %s: %r", request.method, request.url, exc)


# Blocking work the core asks for (loading a tiktoken encoding), off the calling thread
# so that it can be given up on after its time limit.
_WORKERS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="steer-compute")

_loops = threading.local()
_helper_lock = threading.Lock()
_helper: asyncio.AbstractEventLoop | None = None


def _run_coroutine(awaitable: Any) -> None:
    """Run a coroutine callback to completion, blocking.

    On a thread with no event loop running, on that thread's private loop. On a thread
    that runs one (a notebook, an async view calling blocking code) that loop cannot be
    re-entered, so the callback runs on a private loop in a helper thread while this
    thread waits.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # none running here: this thread's own loop
        loop = getattr(_loops, "loop", None)
        if loop is None:
            loop = _loops.loop = asyncio.new_event_loop()
        loop.run_until_complete(awaitable)
        return
    asyncio.run_coroutine_threadsafe(_awaited(awaitable), _helper_loop()).result()


async def _awaited(awaitable: Any) -> None:
    await awaitable


def _helper_loop() -> asyncio.AbstractEventLoop:
    """The helper thread's event loop, started on first use."""
    global _helper
    with _helper_lock:
        if _helper is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="steer-callbacks", daemon=True).start()
            _helper = loop
        return _helper
