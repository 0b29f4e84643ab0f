"""HTTP knowledge that is not I/O: response heads, error bodies, Retry-After, decoding.

- :func:`error_from_response` turns an error status and its body into the typed
  :class:`~steer_common.errors.APIError` (the provider's error type, code and message
  parsed from each provider's error body; the request id from ``request-id`` /
  ``x-request-id`` and the other providers' headers; ``Retry-After``, ``retry-after-ms``
  and Google's ``RetryInfo`` read).
- :class:`BodyDecoder` undoes ``Content-Encoding: gzip`` / ``deflate`` incrementally, in
  bounded steps, so both front ends read raw bytes and decode them the same way.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from steer_common.commands import Read
from steer_common.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ContentFilterError,
    PermissionDeniedError,
    ProtocolError,
    RedirectError,
    SteerError,
    redact_value,
)
from steer_common.providers.base import api_error
from steer_common.routing import API_KEY_ENV

__all__ = [
    "ERROR_BODY_LIMIT",
    "ERROR_BODY_TIMEOUT",
    "INFLATE_STEP",
    "MAX_HEADER_FIELDS",
    "BodyDecoder",
    "ByOrigin",
    "ResponseHead",
    "error_from_response",
    "head_error",
    "read_error_body",
    "retry_after_seconds",
]


@dataclass(frozen=True, slots=True)
class ResponseHead:
    """Status and headers of a response; header names are lower case.

    ``fields`` is how many header lines the head had (repeated names count each time);
    ``0`` when the transport does not say.
    """

    status: int
    headers: Mapping[str, str]
    fields: int = 0

    @property
    def request_id(self) -> str | None:
        """The provider's request id, for support tickets."""
        headers = self.headers
        for name in ("request-id", "x-request-id", "x-amzn-requestid", "apim-request-id"):
            if name in headers:
                return headers[name]
        return None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


_T = TypeVar("_T")


