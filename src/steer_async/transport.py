"""The asyncio transport: httpx, one pooled ``AsyncClient`` shared by every task.

The twin of ``steer_sync/transport.py``. Only I/O lives here: send a request, read raw
bytes as they arrive (the response's byte stream itself: no re-chunking, no decoding; the
core undoes ``Content-Encoding``), close or return the connection to the pool.

Timeouts per read: httpx fixes its read timeout per request, but the core asks for a
different limit on every read (what is left of ``read_timeout`` since the last meaningful
event, or of ``total_timeout``). A :class:`_Deadline` arms a single loop timer that
cancels the reading task when the limit passes and is re-armed by moving a number, not by
scheduling a new timer per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any, Generic, Literal, Protocol, TypeVar

import httpx

from steer_async._exceptions import map_exceptions, mapped
from steer_common.errors import ConfigurationError, StreamTimeoutError, redact_logs
from steer_common.extras import install
from steer_common.http import ResponseHead
from steer_common.request import HTTPRequest

__all__ = [
    "AsyncTransport",
    "HttpxTransport",
    "Response",
    "TransportName",
    "TransportResponse",
    "make_transport",
]

# httpx logs each request and httpcore every header it receives, at INFO and DEBUG: no key
# may reach a log through them (a server can echo one back in a header).
redact_logs("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2", "httpcore.proxy")


P = TypeVar("P")
#: The transports of the asyncio client (``SteerLLMClient(transport=...)``).
TransportName = Literal["httpx", "aiohttp"]


class Response(Protocol):
    """A response being read, as the driver uses it (httpx's or aiohttp's)."""

    head: ResponseHead
    eof: bool

    async def read(self, size: int, timeout: float | None) -> bytes: ...
    async def close(self, reuse: bool = True) -> None: ...


class AsyncTransport(Protocol):
    """What :class:`~steer_async.driver.StreamingHelper` sends with: :class:`HttpxTransport`
    or :class:`~steer_async.aiohttp_transport.AiohttpTransport`."""

    async def open(self, request: HTTPRequest, timeout: float | None) -> Response: ...
    async def aclose(self) -> None: ...


class _Deadline:
    """Cancels the current task if an awaited read outlives its limit (see the module doc)."""

    __slots__ = ("_fires_at", "_handle", "_loop", "_task", "_time", "_when", "expired")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._time = self._loop.time
        self._task: asyncio.Task[Any] | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._fires_at = 0.0  # when the handle fires
        self._when: float | None = None
        self.expired = False

    def arm(self, timeout: float | None) -> None:
        if timeout is None:
            self._when = None
            return
        if self._task is None:  # the task reading this response (one per response)
            self._task = asyncio.current_task()
        when = self._when = self._time() + timeout
        # The timer is moved only to an earlier time; a later limit is rechecked when the
        # timer fires (see _fire): no timer churn on the hot path.
        if self._handle is None or self._fires_at > when:
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self._loop.call_at(when, self._fire)
            self._fires_at = when

    def disarm(self) -> None:
        self._when = None

    def close(self) -> None:
        self._when = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        self._handle = None
        when = self._when
        if when is None or self._task is None:
            return
        if self._time() < when:
            self._handle = self._loop.call_at(when, self._fire)
            self._fires_at = when
            return
        self.expired = True
        self._task.cancel()

    def timed_out(self) -> StreamTimeoutError:
        """The error to raise after the timer cancelled the read (and undo the cancel)."""
        self.expired = False
        task = self._task
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+
        if uncancel is not None:
            uncancel()
        return StreamTimeoutError("timed out: the read outlived its limit")


class TransportResponse:
    """One response being read.

    A read awaits the next piece of the body as usual, then takes every further piece
    that is ready without waiting: httpx yields one piece per HTTP chunk, and a piece
    whose bytes have arrived comes out without waiting for the network, so
    ``__anext__()`` is started by hand and run on while it only passes checkpoints. When
    it waits for the network instead, it is kept as :class:`_Started` and the next read
    resumes it, so no work is lost and nothing waits. Chunks already waiting reach the
    core in one read.
    """

    __slots__ = (
        "_deadline",
        "_ended",
        "_error",
        "_iterator",
        "_pending",
        "_response",
        "eof",
        "head",
    )

    def __init__(self, response: httpx.Response, deadline: _Deadline) -> None:
        self._response = response
        self._deadline = deadline
        # The byte stream itself, not aiter_raw(): aiter_raw() closes the response at the
        # end of the body, which hands the connection back to the pool before close() has
        # decided whether it may go back (see close()). A response already in memory
        # (httpx.MockTransport, an in-memory stream) cannot be streamed again: read what
        # is there.
        self._iterator: AsyncIterator[bytes] = (
            _in_memory(response.content) if response.is_stream_consumed else aiter(response.stream)  # type: ignore[arg-type]
        )
        self.head = ResponseHead(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            len(response.headers.raw),
        )
        self.eof = False
        self._pending: _Started | None = None  # the next piece, already asked for
        self._ended = False  # the body ended while gathering ready pieces
        self._error: BaseException | None = None  # raised while gathering: the next read's

    async def read(self, size: int, timeout: float | None) -> bytes:
        """One read: the next piece of the body and every piece ready after it, up to
        about ``size`` bytes; ``b""`` at the end."""
        if self.eof:
            return b""
        if self._ended or self._error is not None:
            return self._after_gathering()
        deadline = self._deadline
        deadline.arm(timeout)
        try:
            pending = self._pending
            if pending is not None:
                self._pending = None
                data = await pending
            else:
                data = await self._iterator.__anext__()
        except StopAsyncIteration:
            data = b""
        except asyncio.CancelledError:
            if not deadline.expired:
                raise
            raise deadline.timed_out() from None
        except Exception as exc:  # mapped at the edge, without a context manager per read
            raise mapped(exc)  # noqa: B904 - mapped() sets __cause__
        finally:
            deadline._when = None  # disarmed (inline: once per read)
        if not data:
            self.eof = True
            return data
        if len(data) < size:
            data = self._gather(data, size)
        return data

    def _gather(self, data: bytes, size: int) -> bytes:
        """``data`` and the pieces that are ready now (no waiting: see the class doc)."""
        parts = [data]
        got = len(data)
        anext = self._iterator.__anext__
        while got < size:
            step: Any = anext()
            try:
                waiting = step.send(None)
                while waiting is None:
                    # A bare yield is a checkpoint (anyio's sleep(0) before it takes
                    # data that already arrived), not a wait: go on at once.
                    waiting = step.send(None)
            except StopIteration as done:
                piece: bytes = done.value
            except StopAsyncIteration:
                self._ended = True
                break
            except Exception as exc:  # raised by the next read, after what arrived
                self._error = exc
                break
            else:
                self._pending = _Started(step, waiting)
                break
            parts.append(piece)
            got += len(piece)
        return data if len(parts) == 1 else b"".join(parts)

    def _after_gathering(self) -> bytes:
        error = self._error
        if error is not None:
            self._error = None
            raise mapped(error)
        self.eof = True
        return b""

    async def close(self, reuse: bool = True) -> None:
        """Return the connection to the pool if the body was read to its end (and ``reuse``),
        else drop it.

        Until this closes the response, the connection is the response's alone, even with
        the whole body read: no other request can take it, so dropping it here never closes
        a socket another request is using."""
        self._deadline.close()
        pending = self._pending
        if pending is not None:
            # A read still waits for the network: end it (httpcore then drops the
            # connection), so no generator is left half run.
            self._pending = None
            await pending.cancel()
        if not reuse and (self.eof or self._ended):
            # httpcore would pool a connection whose body ended: close its socket first
            # (the documented "network_stream" extension), so the pool drops it.
            stream = self._response.extensions.get("network_stream")
            if stream is not None:
                await stream.aclose()
        await self._response.aclose()


class _Started:
    """An ``__anext__()`` started by hand that had to wait: awaiting this resumes it where
    it stopped (what ``await`` would have done had it been awaited from the start)."""

    __slots__ = ("_step", "_waiting")

    def __init__(self, step: Any, waiting: Any) -> None:
        self._step = step
        self._waiting = waiting  # what it yielded to the event loop

    def __await__(self) -> Generator[Any, Any, bytes]:
        return self._drive(None)

    async def cancel(self) -> None:
        """End it with a cancellation of its own (the caller's are not swallowed)."""
        stop = asyncio.CancelledError()
        try:
            await _Awaiting(self._drive(stop))
        except asyncio.CancelledError as exc:
            if exc is not stop:
                raise
        except Exception:  # the read failed as it ended: nothing to hand on
            pass

    def _drive(self, throw: BaseException | None) -> Generator[Any, Any, bytes]:
        step = self._step
        try:
            waiting = self._waiting if throw is None else step.throw(throw)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        while True:
            try:
                try:
                    sent = yield waiting
                except BaseException as exc:  # a cancellation of the task: pass it in
                    waiting = step.throw(exc)
                else:
                    waiting = step.send(sent)
            except StopIteration as done:  # noqa: PERF203 - free in 3.11 until raised
                return done.value  # type: ignore[no-any-return]


class _Awaiting:
    """A generator as an awaitable."""

    __slots__ = ("_generator",)

    def __init__(self, generator: Generator[Any, Any, Any]) -> None:
        self._generator = generator

    def __await__(self) -> Generator[Any, Any, Any]:
        return self._generator


async def _in_memory(content: bytes) -> AsyncIterator[bytes]:
    yield content


class _KeepHeaders(httpx.Auth):
    """The request's own headers are its auth: nothing replaces the configured key (not a
    client's ``auth``, not credentials in a URL)."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield request


_KEEP_HEADERS = _KeepHeaders()


class HttpxTransport:
    """Sends requests on a pooled :class:`httpx.AsyncClient`, one per event loop.

    Args:
        max_connections: pooled keep-alive connections (httpcore's pool does work in
            proportion to idle connections on every request, so this stays bounded).
        client: an ``httpx.AsyncClient`` of the caller's (proxies, certificates, a mock
            transport in tests); it is used as it is and not closed by :meth:`aclose`.

    Whatever the client: redirects are never followed, the request's headers are its only
    auth, and proxies from the environment (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``,
    ``NO_PROXY``) and CA bundles (``SSL_CERT_FILE``, ``SSL_CERT_DIR``) are honoured, as httpx
    does. Connections belong to the event loop that opened them, so each loop the transport is
    used from gets its own pool: one client serves two ``asyncio.run()`` calls in turn.
    A loop's pool is closed by :meth:`aclose` or, at the latest, when ``asyncio.run()``
    shuts that loop down (its async generators are closed then, and one of them closes
    the pool).
    """

    def __init__(
        self, *, max_connections: int = 64, client: httpx.AsyncClient | None = None
    ) -> None:
        self._given = client
        self._max_connections = max_connections
        self._pools = LoopPools(self._new_pool, lambda client: client.aclose())

    def __reduce__(self) -> Any:
        raise TypeError("a SteerLLMClient cannot be pickled (see docs/errors.md)")

    def _new_pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=None, max_keepalive_connections=self._max_connections
            ),
            follow_redirects=False,
        )

    async def open(self, request: HTTPRequest, timeout: float | None) -> TransportResponse:
        """Send ``request``; return once the response head has arrived."""
        client = self._given  # else the running loop's (made on its first request)
        if client is None:
            client = self._pools.current() or await self._pools.get()
        deadline = _Deadline()
        http_request = client.build_request(
            request.method,
            request.url,
            content=request.body,
            headers=request.headers,
            timeout=httpx.Timeout(connect=timeout, read=None, write=timeout, pool=timeout),
        )
        deadline.arm(timeout)
        try:
            with map_exceptions():
                # Whatever the client's settings: never follow a redirect (the key would go
                # with it), and no auth but the request's own headers.
                response = await client.send(
                    http_request, stream=True, follow_redirects=False, auth=_KEEP_HEADERS
                )
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
        return TransportResponse(response, deadline)

    async def aclose(self) -> None:
        """Close this event loop's pool (a client given by the caller stays open)."""
        await self._pools.close()


