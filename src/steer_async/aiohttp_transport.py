"""The aiohttp transport: ``SteerLLMClient(transport="aiohttp")`` (the ``[aiohttp]`` extra).

The same duties as :class:`~steer_async.transport.HttpxTransport`, on aiohttp, whose HTTP
parser is written in C: it reads these streams several times faster than httpx (see
docs/streaming-performance.md). Only I/O lives here: send a request, read raw bytes as
they arrive, close or return the connection to the pool.

A read takes everything aiohttp's parser has buffered (``StreamReader.readany``: every
HTTP chunk already waiting, in one piece), so chunks that arrived together reach the core
in one read; it waits only when nothing is buffered. Bodies are read raw
(``auto_decompress=False``): the core undoes ``Content-Encoding``. Per-read limits use the
httpx transport's :class:`~steer_async.transport._Deadline` (one loop timer, moved by
setting a number).

Whatever the session: redirects are never followed, and the request's headers are its
only auth. The transport's own session reads no netrc and no environment auth
(``trust_env=False``) but honours the proxy variables (``HTTPS_PROXY``, ``HTTP_PROXY``,
``ALL_PROXY``, ``NO_PROXY``) itself, read once per origin on its first request there
(scanning the environment costs about 0.08 ms a request). A session of the caller's with a
default ``auth`` or ``trust_env=True`` (which reads ``~/.netrc``) is refused, since either
would add credentials of its own.
"""

from __future__ import annotations

import asyncio
import urllib.request
from typing import Any

import aiohttp
from yarl import URL

from steer_async.transport import LoopPools, _Deadline
from steer_common.errors import (
    ConfigurationError,
    ProtocolError,
    map_transport_error,
    redact_logs,
)
from steer_common.http import MAX_HEADER_FIELDS, ByOrigin, ResponseHead
from steer_common.request import HTTPRequest

__all__ = ["AiohttpResponse", "AiohttpTransport"]

redact_logs("aiohttp.client", "aiohttp.internal")

_TIMEOUTS: tuple[type[BaseException], ...] = (
    aiohttp.ServerTimeoutError,
    asyncio.TimeoutError,
    TimeoutError,
)
_CONNECTION: tuple[type[BaseException], ...] = (aiohttp.ClientError, OSError)
_UNTIMED = aiohttp.ClientTimeout(total=None)


def _mapped(exc: BaseException) -> BaseException:
    return map_transport_error(exc, _TIMEOUTS, _CONNECTION)


class AiohttpResponse:
    """One response being read (see the module docstring)."""

    __slots__ = ("_content", "_deadline", "_response", "eof", "head")

    def __init__(self, response: aiohttp.ClientResponse, deadline: _Deadline) -> None:
        self._response = response
        self._deadline = deadline
        self._content = response.content
        headers: dict[str, str] = {}
        for name, value in response.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self.head = ResponseHead(response.status, headers, len(response.raw_headers))
        self.eof = False

    async def read(self, size: int, timeout: float | None) -> bytes:
        """One read: every byte of the body buffered now, waiting for the first only if
        there are none; ``b""`` at the end. (``size`` is a hint: what is buffered is
        already in memory.)"""
        if self.eof:
            return b""
        deadline = self._deadline
        deadline.arm(timeout)
        try:
            data = await self._content.readany()
        except asyncio.CancelledError:
            if not deadline.expired:
                raise
            raise deadline.timed_out() from None
        except Exception as exc:  # mapped at the edge, without a context manager per read
            raise _mapped(exc)  # noqa: B904 - _mapped() sets __cause__
        finally:
            deadline._when = None  # disarmed (inline: once per read)
        if not data:
            self.eof = True
        return data

    async def close(self, reuse: bool = True) -> None:
        """Return the connection to the pool if the body was read to its end (and
        ``reuse``), else drop it (the server sees the client go).

        One difference from httpx: aiohttp pools a connection by itself as soon as its
        parser has the whole body, which can be before the core has read it. A body that
        arrived whole and well framed, whose content the core then fails (bad JSON, a
        corrupt gzip stream), leaves its connection pooled: its framing was sound, and the
        socket may already serve another request, so it is not closed under it.
        """
        self._deadline.close()
        if reuse and self.eof:
            self._response.release()
            return
        self._response.close()  # closes the connection if aiohttp still holds it
        # The socket closes on the loop's next step: take it, so that it is closed when
        # this returns (as httpx's aclose() does), even if the loop stops right after.
        await asyncio.sleep(0)