class ByOrigin(Generic[_T]):
    """A value worked out once per origin (``scheme://host[:port]``) and kept, for the
    transports: what the environment says of an origin (its proxy, its CA bundle) is read
    on its first request, not on every one. At most ``limit`` origins are kept (a client
    calls a handful; past that the table starts again)."""

    __slots__ = ("_limit", "_values")

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._values: dict[str, _T] = {}

    def get(self, origin: str, compute: Callable[[], _T]) -> _T:
        """The value for ``origin``: ``compute()`` the first time."""
        try:
            return self._values[origin]
        except KeyError:
            if len(self._values) >= self._limit:
                self._values.clear()
            value = self._values[origin] = compute()
            return value


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP date (``now`` is the current Unix time, for
    dates). Unparseable or negative values are ignored.
    """
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            value = float(ms) / 1000
            if value >= 0:
                return value
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        value = float(raw)
        return value if value >= 0 else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if now is None:
        return None
    return max(when - now, 0.0)


def error_from_response(
    provider: str, head: ResponseHead, body: bytes, *, now: float | None = None
) -> APIError:
    """The typed error for a non-2xx response (its body already read, bounded)."""
    if 300 <= head.status < 400:
        location = _public(head.headers.get("location", ""))
        return RedirectError(
            f"{provider}: HTTP {head.status}, a redirect to {location or '(no Location)'}, "
            "which is never followed: the key goes only to the configured host (check the "
            "base URL)",
            provider=provider,
            status_code=head.status,
            request_id=head.request_id,
            location=location or None,
        )
    text = body.decode("utf-8", "replace")
    payload: Any = None
    try:
        payload = json.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    fields = _error_fields(payload, head.headers)
    message = fields.message
    if not message:
        snippet = " ".join(text.split())[:200]
        message = snippet or "(empty body)"
    retry_after = retry_after_seconds(head.headers, now)
    error = api_error(
        provider,
        message,
        status=head.status,
        error_type=fields.error_type,
        code=fields.code,
        request_id=head.request_id,
        retry_after=fields.retry_after if retry_after is None else retry_after,
        body=payload if payload is not None else text[:2000],
    )
    if isinstance(error, AuthenticationError | PermissionDeniedError) and provider in API_KEY_ENV:
        error.message += (
            f" (the key comes from api_keys={{'{provider}': ...}} or the "
            f"{API_KEY_ENV[provider]} environment variable)"
        )
        error.args = (error.message,)
    if isinstance(error, ContentFilterError):
        error.reason = fields.code
        error.filter_results = redact_value(fields.filter_results)
    return error


@dataclass(frozen=True, slots=True)
class _ErrorFields:
    message: str = ""
    error_type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    filter_results: Any = None


def _error_fields(payload: Any, headers: Mapping[str, str]) -> _ErrorFields:
    """What an error body says, in each provider's shape: OpenAI's and Azure's
    ``{"error": {message, type, code, innererror}}``, Anthropic's ``{"type": "error",
    "error": {type, message}}``, xAI's ``{"error": "<message>"}``, Google's ``{"error":
    {code, message, status, details}}`` (an ``ErrorInfo`` reason, a ``RetryInfo`` delay),
    Bedrock's ``{"message"}`` with its type in the ``x-amzn-ErrorType`` header."""
    message, error_type, code, delay, filters = "", None, None, None, None
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            error_type = _string(error.get("type")) or _string(error.get("status"))
            code = _string(error.get("code"))
            message = str(error.get("message") or "")
            for detail in error.get("details") or []:
                if not isinstance(detail, dict):
                    continue
                code = code or _string(detail.get("reason"))
                if str(detail.get("@type", "")).endswith("RetryInfo"):
                    delay = _duration(detail.get("retryDelay"))
            inner = error.get("innererror")
            if isinstance(inner, dict):
                code = code or _string(inner.get("code"))
                filters = inner.get("content_filter_result")
        elif isinstance(error, str):
            message = error
        if not message:
            message = str(payload.get("message") or payload.get("Message") or "")
    amazon = headers.get("x-amzn-errortype")
    if amazon and error_type is None:
        error_type = amazon.split(":", 1)[0]
    return _ErrorFields(message, error_type, code, delay, filters)


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _duration(value: Any) -> float | None:
    """A protobuf Duration in JSON (``"13s"``, ``"1.5s"``), in seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            seconds = float(value[:-1])
        except ValueError:
            return None
        return seconds if seconds >= 0 else None
    return None


#: The most bytes one step of inflating produces (see :class:`BodyDecoder`): small enough
#: that parsing a step of the worst bytes (16 KB of keep-alive comments, about 4 ms) never
#: holds an event loop for long.
INFLATE_STEP = 16 * 1024


def read_error_body(
    head: ResponseHead, limit: int, deadline: float | None, clock: Callable[[], float]
) -> Generator[Read, bytes, tuple[bytes, bool]]:
    """Read an error body through the flow (``Read`` commands): decoded as it arrives, at
    most ``limit`` decoded bytes, until ``deadline`` (on ``clock``). Returns the body and
    whether it was read to its end (the connection may then be pooled)."""
    try:
        decoder: BodyDecoder | None = BodyDecoder(head.headers.get("content-encoding"))
    except SteerError:
        decoder = None  # an encoding we cannot undo: keep the bytes as they are
    parts: list[bytes] = []
    size = 0
    whole = False
    while size < limit:
        left = None if deadline is None else deadline - clock()
        if left is not None and left <= 0:
            break
        try:
            chunk = yield Read(65536, left)
        except SteerError:
            break
        try:
            if not chunk:
                whole = True
                if decoder is not None:
                    parts.append(decoder.close())
                break
            data = chunk if decoder is None else decoder.feed(chunk)
            while True:
                parts.append(data)
                size += len(data)
                if decoder is None or not decoder.pending or size >= limit:
                    break
                data = decoder.feed(b"")
        except SteerError:  # a corrupt compressed body: explain with what decoded
            break
    return b"".join(parts)[:limit], whole


def _public(url: str) -> str:
    """A URL without its credentials and query (either may carry a secret)."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    if not parts.scheme:
        return parts.path
    return f"{parts.scheme}://{host}{parts.path}"


