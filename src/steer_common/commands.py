"""What a session flow asks of its front end: eight frozen commands, and the answer to each.

:meth:`steer_common.session.StreamSession.flow` is a generator of these. A front end (our
two clients, or yours: docs/bring-your-own-transport.md) performs each command and sends
the answer back, or throws the transport's failure in, mapped to a
:class:`~steer_common.errors.SteerError` (a ``StreamTimeoutError`` for a deadline,
``APIConnectionError`` for the rest)::

    Connect(request, timeout, attempt) -> send the request; answer with its ResponseHead
                                          once the whole head arrived, all within timeout
    Read(size, timeout, events)        -> hand events to the consumer, in order; then read
                                          once: up to size bytes, as soon as any arrive,
                                          b"" at the end of the body, within timeout
    Deliver(events)                    -> hand events to the consumer, in order, and read
                                          nothing (an asyncio front end then lets its event
                                          loop run once); answer None
    Close(reuse)                       -> done with the response: back to the pool if reuse
                                          (it was read to its end), else close the socket
    Await(awaitable, callback)         -> await a coroutine callback's result (blocking:
                                          run it to completion); answer None
    Compute(function, timeout)         -> run blocking CPU work off the event loop, waiting
                                          at most timeout; answer its result
    Sleep(seconds)                     -> wait before the next attempt
    Idle(seconds)                      -> hand the command itself to the consumer: the
                                          stream has been quiet for seconds; answer None

Two are only asked of a session whose consumer wants to hear of silence (its ``idle`` set:
the blocking browser relay's heartbeats, docs/browsers.md): ``Idle``, and a
``Read`` whose ``quiet`` is set. A front end that does not set ``idle`` never sees them.

Nothing else is asked: no decision is left to the front end. Commands are immutable
(named tuples: a ``Read`` is made per read, and a tuple is the cheapest frozen object to
make); dispatch on ``type(command)``. The module imports nothing of ours at run time, so a
transport can depend on it alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from steer_common.models.events import StreamEvent
    from steer_common.request import HTTPRequest

__all__ = [
    "Await",
    "Close",
    "Command",
    "Compute",
    "Connect",
    "Deliver",
    "Idle",
    "Read",
    "Sleep",
]


class Connect(NamedTuple):
    """Send ``request``; answer with its :class:`~steer_common.http.ResponseHead`.

    ``timeout`` bounds connecting *and* receiving the whole response head, however slowly
    the server sends it (``None``: no limit). ``attempt`` counts from 1.
    """

    request: HTTPRequest
    timeout: float | None
    attempt: int


class Read(NamedTuple):
    """Hand ``events`` to the consumer, in order; then read once (see the module docstring).

    ``timeout`` is what is left of the flow's deadline for this read: the read may wait at
    most that long for its first byte.

    ``quiet`` (only when the session's ``idle`` is set): the read may give up after that
    many seconds with nothing arrived, leaving the connection as it was, and answer
    ``None``; the session then asks for an :class:`Idle` and reads again. A front end that
    cannot give a read up unharmed waits for data as without it.
    """

    size: int
    timeout: float | None
    events: Sequence[StreamEvent] = ()
    quiet: float | None = None


class Deliver(NamedTuple):
    """Hand ``events`` to the consumer, in order, with nothing to read: what arrived before
    a failure, the last events of a body, a step of inflating a compressed read (after
    which an asyncio front end lets its event loop run)."""

    events: Sequence[StreamEvent]


class Close(NamedTuple):
    """The response is done with: return its connection to the pool when ``reuse`` (the
    body was read to its end and nothing about it is in doubt), else close the socket."""

    reuse: bool


class Await(NamedTuple):
    """Await ``awaitable`` (the result of the coroutine callback named ``callback``)."""

    awaitable: Any
    callback: str


class Compute(NamedTuple):
    """Run ``function()`` off the event loop, waiting at most ``timeout`` seconds; answer
    with its result (a slow run goes on in the background; it is not waited for)."""

    function: Callable[[], Any]
    timeout: float


class Sleep(NamedTuple):
    """Wait ``seconds`` before the next attempt."""

    seconds: float


class Idle(NamedTuple):
    """Nothing but keep-alives (``ping`` events) has reached the consumer for ``seconds``:
    hand this command itself on, as if it were an event (a browser relay, which passes no
    keep-alive on, sends a heartbeat for it). Asked only of a session whose ``idle`` is
    set."""

    seconds: float


Command = Connect | Read | Deliver | Close | Await | Compute | Sleep | Idle
