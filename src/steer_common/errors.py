"""Every error steer-llm-sdk raises, in one tree.

Catch :class:`SteerError` to catch everything; catch a branch to handle one kind::

    SteerError
    ├── ConfigurationError          you asked for something we cannot do (local, never retried)
    │   ├── UnknownModelError         a model name no route knows; says how to name the provider
    │   └── MissingAPIKeyError        no key for the provider; names the environment variable
    ├── InvalidStateError           an object was used after it failed or closed (a bug in the caller)
    ├── APIError                    the provider said no: an HTTP error status or an in-band error event
    │   ├── BadRequestError           400, 413, 422 and in-band invalid_request_error
    │   │   └── ContentFilterError      the prompt was blocked (Gemini promptFeedback, Azure's 400
    │   │                               content_filter); carries the provider's filter results
    │   ├── AuthenticationError       401
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404 (an unknown model, usually)
    │   ├── ConflictError             409
    │   ├── RateLimitError            429 and in-band rate_limit_error (insufficient_quota is not retryable)
    │   ├── InternalServerError       500, 502, 503, 504 and in-band api_error
    │   ├── OverloadedError           529 and in-band overloaded_error (Anthropic)
    │   └── RedirectError             a 3xx: never followed (the key would travel), never retried
    ├── TransportError              the connection failed (front ends map their transport's exceptions here)
    │   ├── APIConnectionError        refused, reset, unresolvable host, broken TLS
    │   └── StreamTimeoutError        a deadline passed
    │       ├── ConnectTimeoutError     no response head within connection_timeout
    │       ├── ReadTimeoutError        no meaningful event within read_timeout
    │       └── TotalTimeoutError       the whole call outlived total_timeout
    ├── StreamInterruptedError      the body ended without the provider's terminal signal
    ├── ProtocolError               bytes that are not the provider's wire format (bad SSE, bad JSON,
    │                               an event over the size cap, the wrong content type)
    ├── JSONModeError               JSON mode: the reply is not the JSON asked for (with the offset)
    ├── RunawayOutputError          the reply repeats itself without end or outgrows the configured cap
    ├── CallbackError               a user callback raised; the original is its ``__cause__``
    └── AgentError                  an agent run could not finish
        ├── MaxStepsError             the model still called tools after ``max_steps`` model calls
        └── ToolExecutionError        a tool raised and the agent re-raises (``tool_errors="raise"``)

An error that ends an agent run carries ``agent_steps``: the steps completed before it.

Every error raised once bytes have arrived carries ``partial_response``: the
:class:`~steer_common.models.response.StreamResponse` of what arrived before it. Error
messages never contain an API key: :func:`redact` scrubs every key the library has seen.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steer_common.models.events import StreamEvent
    from steer_common.models.response import StreamResponse

__all__ = [
    "APIConnectionError",
    "APIError",
    "AgentError",
    "AuthenticationError",
    "BadRequestError",
    "CallbackError",
    "ConfigurationError",
    "ConflictError",
    "ConnectTimeoutError",
    "ContentFilterError",
    "InternalServerError",
    "InvalidStateError",
    "JSONModeError",
    "MaxStepsError",
    "MissingAPIKeyError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "ProtocolError",
    "RateLimitError",
    "ReadTimeoutError",
    "RedirectError",
    "RunawayOutputError",
    "SteerError",
    "StreamInterruptedError",
    "StreamTimeoutError",
    "ToolExecutionError",
    "TotalTimeoutError",
    "TransportError",
    "UnknownModelError",
    "map_transport_error",
    "redact",
    "redact_logs",
    "redact_value",
    "register_secret",
    "where",
]

# Secrets the library has handled (API keys). Every error message passes through
# ``redact`` so that a key echoed back by a proxy or pasted into a URL never reaches a
# log line or a traceback. Copy-on-write (a new frozenset and pattern, rebound at once):
# threads register keys concurrently and the core may not take locks.
_SECRETS: frozenset[str] = frozenset()
_SECRET_PATTERN: re.Pattern[str] | None = None
# Key shapes the providers use, scrubbed even when the key was never registered
# (for example a key that a proxy echoes back from another configuration).
_KEY_SHAPES = re.compile(
    r"\b(sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9_\-]{16,}|xai-[A-Za-z0-9]{16,})"
)


def register_secret(secret: str | None) -> None:
    """Remember an API key so that :func:`redact` removes it from every error message."""
    global _SECRETS, _SECRET_PATTERN
    if not secret or len(secret) < 4 or secret in _SECRETS:
        return
    secrets = _SECRETS | {secret}
    _SECRET_PATTERN = re.compile(
        "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True))
    )
    _SECRETS = secrets


def redact(text: str) -> str:
    """Return ``text`` with every registered API key and every key-shaped token replaced."""
    if _SECRET_PATTERN is not None:
        text = _SECRET_PATTERN.sub("[REDACTED]", text)
    return _KEY_SHAPES.sub("[REDACTED]", text)


class _RedactingFilter(logging.Filter):
    """A logging filter that passes every record, with API keys scrubbed from its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactingFilter()