class AiohttpTransport:
    """Sends requests on a pooled :class:`aiohttp.ClientSession`, one per event loop.

    Args:
        max_connections: pooled keep-alive connections per host.
        session: an ``aiohttp.ClientSession`` of the caller's (a connector of its own,
            certificates); used as it is and not closed by :meth:`aclose`.

    Raises:
        ConfigurationError: a session with a default ``auth`` or ``trust_env=True``.
    """

    def __init__(
        self, *, max_connections: int = 64, session: aiohttp.ClientSession | None = None
    ) -> None:
        if session is not None and (session.auth is not None or session.trust_env):
            raise ConfigurationError(
                "this aiohttp session would add credentials of its own (a default auth=, or "
                "trust_env=True, which reads ~/.netrc): the request's headers must be its only "
                "auth. Pass a session without them (proxies from the environment are "
                "honoured by the transport's own session)"
            )
        self._given = session
        self._max_connections = max_connections
        self._proxies: ByOrigin[str | None] = ByOrigin()  # from the environment
        self._pools = LoopPools(self._new_pool, lambda session: session.close())

    def __reduce__(self) -> Any:
        raise TypeError("a SteerLLMClient cannot be pickled (see docs/errors.md)")

    def _new_pool(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=False,
            trust_env=False,  # no netrc; the proxy variables are read in open()
            cookie_jar=aiohttp.DummyCookieJar(),  # tasks sharing the session share no state
        )

    async def open(self, request: HTTPRequest, timeout: float | None) -> AiohttpResponse:
        """Send ``request``; return once the response head has arrived."""
        session = self._given  # else the running loop's (made on its first request)
        if session is None:
            session = self._pools.current() or await self._pools.get()
        deadline = _Deadline()
        deadline.arm(timeout)
        try:
            try:
                response = await session.request(
                    request.method,
                    # As built: yarl would otherwise re-quote the path (Bedrock's
                    # "%3A" becomes ":", and the SigV4 signature no longer matches).
                    URL(request.url, encoded=True),
                    data=request.body,
                    headers=request.headers,
                    allow_redirects=False,
                    auto_decompress=False,
                    proxy=None
                    if self._given is not None
                    else self._proxies.get(request.origin, lambda: _proxy_for(request.url)),
                    # The limits are the deadline's (armed above, through the head); a
                    # session's own timeouts would cut a long stream short.
                    timeout=_UNTIMED,
                )
            except asyncio.CancelledError:
                raise
            except aiohttp.ClientResponseError as exc:
                if "Too many headers" not in str(exc.message):
                    raise _mapped(exc) from exc
                # aiohttp stops reading the head at its own limit, past the core's.
                raise ProtocolError(
                    f"the response head has more header fields than aiohttp reads ({exc.message}; "
                    f"more than {MAX_HEADER_FIELDS} header fields are refused)"
                ) from exc
            except Exception as exc:
                error = _mapped(exc)
                if error is exc:
                    raise
                raise error from exc
        except asyncio.CancelledError:
            if not deadline.expired:
                deadline.close()
                raise
            raise deadline.timed_out() from None
        except BaseException:
            deadline.close()
            raise
        finally:
            deadline.disarm()
        return AiohttpResponse(response, deadline)

    async def aclose(self) -> None:
        """Close this event loop's pool (a session given by the caller stays open)."""
        await self._pools.close()


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``None``: none, or ``NO_PROXY``)."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0]
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if proxy is None or urllib.request.proxy_bypass(host.rsplit(":", 1)[0]):
        return None
    return proxy
