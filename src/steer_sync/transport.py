"""The blocking transport: requests/urllib3, one pooled session shared by every thread.

Only I/O lives here: send a request, read bytes with a per-read timeout, close or return
the connection to the pool. A read returns as soon as any bytes arrive and takes all that
the socket has (``iter_content``/``iter_lines`` wait to fill their buffer: a latency bug
for streams; urllib3's ``read1`` returns one chunk per call). Bodies are read raw: the
core undoes the chunked framing and ``Content-Encoding``.

Thread safety: urllib3's pool is thread-safe and the shared ``requests.Session`` is used
only to send (no cookies are kept, redirects are not followed), so one transport, and one
client, serve many threads.
"""

from __future__ import annotations

import io
import socket
import ssl
from typing import Any, Literal

import requests
import urllib3
from requests.adapters import HTTPAdapter

from steer_common.chunked import ChunkedDecoder
from steer_common.errors import (
    APIConnectionError,
    ConfigurationError,
    SteerError,
    StreamTimeoutError,
    redact_logs,
)
from steer_common.http import ByOrigin, ResponseHead
from steer_common.request import HTTPRequest
from steer_sync._exceptions import map_exceptions, mapped
from steer_sync._watchdog import POOL_CLASSES, phase

__all__ = ["RequestsTransport", "TransportName", "TransportResponse", "make_transport"]

# urllib3 logs request lines and retries at DEBUG: no key may reach a log through them.
redact_logs(
    "urllib3.connectionpool", "urllib3.connection", "urllib3.response", "urllib3.util.retry"
)


#: The transports of the blocking client (``SteerLLMClient(transport=...)``): one.
TransportName = Literal["requests"]


class _NoCookies(requests.cookies.RequestsCookieJar):
    """A jar that keeps nothing: threads sharing the session share no state."""

    def set_cookie(self, *args: Any, **kwargs: Any) -> None:
        return None