class BodyDecoder:
    """Incremental ``Content-Encoding`` decoding, in bounded steps: ``feed(bytes) -> bytes``,
    ``pending``, ``close()``.

    ``identity`` passes bytes through; ``gzip`` and ``deflate`` (zlib-wrapped or raw, as
    servers differ) are inflated as they arrive. One :meth:`feed` produces at most ``step``
    bytes: what a step leaves of its input waits (:attr:`pending`), and ``feed(b"")``
    takes the next step. A megabyte that inflates to a gigabyte (a decompression bomb) is
    thus a series of small steps, each checked by the caller (the line and event caps, the
    deadlines), never a gigabyte in memory. A corrupt body raises
    :class:`~steer_common.errors.APIConnectionError` (the bytes did not survive the trip).
    Other encodings (``br``, ``zstd``) are never asked for (``Accept-Encoding: gzip,
    deflate``) and are refused if a server sends them anyway.
    """

    __slots__ = ("_encoding", "_inflater", "_raw_deflate_tried", "_step")

    def __init__(self, content_encoding: str | None, *, step: int = INFLATE_STEP) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip", "deflate", ""):
            raise APIConnectionError(f"unsupported Content-Encoding {encoding!r}")
        self._encoding = encoding
        self._step = step
        self._raw_deflate_tried = False
        if encoding in ("gzip", "x-gzip"):
            self._inflater: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._inflater = zlib.decompressobj()
        else:
            self._inflater = None

    @property
    def identity(self) -> bool:
        return self._inflater is None

    @property
    def pending(self) -> bool:
        """Input is left over from the last step: call ``feed(b"")`` for the next one."""
        return self._inflater is not None and bool(self._inflater.unconsumed_tail)

    def feed(self, data: bytes) -> bytes:
        """Inflate ``data`` after what is :attr:`pending`; at most ``step`` bytes out."""
        inflater = self._inflater
        if inflater is None:
            return data
        tail = inflater.unconsumed_tail
        if tail:
            data = tail + data
        try:
            out = bytes(inflater.decompress(data, self._step))
            self._raw_deflate_tried = True  # the header was fine: no second guess later
            return out
        except zlib.error as exc:
            if self._encoding == "deflate" and not self._raw_deflate_tried:
                # Some servers send raw deflate without the zlib header.
                self._raw_deflate_tried = True
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data)
            raise APIConnectionError(f"corrupt {self._encoding} response body: {exc}") from None

    def close(self) -> bytes:
        """The end of the body: what is left (call once nothing is :attr:`pending`)."""
        if self._inflater is None:
            return b""
        try:
            tail = bytes(self._inflater.flush(self._step))
        except zlib.error as exc:
            raise APIConnectionError(f"corrupt {self._encoding} response body: {exc}") from None
        if not self._inflater.eof and self._encoding != "deflate":
            raise APIConnectionError(f"truncated {self._encoding} response body")
        return tail


#: The most bytes of an error body read (once decoded) to explain an error status.
ERROR_BODY_LIMIT = 64 * 1024
#: The longest an error body is waited for (shorter when a timeout option is): an error
#: body is small, and a server that drips it must not hold the call.
ERROR_BODY_TIMEOUT = 30.0
#: The most header fields a response head may have: http.client's limit (100 lines, the
#: blank one that ends the head included), which the blocking client cannot lift without
#: changing it for the whole process, so both clients refuse more, with a ProtocolError.
MAX_HEADER_FIELDS = 99


def head_error(
    head: ResponseHead,
    *,
    provider: str,
    content_type: str,
    timeout: float | None,
    clock: Callable[[], float],
) -> Generator[Read, bytes, tuple[SteerError, bool] | None]:
    """``None`` for a head that starts a 2xx ``content_type`` stream; else its typed
    error, and whether its body was read to its end (:func:`read_error_body`: decoded,
    bounded, within ``timeout`` seconds from now, ``None``: no limit): an
    :class:`APIError` from the status and the provider's error body, a ``ProtocolError``
    for a 2xx of another content type (a proxy's page, say) or for more than
    :data:`MAX_HEADER_FIELDS` header fields."""
    if head.fields > MAX_HEADER_FIELDS:
        return ProtocolError(
            f"{provider}: the response head has {head.fields} header fields "
            f"(more than {MAX_HEADER_FIELDS} header fields are refused)",
            provider=provider,
        ), False
    if 200 <= head.status < 300 and (not head.content_type or head.content_type == content_type):
        return None
    deadline = None if timeout is None else clock() + timeout
    body, whole = yield from read_error_body(head, ERROR_BODY_LIMIT, deadline, clock)
    if not 200 <= head.status < 300:
        return error_from_response(provider, head, body, now=time.time()), whole
    snippet = " ".join(body[:300].decode("utf-8", "replace").split())
    return ProtocolError(
        f"{provider}: expected a {content_type} body, got {head.content_type!r} "
        f"(HTTP {head.status}, from a proxy?): {snippet!r}",
        provider=provider,
    ), whole
