"""A fault-injecting HTTP/1.1 server on raw loopback sockets, for the clients' tests.

It controls every byte and every pause: each accepted request is answered by a *play*, a
list of steps (send bytes, send one HTTP chunk, sleep, close, reset the connection). A test
queues plays (``server.queue(...)``) or installs a function that builds one from the
request (``server.handler = ...``). The server records every request and notices when a
client goes away in the middle of a play (``server.disconnects``; not under TLS). With
``tls=`` (a server ``SSLContext``) it speaks HTTPS. Its threads are
daemons and it stops itself after ``lifetime`` seconds, so a failing test cannot leave it
running.
"""

from __future__ import annotations

import json
import queue
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FaultServer", "Play", "Request", "chunked_sse", "fixture_events", "http_error"]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Play:
    """The steps of one response: ``("send", bytes)``, ``("chunk", bytes)``,
    ``("end",)`` (the zero-length chunk), ``("sleep", seconds)``, ``("wait", event,
    timeout)`` (until a ``threading.Event`` is set), ``("close",)``, ``("reset",)`` (RST
    instead of FIN)."""

    steps: list[tuple[Any, ...]] = field(default_factory=list)


def head(
    status: int = 200, headers: dict[str, str] | None = None, *, chunked: bool = True
) -> bytes:
    reason = {200: "OK", 401: "Unauthorized", 429: "Too Many Requests", 503: "Service Unavailable"}
    lines = [f"HTTP/1.1 {status} {reason.get(status, 'Status')}"]
    all_headers = {"content-type": "text/event-stream"}
    if chunked:
        all_headers["transfer-encoding"] = "chunked"
    all_headers.update(headers or {})
    lines += [f"{k}: {v}" for k, v in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def chunked_sse(
    events: Iterable[bytes],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    pause_after: int | None = None,
    pause: float = 0.0,
    end: bool = True,
) -> Play:
    """An SSE response, one HTTP chunk per event (as the real APIs send), optionally with a
    pause after the ``pause_after``-th event, and without its end when ``end`` is false."""
    steps: list[tuple[Any, ...]] = [("send", head(status, headers))]
    for i, event in enumerate(events, 1):
        steps.append(("chunk", event))
        if pause_after == i:
            steps.append(("sleep", pause))
    if end:
        steps.append(("end",))
    else:
        steps.append(("close",))
    return Play(steps)


def http_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Play:
    data = json.dumps(body).encode()
    all_headers = {"content-type": "application/json", "content-length": str(len(data))}
    all_headers.update(headers or {})
    return Play([("send", head(status, all_headers, chunked=False) + data)])


def fixture_events(body: bytes) -> list[bytes]:
    """A recorded ``.sse`` body cut into its events, each with its own blank line (LF
    framing, or CRLF as Gemini's)."""
    end = b"\r\n\r\n" if b"\r\n\r\n" in body else b"\n\n"
    return [part + end for part in body.split(end) if part.strip()]


class FaultServer:
    """See the module docstring. Use as a context manager."""

    def __init__(self, *, lifetime: float = 120.0, tls: ssl.SSLContext | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._tls = tls  # a server context: every connection speaks TLS
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._plays: queue.SimpleQueue[Play] = queue.SimpleQueue()
        self.handler: Callable[[Request], Play] | None = None
        self.requests: list[Request] = []
        self.disconnects: list[float] = []
        self.connections = 0
        self._open = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._threads: list[threading.Thread] = []
        thread = threading.Thread(target=self._serve, daemon=True)
        thread.start()
        self._threads.append(thread)

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed (by either side)."""
        return self._open

    def wait_open(self, at_most: int, timeout: float = 3.0) -> bool:
        """Wait until at most ``at_most`` connections are open; whether that happened."""
        end = time.monotonic() + timeout
        while self._open > at_most:
            if time.monotonic() > end:
                return False
            time.sleep(0.01)
        return True

    def queue(self, *plays: Play) -> None:
        for play in plays:
            self._plays.put(play)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    # -- serving ------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._open += 1
            thread = threading.Thread(target=self._connection, args=(conn,), daemon=True)
            thread.start()

    def _connection(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        if self._tls is not None:
            try:
                conn = self._tls.wrap_socket(conn, server_side=True)
            except OSError:
                conn.close()
                with self._lock:
                    self._open -= 1
                return
        reader = conn.makefile("rb")
        try:
            while not self._stop.is_set():
                request = self._read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                play = self.handler(request) if self.handler else self._plays.get(timeout=5)
                if not self._play(conn, play):
                    return
        except (OSError, queue.Empty):
            return
        finally:
            reader.close()
            conn.close()
            with self._lock:
                self._open -= 1

    def _read_request(self, reader: Any) -> Request | None:
        line = reader.readline()
        if not line:
            return None
        method, path, _ = line.decode().split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            line = reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = reader.read(int(headers.get("content-length", 0)))
        return Request(method, path, headers, body)

    def _play(self, conn: socket.socket, play: Play) -> bool:
        """Run the steps; ``False`` when the connection is done (closed or lost)."""
        try:
            for step in play.steps:
                kind = step[0]
                if kind == "send":
                    conn.sendall(step[1])
                elif kind == "chunk":
                    data = step[1]
                    conn.sendall(b"%x\r\n%s\r\n" % (len(data), data))
                elif kind == "end":
                    conn.sendall(b"0\r\n\r\n")
                elif kind == "sleep":
                    self._sleep_watching(conn, step[1])
                elif kind == "wait":
                    step[1].wait(step[2])
                elif kind == "close":
                    conn.shutdown(socket.SHUT_RDWR)
                    return False
                elif kind == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return False
        except OSError:
            self.disconnects.append(time.monotonic())
            return False
        return True

    def _sleep_watching(self, conn: socket.socket, seconds: float) -> None:
        """Sleep, but notice (and record) a client that closes the connection meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if isinstance(conn, ssl.SSLSocket):  # no MSG_PEEK under TLS: just sleep
                time.sleep(left)
                return
            conn.settimeout(min(left, 0.05))
            try:
                if conn.recv(1, socket.MSG_PEEK) == b"":
                    raise ConnectionResetError("client went away")
            except TimeoutError:
                continue
            finally:
                conn.settimeout(30)
