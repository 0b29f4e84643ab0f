"""A deadline for a blocking phase made of many socket operations: connecting and receiving
a whole response head, however slowly the server drips it.

requests and urllib3 bound each socket operation (``timeout=(connect, read)``), not a
phase: a server that sends the head one byte every half second never trips a 2 s read
timeout, and the call hangs for as long as it likes. A socket operation cannot be given a
deadline from inside http.client's header parsing, so the phase is watched from outside:
while a thread is in :func:`phase`, every socket its connection uses (a new one from
``_new_conn``, a pooled one when it waits for the head) is registered with one shared
watchdog thread, which shuts the socket down when the deadline passes. The blocked read
then returns at once, and the transport, seeing that the phase's deadline fired, raises a
timeout. Why this and not the alternatives: a thread per call costs a thread per call; a
deadline checked between reads cannot run inside http.client's ``readline`` loop; a
non-blocking rewrite of the head parsing would replace http.client. Shutting a socket
down is safe from another thread and is what the OS offers for exactly this.

Only connections made by this module's pool classes are watched (the transport mounts
them on the sessions it creates); a ``requests.Session`` of the caller's keeps
per-operation timeouts (docs/errors.md says so).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["POOL_CLASSES", "Phase", "phase"]


class Phase:
    """One watched phase of one thread: its deadline, its sockets, whether it fired."""

    __slots__ = ("deadline", "fired", "sockets")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.sockets: list[socket.socket] = []


class _Watchdog:
    """One thread for every watched phase: shuts sockets down when their phase expires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._heap: list[tuple[float, int, Phase]] = []
        self._count = itertools.count()
        self._thread: threading.Thread | None = None

    def start(self, watched: Phase) -> None:
        with self._lock:
            # The thread sleeps until the earliest deadline: wake it only for an earlier one
            # (calls with the same timeout never do: no thread switch per call).
            earlier = not self._heap or watched.deadline < self._heap[0][0]
            heapq.heappush(self._heap, (watched.deadline, next(self._count), watched))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="steer-deadlines", daemon=True
                )
                self._thread.start()
            elif earlier:
                self._wake.notify()

    def add(self, watched: Phase, sock: socket.socket) -> None:
        with self._lock:
            if watched.fired:
                _shut(sock)  # the phase is over already: so is this socket's wait
            else:
                watched.sockets.append(sock)

    def end(self, watched: Phase) -> bool:
        """The phase is over; ``True`` if its deadline fired first."""
        with self._lock:
            watched.sockets = []  # the watchdog no longer touches them
            watched.deadline = -1.0  # done: skipped when its turn comes
            return watched.fired

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].deadline < 0 or self._heap[0][0] <= now):
                    _, _, watched = heapq.heappop(self._heap)
                    if watched.deadline >= 0:
                        watched.fired = True
                        for sock in watched.sockets:
                            _shut(sock)
                timeout = self._heap[0][0] - now if self._heap else None
                self._wake.wait(timeout)


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for a TLS socket: its SSL object stays as it is
    # for the thread blocked in it, whose read now fails at once.
    with contextlib.suppress(OSError):  # already closed
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_WATCHDOG = _Watchdog()
_local = threading.local()


@contextmanager
def phase(timeout: float | None) -> Iterator[Phase | None]:
    """Watch this thread's connection for ``timeout`` seconds (``None``: not at all)."""
    if timeout is None:
        yield None
        return
    watched = Phase(time.monotonic() + timeout)
    _WATCHDOG.start(watched)
    _local.phase = watched
    try:
        yield watched
    finally:
        _local.phase = None
        _WATCHDOG.end(watched)


def _watch(sock: Any) -> None:
    watched: Phase | None = getattr(_local, "phase", None)
    if watched is not None and sock is not None:
        _WATCHDOG.add(watched, sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)  # connecting, and a TLS handshake on it, are in the phase
        return sock

    def getresponse(self) -> Any:
        _watch(self.sock)  # a pooled connection waits for its head in the phase too
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def getresponse(self) -> Any:
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


#: The pool classes whose connections are watched, for ``PoolManager.pool_classes_by_scheme``.
POOL_CLASSES: dict[str, type[urllib3.HTTPConnectionPool]] = {
    "http": _WatchedHTTPConnectionPool,
    "https": _WatchedHTTPSConnectionPool,
}