class LoopPools(Generic[P]):
    """One connection pool per event loop, each closed with its loop: what both asyncio
    transports keep (a pool's connections belong to the loop that opened them).

    Args:
        make: a new pool (called in the loop that will use it).
        close: closes a pool.
    """

    def __init__(self, make: Callable[[], P], close: Callable[[P], Awaitable[Any]]) -> None:
        self._make = make
        self._close = close
        # loop -> (its pool, the async generator that closes it when the loop shuts down)
        self._pools: dict[asyncio.AbstractEventLoop, tuple[P, Any]] = {}

    def __len__(self) -> int:
        return len(self._pools)

    def current(self) -> P | None:
        """The running loop's pool, ``None`` until :meth:`get` made it (no coroutine: the
        common case, a pool made already, costs a dictionary lookup)."""
        entry = self._pools.get(asyncio.get_running_loop())
        return None if entry is None else entry[0]

    async def get(self) -> P:
        """The running loop's pool (made on first use there)."""
        loop = asyncio.get_running_loop()
        entry = self._pools.get(loop)
        if entry is not None:
            return entry[0]
        for old in [old for old in self._pools if old.is_closed()]:
            del self._pools[old]  # closed with its loop
        pool = self._make()
        closer = self._close_at_shutdown(pool)
        await closer.__anext__()  # now the loop knows it, and closes it before it closes
        self._pools[loop] = (pool, closer)
        return pool

    async def close(self) -> None:
        """Close the running loop's pool, if it has one."""
        entry = self._pools.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry[1].aclose()  # closes the pool

    async def _close_at_shutdown(self, pool: P) -> AsyncIterator[None]:
        """Suspended for the life of the loop; closing it (``aclose()``, or the loop's
        ``shutdown_asyncgens()`` at the end of ``asyncio.run``) closes ``pool``."""
        try:
            yield
        finally:
            await self._close(pool)