def redact_logs(*names: str) -> None:
    """Scrub API keys from what these loggers emit (the HTTP libraries log headers at
    DEBUG; a server that echoes a key in a header would otherwise put it in a log)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def redact_value(value: Any) -> Any:
    """``value`` (a parsed JSON body) with :func:`redact` applied to every string in it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_value(item) for item in value]
    return value


class SteerError(Exception):
    """Base of every error the library raises.

    Attributes:
        message: what went wrong, in words (redacted).
        provider: the provider involved, when known (``"openai"``, ``"anthropic"``, ...).
        partial_response: what arrived before the failure, or ``None`` when nothing did.
        events: the normalized events decoded from the same read just before the failure
            (they are also folded into ``partial_response``), so nothing is lost.
        place: the end of ``message`` that says where and how often the call failed
            (``" (at https://api.openai.com, after 4 attempts)"``), ``""`` when none does.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        partial_response: StreamResponse | None = None,
    ) -> None:
        self.message = redact(message)
        self.place = ""
        self.provider = provider
        self.partial_response = partial_response
        self.events: list[StreamEvent] = []
        self.agent_steps: list[Any] = []
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConfigurationError(SteerError, ValueError):
    """The request cannot be made as asked: fix the call or the environment, do not retry."""


class UnknownModelError(ConfigurationError):
    """No route knows this model name. Prefix it with the provider: ``openai/my-model``."""


class MissingAPIKeyError(ConfigurationError):
    """No API key for the provider. ``env_var`` names the environment variable to set."""

    def __init__(self, message: str, *, provider: str | None = None, env_var: str = "") -> None:
        super().__init__(message, provider=provider)
        self.env_var = env_var


class InvalidStateError(SteerError, RuntimeError):
    """An object was used after it failed or was closed (for example ``feed`` after ``close``)."""


class APIError(SteerError):
    """The provider refused or failed the request, by HTTP status or by an in-band error event.

    Attributes:
        status_code: the HTTP status, or ``None`` for an in-band error after HTTP 200.
        error_type: the provider's error type (``"overloaded_error"``, ``"insufficient_quota"``...).
        code: the provider's error code, when it sends one.
        request_id: the provider's request id (``request-id`` / ``x-request-id``), for support.
        retry_after: seconds the provider asked us to wait, when it said.
        body: the provider's error payload (parsed JSON when it was JSON), redacted.
        retryable: whether a retry can help (decided by the provider module).
        in_band: ``True`` when the error arrived inside a 200 stream.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        error_type: str | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
        retryable: bool = False,
        in_band: bool = False,
        partial_response: StreamResponse | None = None,
    ) -> None:
        super().__init__(message, provider=provider, partial_response=partial_response)
        self.status_code = status_code
        self.error_type = error_type
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = redact_value(body)
        self.retryable = retryable
        self.in_band = in_band

    def __repr__(self) -> str:
        parts = [repr(self.message)]
        if self.status_code is not None:
            parts.append(f"status_code={self.status_code}")
        if self.error_type:
            parts.append(f"error_type={self.error_type!r}")
        if self.request_id:
            parts.append(f"request_id={self.request_id!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


class BadRequestError(APIError):
    """400, 413 or 422: the provider rejected the request body. Not retried."""


class ContentFilterError(BadRequestError):
    """The provider's safety filter blocked the prompt before any reply: Gemini's
    ``promptFeedback.blockReason``, Azure OpenAI's 400 with code ``content_filter``. Not
    retried (the same prompt is blocked again). A reply cut by the filter is not this error:
    it ends with ``finish_reason == "content_filter"``.

    Attributes:
        reason: the provider's reason (``"SAFETY"``, ``"PROHIBITED_CONTENT"``,
            ``"content_filter"``...).
        filter_results: what the provider said about each category (Gemini's
            ``promptFeedback``, Azure's ``content_filter_result``), redacted.
    """

    def __init__(
        self, message: str, *, reason: str | None = None, filter_results: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason
        self.filter_results = redact_value(filter_results)


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or revoked. Not retried."""


class PermissionDeniedError(APIError):
    """403: the key may not use this model or feature. Not retried."""


class NotFoundError(APIError):
    """404: usually a model name the provider does not serve. Not retried."""


class ConflictError(APIError):
    """409: a conflicting request; retried."""


class RateLimitError(APIError):
    """429 or an in-band rate-limit error; retried with ``Retry-After`` honoured (not for quota)."""


class InternalServerError(APIError):
    """A 5xx status or an in-band ``api_error``; retried."""


class OverloadedError(APIError):
    """Anthropic's 529 or in-band ``overloaded_error``; retried while nothing was handed on."""


class RedirectError(APIError):
    """The server answered with a redirect (3xx). Redirects are never followed: the request
    carries the key, which goes only to the host it was configured for. ``location`` is
    where it pointed (without credentials or query). Not retried."""

    def __init__(self, message: str, *, location: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.location = location


class TransportError(SteerError):
    """The connection itself failed. Front ends map their HTTP library's exceptions here."""


class APIConnectionError(TransportError):
    """Connection refused or reset, host not found, TLS failure, a corrupt compressed body."""


class StreamTimeoutError(TransportError, TimeoutError):
    """A deadline passed. ``timeout`` is the limit, in seconds, that was exceeded."""

    def __init__(
        self,
        message: str,
        *,
        timeout: float | None = None,
        provider: str | None = None,
        partial_response: StreamResponse | None = None,
    ) -> None:
        super().__init__(message, provider=provider, partial_response=partial_response)
        self.timeout = timeout


class ConnectTimeoutError(StreamTimeoutError):
    """No response head arrived within ``connection_timeout``."""


class ReadTimeoutError(StreamTimeoutError):
    """No meaningful event within ``read_timeout`` (keep-alive comments and pings do not count)."""


class TotalTimeoutError(StreamTimeoutError):
    """The whole call, retries included, outlived ``total_timeout``."""


class StreamInterruptedError(SteerError):
    """The body ended before the provider's terminal signal: the reply is incomplete."""


class ProtocolError(SteerError):
    """The provider (or something between) sent bytes that break its wire format."""


class JSONModeError(SteerError):
    """JSON mode: the reply is not valid JSON (or does not match the schema).

    Attributes:
        position: offset, in characters of the reply text, of the first bad character.
        snippet: the text around that position.
    """

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        snippet: str = "",
        provider: str | None = None,
        partial_response: StreamResponse | None = None,
    ) -> None:
        super().__init__(message, provider=provider, partial_response=partial_response)
        self.position = position
        self.snippet = snippet


class RunawayOutputError(SteerError):
    """The reply repeated the same chunk without end or exceeded the configured size."""


class CallbackError(SteerError):
    """A user callback raised. The callback's own exception is ``__cause__``."""

    def __init__(
        self,
        message: str,
        *,
        callback: str = "",
        provider: str | None = None,
        partial_response: StreamResponse | None = None,
    ) -> None:
        super().__init__(message, provider=provider, partial_response=partial_response)
        self.callback = callback


class AgentError(SteerError):
    """An agent run could not finish. ``agent_steps`` holds the steps completed before."""


class MaxStepsError(AgentError):
    """The model still called tools after ``max_steps`` model calls."""


class ToolExecutionError(AgentError):
    """A tool raised and the agent was told to re-raise (``tool_errors="raise"``).

    ``tool`` is the tool's name; the tool's own exception is ``__cause__``.
    """

    def __init__(self, message: str, *, tool: str = "", provider: str | None = None) -> None:
        super().__init__(message, provider=provider)
        self.tool = tool


def map_transport_error(
    exc: BaseException,
    timeouts: tuple[type[BaseException], ...],
    connection: tuple[type[BaseException], ...],
) -> BaseException:
    """The steer error for a transport library's exception, most specific first.

    Each front end passes its own library's exception classes; a timeout becomes a
    :class:`StreamTimeoutError` (the session says which deadline it was), any other
    connection failure an :class:`APIConnectionError`, with the original as ``__cause__``.
    Steer errors and unrelated exceptions come back as they are.
    """
    if isinstance(exc, SteerError):
        return exc
    _clear_locals(exc)
    if isinstance(exc, timeouts):
        error: SteerError = StreamTimeoutError(f"timed out: {type(exc).__name__}")
    elif isinstance(exc, connection):
        error = APIConnectionError(f"connection failed: {_root_cause(exc)}")
    else:
        return exc
    error.__cause__ = exc
    return error


def where(error: SteerError, provider: str | None, origin: str, attempts: int) -> None:
    """Name in ``error.message`` the provider, the host (its ``origin``: never a key, a path
    or a query) and the attempts made when there was more than one: ``"openai: no event for
    read_timeout=1.0s (at https://api.openai.com, after 4 attempts)"``. The bracket is also
    kept as ``error.place``: a browser is told the message without it (an internal
    gateway's host is the server's business, not the page's)."""
    message = error.message.removesuffix(error.place)  # said once, however often it fails
    if provider and not message.startswith(f"{provider}:"):
        message = f"{provider}: {message}"
    said = [] if origin in message else [f"at {origin}"]
    if attempts > 1:
        said.append(f"after {attempts} attempts")
    error.place = f" ({', '.join(said)})" if said else ""
    error.message = message + error.place


def _root_cause(exc: BaseException) -> str:
    """What failed, in words, from the innermost exception under a transport library's
    wrappers (requests' ``ConnectionError`` around urllib3's ``MaxRetryError`` around a
    ``NameResolutionError`` around ``socket.gaierror``): the name of the library's
    connection pool, its retry count and the URL stay out of the message."""
    chain = [exc]
    for current in chain:
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += [*current.args, getattr(current, "os_error", None)]
        chain.extend(e for e in linked if isinstance(e, BaseException) and e not in chain)
        if len(chain) > 16:
            break
    names = {type(e).__name__ for e in chain}
    if "gaierror" in names or "NameResolutionError" in names:
        return "the host name could not be resolved"
    for e in chain:
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, ConnectionResetError):
            return "connection reset by the peer"
        if "SSL" in type(e).__name__ or "Certificate" in type(e).__name__:
            return f"TLS failed: {getattr(e, 'reason', None) or getattr(e, 'verify_message', None) or e}"
    root = chain[-1] if len(chain) > 1 else exc
    for e in reversed(chain):  # the innermost with something to say
        if str(e):
            root = e
            break
    return f"{type(root).__name__}: {root}"


def _clear_locals(exc: BaseException) -> None:
    """Clear the locals of the transport library's finished frames under ``exc`` and the
    exceptions chained to it: a traceback formatted with ``capture_locals=True`` would
    show them, and they hold the request's headers as the library encoded them (bytes no
    :class:`Secret` can hide)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)  # frames still running are skipped
        current = current.__cause__ or current.__context__