class TransportResponse:
    """One response being read.

    Reads take what the socket has: one ``recv``, so chunks that are already waiting all
    reach the core in one read. What http.client's buffered reader holds from reading the
    head is taken first (its ``read1``); from then on the body is read from the socket
    itself (the buffered reader's own ``read1`` would call the same ``recv`` through a
    Python method per read). The chunked framing is undone by the core's
    :class:`~steer_common.chunked.ChunkedDecoder` (urllib3 would return one chunk per
    read); a ``Content-Length`` body is counted down. A response that is not a plain
    http.client one (an adapter of the caller's, a test double) is read through urllib3's
    ``read1`` instead.
    """

    __slots__ = (
        "_buffered",
        "_chunked",
        "_direct",
        "_fp",
        "_left",
        "_raw",
        "_response",
        "_sock",
        "_source",
        "_timeout",
        "eof",
        "head",
    )

    def __init__(self, response: requests.Response) -> None:
        self._response = response
        raw = self._raw = response.raw
        self.head = ResponseHead(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            sum(1 for _ in raw.headers.iteritems()),
        )
        self._timeout: float | None = -1.0  # the socket timeout last set (-1: not yet)
        self.eof = False
        source: Any = getattr(raw, "_fp", None)  # the http.client.HTTPResponse
        fp = getattr(source, "fp", None)
        self._source = source
        self._fp: io.BufferedReader | None = fp if isinstance(fp, io.BufferedReader) else None
        # The socket the body is read from, whose timeout each read sets. It is taken from
        # the body's reader: when the response will close the connection (``Connection:
        # close``, a body read until the close), http.client hands the socket over to the
        # response and empties ``connection.sock``, and the head's timeout would stay.
        sock = getattr(getattr(self._fp, "raw", None), "_sock", None)
        # Read from directly once the buffered reader is empty: the socket (or TLS socket)
        # right under the body's reader, never one under another layer (TLS inside TLS).
        self._direct: socket.socket | None = sock if isinstance(sock, socket.socket) else None
        self._buffered = True  # the buffered reader may still hold bytes read with the head
        if not isinstance(sock, socket.socket):
            sock = getattr(getattr(raw, "connection", None), "sock", None)
        self._sock: socket.socket | None = sock
        self._chunked = ChunkedDecoder() if self._fp is not None and source.chunked else None
        self._left: int | None = None if self._chunked else getattr(source, "length", None)

    def read(self, size: int, timeout: float | None, quiet: float | None = None) -> bytes | None:
        """One read: up to ``size`` bytes, as soon as any arrive; ``b""`` at the end.

        With ``quiet`` shorter than ``timeout``: ``None`` once ``quiet`` seconds pass with
        nothing arrived, the connection as it was (the session's ``Read.quiet``). Only a
        response read from its socket directly can give a read up unharmed (a timeout
        inside the buffered reader's socket file leaves it unusable); any other waits for
        data as without ``quiet``.
        """
        if self.eof:
            return b""
        sock = self._sock
        idle = (
            quiet is not None and self._direct is not None and (timeout is None or quiet < timeout)
        )
        wait = quiet if idle else timeout
        if sock is not None and wait != self._timeout:
            # Within a burst of events the limit moves by microseconds: a change under
            # 10 ms keeps the socket's timeout as it is (a syscall per read saved).
            last = self._timeout
            if wait is None or last is None or abs(wait - last) > 0.01:
                sock.settimeout(wait)
                self._timeout = wait
        try:
            if self._fp is None:
                data: bytes = self._raw.read1(size, decode_content=False)
                if not data:
                    self.eof = True
                return data
            chunked = self._chunked
            if chunked is not None:
                while True:
                    wire = self._wire(size, idle)
                    if not wire:
                        raise APIConnectionError("the connection closed inside a chunked body")
                    data = chunked.feed(wire)
                    if chunked.done:
                        self.eof = True
                        return data
                    if data:
                        return data
            left = self._left
            data = self._wire(size if left is None or left > size else left, idle)
            if left is not None:
                if not data and left:
                    raise APIConnectionError(
                        f"the connection closed {left} bytes before the end of the body "
                        "(Content-Length)"
                    )
                left = self._left = left - len(data)
                if not left:
                    self.eof = True
            elif not data:
                self.eof = True
            return data
        except TimeoutError as exc:
            if idle:
                return None  # quiet: nothing was taken from the socket
            raise mapped(exc)  # noqa: B904 - mapped() sets __cause__
        except SteerError:
            raise
        except Exception as exc:  # mapped at the edge, without a context manager per read
            raise mapped(exc)  # noqa: B904 - mapped() sets __cause__

    def _wire(self, size: int, idle: bool) -> bytes:
        """One ``recv`` of the body's bytes: first what the buffered reader holds."""
        direct = self._direct
        fp = self._fp
        assert fp is not None
        if direct is None:
            return fp.read1(size)
        if self._buffered:
            if idle:  # a read that may be given up must not wait inside the buffered reader
                self._buffered = self._holds(direct, fp)
            if self._buffered:
                data = fp.read1(size)
                self._buffered = len(data) == size
                return data
        return direct.recv(size)

    def _holds(self, sock: socket.socket, fp: io.BufferedReader) -> bool:
        """Whether the buffered reader holds bytes (or the socket has some now), without
        waiting: a timeout inside the reader's socket file would leave it unusable."""
        sock.settimeout(0)
        try:
            return bool(fp.peek())
        except ssl.SSLWantReadError:  # TLS with no whole record in yet
            return False
        finally:
            sock.settimeout(self._timeout)

    def close(self, reuse: bool = True) -> None:
        """Return the connection to the pool if the body was read to its end (and ``reuse``),
        else drop it."""
        raw = self._raw
        reusable = reuse and self.eof and not (self._chunked is not None and self._chunked.trailing)
        if reusable and self._fp is not None:
            # Read by the core, not by http.client: tell it the response is over (what it
            # does itself at the end of a body), so the connection can take a new request.
            reusable = self._left is not None or self._chunked is not None
            if reusable:
                self._source._close_conn()
        if reusable:
            raw.release_conn()
        else:
            self._response.close()  # closes the socket: the server sees the client go


class _KeepHeaders(requests.auth.AuthBase):
    """The request's own headers are its auth: nothing replaces the configured key (not a
    netrc entry, not a session's ``auth``, not credentials in a URL)."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        return request


class _Adapter(HTTPAdapter):
    """urllib3's adapter, with connections whose head phase the watchdog bounds."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        if type(manager) is urllib3.ProxyManager:  # (a SOCKS manager has pools of its own)
            manager.pool_classes_by_scheme = POOL_CLASSES
        return manager