def make_transport(kind: str | None, max_connections: int, http_client: Any) -> AsyncTransport:
    """The transport a client constructor's arguments ask for: ``transport=`` ``"httpx"``
    (the default) or ``"aiohttp"``, and ``http_client=`` an ``httpx.AsyncClient`` or an
    ``aiohttp.ClientSession`` of the caller's (which chooses its transport).

    Raises:
        ConfigurationError: an unknown ``transport``, or an ``http_client`` of another kind.
    """
    given = type(http_client).__module__.partition(".")[0] if http_client is not None else None
    if kind not in (None, "httpx", "aiohttp"):
        raise ConfigurationError(f"transport must be 'httpx' or 'aiohttp', not {kind!r}")
    if kind == "aiohttp" or given == "aiohttp":
        if given not in (None, "aiohttp"):
            raise ConfigurationError(
                f"transport='aiohttp' takes an aiohttp.ClientSession as http_client, "
                f"not a {type(http_client).__name__}"
            )
        try:
            from steer_async.aiohttp_transport import AiohttpTransport  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - the test extra installs aiohttp
            raise ConfigurationError(
                f"transport='aiohttp' needs aiohttp: {install('aiohttp')}"
            ) from exc
        return AiohttpTransport(max_connections=max_connections, session=http_client)
    return HttpxTransport(max_connections=max_connections, client=http_client)
