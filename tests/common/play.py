"""Drive a session's flow by hand: ``play(session, script)``, the counterpart of h11's
byte-at-a-time tests for the session's decisions. No socket, no loop, no thread.

The script lists what the "server" does, in order. Each ``Connect`` and each ``Read`` with
a size takes the next item:

- a :class:`~steer_common.http.ResponseHead` answers a ``Connect``;
- ``bytes`` answer a ``Read`` (``b""``: the end of the body);
- an exception is thrown into the flow (a transport failure, mapped: ``APIConnectionError``,
  ``StreamTimeoutError``);
- ``Tick(seconds)`` moves the clock on, then the next item answers;
- ``QUIET`` answers a ``Read`` whose ``quiet`` is set as a front end does when nothing
  came in that time: the clock moves by it and the answer is ``None``.

``Deliver``, ``Close``, ``Sleep`` (the clock moves by its seconds), ``Compute`` (run),
``Await`` (run on a private loop) and ``Idle`` are answered without the script. The result records every
command, the events handed on, the sleeps, the closes, and how the flow ended.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from steer_common.calls import prepare_session
from steer_common.commands import Await, Close, Compute, Connect, Deliver, Idle, Read, Sleep
from steer_common.http import ResponseHead
from steer_common.models.events import StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.options import StreamingOptions
from steer_common.session import Consumer, StreamSession

__all__ = ["QUIET", "SSE", "Clock", "Played", "Tick", "make_session", "play"]

#: The head of a good event stream.
SSE = ResponseHead(200, {"content-type": "text/event-stream"}, 2)


@dataclass
class Clock:
    """A monotonic clock that moves only when told."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass(frozen=True)
class Tick:
    """Move the clock by ``seconds`` before the next answer."""

    seconds: float


#: A quiet read (see the module docstring).
QUIET = object()


@dataclass
class Played:
    commands: list[Any] = field(default_factory=list)
    delivered: list[StreamEvent] = field(default_factory=list)
    error: BaseException | None = None
    response: StreamResponse | None = None

    @property
    def connects(self) -> int:
        return sum(isinstance(c, Connect) for c in self.commands)

    @property
    def sleeps(self) -> list[float]:
        return [c.seconds for c in self.commands if isinstance(c, Sleep)]

    @property
    def idles(self) -> list[float]:
        """The seconds of each ``Idle``, in order."""
        return [c.seconds for c in self.commands if isinstance(c, Idle)]

    @property
    def closes(self) -> list[bool]:
        return [c.reuse for c in self.commands if isinstance(c, Close)]

    @property
    def text(self) -> str:
        """The text the consumer was handed."""
        return "".join(e.delta or "" for e in self.delivered if e.type == "text_delta")


def make_session(
    prompt: str = "hi",
    *,
    model: str = "gpt-4o-mini",
    openai_api: str = "chat",
    consumer: Consumer = "events",
    clock: Clock | None = None,
    draw: float = 0.5,
    **options: Any,
) -> StreamSession:
    """A session as the clients make one, on a clock of the test's."""
    prepared = prepare_session(
        prompt,
        model=model,
        api_keys=dict.fromkeys(["openai", "anthropic", "xai", "openai_compatible"], "sk-test"),
        base_urls={"openai_compatible": "http://127.0.0.1:1/v1"},
        environ={},
        openai_api=openai_api,  # type: ignore[arg-type]
        streaming_options=StreamingOptions(**options),
    )
    return StreamSession(
        prepared.request,
        wire_format=prepared.wire_format,
        options=prepared.options,
        consumer=consumer,
        model=prepared.model,
        clock=clock or Clock(),
        rand=lambda: draw,
    )


def play(session: StreamSession, script: list[Any], clock: Clock | None = None) -> Played:
    """Answer the flow's commands from ``script`` (see the module docstring)."""
    played = Played()
    answers = iter(script)
    flow = session.flow()
    loop: asyncio.AbstractEventLoop | None = None
    try:
        command = next(flow)
        while True:
            played.commands.append(command)
            reply: Any = None
            throw: BaseException | None = None
            if isinstance(command, Read):
                played.delivered.extend(command.events)
                reply = _next(answers, clock)
                if reply is QUIET:
                    assert command.quiet is not None, "QUIET answers a read that may be quiet"
                    assert clock is not None, "QUIET needs the session's clock"
                    clock.now += command.quiet
                    reply = None
            elif isinstance(command, Deliver):
                played.delivered.extend(command.events)
            elif isinstance(command, Connect):
                reply = _next(answers, clock)
            elif isinstance(command, Sleep):
                if clock is not None:
                    clock.now += command.seconds
            elif isinstance(command, Compute):
                reply = command.function()
            elif isinstance(command, Await):
                loop = loop or asyncio.new_event_loop()
                loop.run_until_complete(command.awaitable)
            if isinstance(reply, BaseException):
                throw, reply = reply, None
            command = flow.throw(throw) if throw is not None else flow.send(reply)
    except StopIteration:
        played.response = session.response
    except Exception as exc:
        played.error = exc
    finally:
        if loop is not None:
            loop.close()
    return played


def _next(answers: Any, clock: Clock | None) -> Any:
    while True:
        try:
            item = next(answers)
        except StopIteration:
            raise AssertionError("the flow asked for more than the script has") from None
        if isinstance(item, Tick):
            assert clock is not None, "a Tick needs the session's clock"
            clock.now += item.seconds
            continue
        return item