class RequestsTransport:
    """Sends requests on one pooled :class:`requests.Session`.

    Args:
        max_connections: connections kept per host (extra ones are opened and dropped).
        session: a session of the caller's (proxies, certificates, mounted adapters); it
            is used as it is and not closed by :meth:`close`.

    Whatever the session: redirects are never followed, the request's headers are its only
    auth (no netrc, no session or URL credentials), and proxies from the environment
    (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``) and CA bundles
    (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``) are honoured, as requests does. With the
    transport's own session, ``connection_timeout`` bounds connecting and the whole head
    (:mod:`steer_sync._watchdog`); a caller's session bounds each socket operation.

    The transport's own session reads those variables once per origin, on its first
    request there (as httpx reads them once per client), not on every request as
    requests does: that scans the whole environment twice, about 0.16 ms of a short call
    with 40 variables, more where there are hundreds (a Kubernetes pod's service
    variables). A caller's session is read on every request, as requests would.
    """

    def __init__(
        self, *, max_connections: int = 64, session: requests.Session | None = None
    ) -> None:
        self._owned = session is None
        if session is None:
            session = requests.Session()
            session.cookies = _NoCookies()
            adapter = _Adapter(pool_connections=16, pool_maxsize=max_connections, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        self._session = session
        # By origin: what requests merges from the environment for a request there.
        self._environment: ByOrigin[Any] = ByOrigin()

    def __reduce__(self) -> Any:
        raise TypeError("a SteerLLMClient cannot be pickled (see docs/errors.md)")

    def open(self, request: HTTPRequest, timeout: float | None) -> TransportResponse:
        """Send ``request``; return once the whole response head has arrived, within
        ``timeout`` seconds in all."""
        with phase(timeout) as watched:
            try:
                with map_exceptions():
                    response = self._send(request, timeout)
            except SteerError as exc:
                if watched is not None and watched.fired:
                    raise StreamTimeoutError("the response head did not arrive in time") from exc
                raise
            if watched is not None and watched.fired:
                response.close()  # the deadline struck as the head arrived: it stands
                raise StreamTimeoutError("the response head did not arrive in time")
        return TransportResponse(response)

    def _send(self, request: HTTPRequest, timeout: float | None) -> requests.Response:
        """What ``Session.request`` does, with the environment read once per origin."""
        session = self._session
        prepared = session.prepare_request(
            requests.Request(
                request.method,
                request.url,
                headers=request.headers,
                data=request.body or {},
                auth=_KEEP_HEADERS,
            )
        )

        def environment() -> Any:
            return session.merge_environment_settings(prepared.url, {}, True, None, None)

        settings = (
            self._environment.get(request.origin, environment) if self._owned else environment()
        )
        return session.send(prepared, timeout=(timeout, timeout), allow_redirects=False, **settings)

    def close(self) -> None:
        """Close the pooled connections (the server sees them go) and the session."""
        if not self._owned:
            return
        # urllib3 2's PoolManager.clear() forgets its pools without closing them (their
        # idle sockets stay open until garbage collection): close each pool first.
        for adapter in {id(a): a for a in self._session.adapters.values()}.values():
            pools = getattr(getattr(adapter, "poolmanager", None), "pools", None)
            if pools is None:
                continue
            for key in list(pools.keys()):
                pool = pools.get(key)
                if pool is not None:
                    pool.close()
        self._session.close()


_KEEP_HEADERS = _KeepHeaders()


def make_transport(kind: str | None, max_connections: int, http_client: Any) -> RequestsTransport:
    """The transport a client constructor's arguments ask for: ``transport=`` ``"requests"``
    (the default, and the only one), and ``http_client=`` a ``requests.Session`` of the
    caller's.

    Raises:
        ConfigurationError: another ``transport``.
    """
    if kind not in (None, "requests"):
        raise ConfigurationError(
            f"the blocking client sends with requests (transport='requests' or None), not {kind!r}"
        )
    return RequestsTransport(max_connections=max_connections, session=http_client)
