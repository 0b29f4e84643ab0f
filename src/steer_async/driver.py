"""``StreamingHelper``: drives a call's session flow over the asyncio transport.

The twin of ``steer_sync/driver.py``. The session
(:class:`~steer_common.session.StreamSession`) decides everything; the helper performs
the commands its flow yields (connect, read, sleep, await a callback) and hands on the
events it delivers. Every method of the client is one of the helper's three ways of
consuming a flow: :meth:`StreamingHelper.events`, :meth:`StreamingHelper.text` and
:meth:`StreamingHelper.response`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

from steer_async.transport import AsyncTransport, HttpxTransport, Response
from steer_common.commands import Await, Close, Compute, Connect, Deliver, Idle, Read, Sleep
from steer_common.errors import SteerError
from steer_common.models.events import TEXT_DELTA, StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.request import HTTPRequest
from steer_common.session import CANCEL_TIMEOUT, Consumer, StreamSession

__all__ = ["StreamingHelper"]

logger = logging.getLogger("steer_async.driver")


class StreamingHelper:
    """Runs :class:`~steer_common.session.StreamSession` flows on one transport.

    Args:
        transport: where requests go (the client's pooled transport); a new one when
            ``None``.

    Shared by every task, like the transport.
    """

    __slots__ = ("transport",)

    def __init__(self, transport: AsyncTransport | None = None) -> None:
        self.transport: AsyncTransport = transport or HttpxTransport()

    def events(self, session: StreamSession) -> AsyncGenerator[StreamEvent, None]:
        """The normalized events the session delivers, as they arrive."""
        return _drive(self.transport, session, "events")

    def text(self, session: StreamSession) -> AsyncGenerator[str, None]:
        """Only the text of the text deltas (what ``stream()`` yields)."""
        return _drive(self.transport, session, "text")

    async def response(self, session: StreamSession) -> StreamResponse:
        """Drive the session to its end; its :class:`StreamResponse`."""
        async for _ in _drive(self.transport, session, "response"):
            pass  # it yields nothing: the events stay in the session
        assert session.response is not None
        return session.response


async def _drive(
    transport: AsyncTransport, session: StreamSession, consumer: Consumer
) -> AsyncGenerator[Any, None]:
    """Perform the commands of the session's flow; yield what ``consumer`` takes of the
    events it delivers: every event, only the text of the text deltas (``stream()``: one
    generator, not two, per event), or nothing (the response is all it wants)."""
    text = consumer == "text"
    deliver = consumer != "response"
    flow = session.flow()
    response: Response | None = None
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
                            for event in events:
                                yield event
                    if kind is Read:
                        # Read.quiet is not honoured: an httpx read given up (cancelled)
                        # closes its response; the asyncio relay reads in a task instead.
                        size, limit = command.size, command.timeout
                        # The events handed on are let go before the next read is parsed:
                        # two reads' events at once cross the collector's threshold.
                        command = events = None
                        reply = await response.read(size, limit)  # type: ignore[union-attr]
                    else:
                        await asyncio.sleep(0)  # a step of work without I/O: let others run
                elif kind is Connect:
                    response = await transport.open(command.request, command.timeout)
                    reply = response.head
                elif kind is Close:
                    if response is not None:
                        await response.close(command.reuse)
                    response = None
                elif kind is Await:
                    await command.awaitable
                elif kind is Compute:
                    reply = await asyncio.wait_for(
                        asyncio.shield(
                            asyncio.get_running_loop().run_in_executor(None, command.function)
                        ),
                        command.timeout,
                    )
                elif kind is Sleep:
                    await asyncio.sleep(command.seconds)
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
            await response.close(False)  # left early, or failed: never pooled
        cancel = session.abandoned()
        if cancel is not None:
            # Shielded: a server that cancels again at every await (anyio's level
            # cancellation) would otherwise cancel the cancel, and the generation run on.
            await asyncio.shield(_send_quietly(transport, cancel))


async def _send_quietly(transport: AsyncTransport, request: HTTPRequest) -> None:
    """Send a request whose answer changes nothing (a kept response's cancel, its consumer
    gone), within :data:`CANCEL_TIMEOUT`: a failure is logged, never raised."""

    async def send() -> None:
        sent = await transport.open(request, CANCEL_TIMEOUT)
        await sent.close(False)

    try:
        await asyncio.wait_for(send(), CANCEL_TIMEOUT)
    except (SteerError, OSError, asyncio.TimeoutError) as exc:
        logger.warning("could not send %s %s: %r", request.method, request.url, exc)
