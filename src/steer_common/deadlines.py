"""A call's deadlines, sans-IO: ``connection_timeout`` for the connection and the whole
response head, ``read_timeout`` for the longest silence between meaningful events (pings
and comments do not count), ``total_timeout`` for everything, retries and waits included,
and a short drain after the terminal signal. Time is read from the clock given (the front
end's; a test's moved by hand).
"""

from __future__ import annotations

from collections.abc import Callable

from steer_common.errors import (
    ConnectTimeoutError,
    ReadTimeoutError,
    StreamTimeoutError,
    TotalTimeoutError,
    TransportError,
)
from steer_common.options import StreamingOptions

__all__ = ["DRAIN_TIMEOUT", "Deadlines"]

#: After the terminal signal, how long to wait for the end of the body so that the
#: connection can go back to the pool; past it the connection is closed instead.
DRAIN_TIMEOUT = 2.0


class Deadlines:
    """The deadlines of one call, from :meth:`start` on.

    Attributes:
        start: when the call started (the clock's seconds).
        read: when the current read gives up (``None``: no ``read_timeout``).
    """

    __slots__ = ("_clock", "_options", "_total", "read", "start")

    def __init__(self, options: StreamingOptions, clock: Callable[[], float]) -> None:
        self._options = options
        self._clock = clock
        self.start = 0.0
        self._total: float | None = None
        self.read: float | None = None

    def begin(self) -> None:
        """The call starts now: ``total_timeout`` counts from here."""
        self.start = self._clock()
        total = self._options.total_timeout
        self._total = None if total is None else self.start + total

    def reading(self, now: float) -> None:
        """A meaningful event arrived at ``now`` (or the body began): the silence starts."""
        read_timeout = self._options.read_timeout
        self.read = None if read_timeout is None else now + read_timeout

    def left(self) -> float | None:
        """Seconds left before ``total_timeout`` (``None``: none set)."""
        return None if self._total is None else self._total - self._clock()

    def limit(self, timeout: float | None) -> float | None:
        """``timeout`` shortened to what is left of ``total_timeout``."""
        left = self.left()
        if left is None:
            return timeout
        return left if timeout is None else min(timeout, left)

    def wait(self, done: bool) -> float | None:
        """How long the next read may wait: to the read deadline (or, once the terminal
        signal came, a short drain), within the total deadline."""
        clock = self._clock
        deadline = clock() + DRAIN_TIMEOUT if done else self.read
        total = self._total
        if total is not None and (deadline is None or total < deadline):
            deadline = total
        return None if deadline is None else deadline - clock()

    def error(self, cause: StreamTimeoutError | None, *, connecting: bool) -> TransportError:
        """The timeout that passed: the total one if it is spent, else the connection's or
        the read's (``cause``: the transport's own timeout, kept as ``__cause__``)."""
        options = self._options
        if self._total is not None and self._clock() >= self._total - 1e-3:
            error: TransportError = TotalTimeoutError(
                f"the call took longer than total_timeout={options.total_timeout}s",
                timeout=options.total_timeout,
            )
        elif connecting:
            error = ConnectTimeoutError(
                f"no response within connection_timeout={options.connection_timeout}s",
                timeout=options.connection_timeout,
            )
        else:
            error = ReadTimeoutError(
                f"no event for read_timeout={options.read_timeout}s "
                "(keep-alive comments and pings do not count)",
                timeout=options.read_timeout,
            )
        if cause is not None:
            error.__cause__ = cause
        return error
