"""What every provider module shares: the adapter interface, tool-call assembly, error typing.

A provider adapter turns that provider's server-sent events into
:class:`~steer_common.models.events.StreamEvent` objects. It is fed one
:class:`~steer_common.sse.ServerSentEvent` at a time through :meth:`StreamAdapter.handle`,
appending what it makes to a list (one list per read, not one per event: the hot path),
and told the stream ended through :meth:`StreamAdapter.finish`, which raises
:class:`~steer_common.errors.StreamInterruptedError` unless the provider's terminal signal
came. An in-band error event is appended as an ``error`` event and then raised as a typed
:class:`~steer_common.errors.APIError`; :class:`~steer_common.parser.StreamParser` attaches
what arrived before it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from steer_common.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentFilterError,
    InternalServerError,
    NotFoundError,
    OverloadedError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    StreamInterruptedError,
    redact,
)
from steer_common.models.events import (
    ERROR,
    TOOL_CALL_DELTA,
    TOOL_CALL_END,
    TOOL_CALL_START,
    StreamEvent,
)
from steer_common.models.response import ToolCall
from steer_common.spec import HTTPRequest, compact_json
from steer_common.sse import DiscardedInput, ServerSentEvent

__all__ = [
    "SHAPES_PER_STREAM",
    "EventShape",
    "Provider",
    "ProviderAdapter",
    "Resumption",
    "StreamAdapter",
    "ToolCallBuilder",
    "WireFormat",
    "api_error",
    "error_class",
    "error_event",
    "hole",
    "in_background",
    "integer",
    "kept_request",
    "learn_shape",
    "load_json_object",
    "parse_arguments",
    "scan_json",
    "string",
    "text_of",
]

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
    500: InternalServerError,
    502: InternalServerError,
    503: InternalServerError,
    504: InternalServerError,
    529: OverloadedError,
}

# Error type strings in the providers' error bodies and in-band error events, matched
# case-insensitively: Anthropic's (docs "Errors"), OpenAI's ``error.type`` / ``error.code``,
# Google's gRPC status names (``error.status``), Bedrock's exception types (the
# ``:exception-type`` of an eventstream message, the ``x-amzn-ErrorType`` header).
_BY_TYPE: dict[str, type[APIError]] = {
    "invalid_request_error": BadRequestError,
    "request_too_large": BadRequestError,
    "authentication_error": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "model_not_found": NotFoundError,
    "rate_limit_error": RateLimitError,
    "rate_limit_exceeded": RateLimitError,
    "insufficient_quota": RateLimitError,
    "tokens": RateLimitError,
    "api_error": InternalServerError,
    "server_error": InternalServerError,
    "timeout_error": InternalServerError,
    "overloaded_error": OverloadedError,
    # Google
    "invalid_argument": BadRequestError,
    "failed_precondition": BadRequestError,
    "unauthenticated": AuthenticationError,
    "permission_denied": PermissionDeniedError,
    "not_found": NotFoundError,
    "resource_exhausted": RateLimitError,
    "internal": InternalServerError,
    "unavailable": OverloadedError,
    "deadline_exceeded": InternalServerError,
    "gateway_timeout": InternalServerError,  # the Interactions API's in-band error code
    # Bedrock
    "validationexception": BadRequestError,
    "accessdeniedexception": PermissionDeniedError,
    "unrecognizedclientexception": AuthenticationError,
    "resourcenotfoundexception": NotFoundError,
    "throttlingexception": RateLimitError,
    "servicequotaexceededexception": RateLimitError,
    "internalserverexception": InternalServerError,
    "modelstreamerrorexception": InternalServerError,
    "modeltimeoutexception": InternalServerError,
    "modelnotreadyexception": InternalServerError,
    "serviceunavailableexception": OverloadedError,
}
# Codes that decide the class over the HTTP status: Google answers a bad key with 400 and
# reason API_KEY_INVALID; Azure a filtered prompt with 400 and code content_filter.
_BY_CODE_FIRST: dict[str, type[APIError]] = {
    "api_key_invalid": AuthenticationError,
    "content_filter": ContentFilterError,
    "responsibleaipolicyviolation": ContentFilterError,
}

_RETRYABLE = (ConflictError, RateLimitError, InternalServerError, OverloadedError)
# Errors of a retryable class that no retry can fix.
_NEVER_RETRY_TYPES = frozenset(
    {"insufficient_quota", "billing_hard_limit_reached", "servicequotaexceededexception"}
)


def error_class(
    status: int | None, error_type: str | None, code: str | None = None
) -> type[APIError]:
    """The error class: a known HTTP status decides; else the error type, else its code.

    The status wins because providers reuse broad types (OpenAI answers a bad key with
    401 and ``invalid_request_error``); in-band errors have no status, so their type decides.
    """
    if code and code.lower() in _BY_CODE_FIRST:
        return _BY_CODE_FIRST[code.lower()]
    if status is not None and status in _BY_STATUS:
        return _BY_STATUS[status]
    for key in (error_type, code):
        if key and key.lower() in _BY_TYPE:
            return _BY_TYPE[key.lower()]
    if status is not None and status >= 500:
        return InternalServerError
    return APIError


def error_event(
    error_type: str | None,
    message: str,
    code: Any = None,
    *,
    finish_reason: str | None = None,
) -> StreamEvent:
    """The ``error`` event an adapter emits before raising an in-band error: the message
    redacted (a key a server echoes never reaches the consumer or the partial response)."""
    error = {"type": error_type, "message": redact(message), "code": code}
    return StreamEvent(ERROR, error=error, finish_reason=finish_reason)


def api_error(
    provider: str,
    message: str,
    *,
    status: int | None = None,
    error_type: str | None = None,
    code: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
    in_band: bool = False,
) -> APIError:
    """Build the typed error for a provider failure, deciding whether a retry can help."""
    cls = error_class(status, error_type, code)
    retryable = issubclass(cls, _RETRYABLE) or status == 408
    if {(error_type or "").lower(), (code or "").lower()} & _NEVER_RETRY_TYPES:
        retryable = False
    where = f"HTTP {status}" if status is not None else "in-band error"
    label = error_type or code or "error"
    return cls(
        f"{provider} {where} ({label}): {message}",
        provider=provider,
        status_code=status,
        error_type=error_type,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
        retryable=retryable,
        in_band=in_band,
    )


# The C scanner behind json.loads, called directly: json.loads adds two regex matches
# and a wrapper per call, which is a measurable share of the per-event cost.
_scan_once = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
#: The same scanner for the adapters' hot paths, which inline :func:`load_json_object`
#: (its call costs about 800 instructions an event): ``value, end = scan_json(data, 0)``,
#: and the function itself only when that did not give one whole object.
scan_json: Callable[[str, int], tuple[Any, int]] = _scan_once


# -- the commonest events, read without parsing them -------------------------------------
#
# Parsing an event's JSON is most of what it costs (a Chat chunk of ~300 bytes: ~26,000
# instructions, for the five characters of text it carries). The adapters read their
# commonest events (text deltas, tool-argument fragments) by their shape instead: the text
# such events share, learned from one the full path parsed, with holes where the values
# that change from event to event go.

#: The C function the scanner reads strings with (strict: no control characters).
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_HOLE = re.compile(r'"\\u0000steer-hole-([0-9])\\u0000"')

#: The most shapes an adapter learns in one stream: one per text block or tool call is the
#: rule; a stream whose events keep changing between the holes (a timestamp per chunk)
#: stops learning there, and costs no more than a dumps per event for a while.
SHAPES_PER_STREAM = 16


def hole(number: int) -> str:
    """The marker of hole ``number`` in the event given to :func:`learn_shape`."""
    return f"\x00steer-hole-{number}\x00"


class EventShape:
    """The JSON text of one kind of event with holes where its varying values go (a text
    delta's text, a chunk's ``obfuscation``, an event's ``sequence_number``).

    Why reading an event by its shape is exact: the shape's text is ``json.dumps`` of an
    event the full path parsed, with markers in its holes, cut at the markers. A text that
    is those pieces with a string in each string hole and an integer in each integer hole,
    each read by the scanner the full path parses with (json's C ``scanstring``, strict,
    and ``scan_once``), is valid JSON and parses to that event with those values in its
    holes, whatever they are: JSON's grammar is context-free and a string or a number is
    one token. So an adapter whose handling of the event depends only on the text between
    the holes (which it checked on the event it learned the shape from) and on the values
    in the holes makes the events the full path makes. Anything else is no match and takes
    the full path: another key, another order, other whitespace (but spaces among the
    closing brackets at the end, which Anthropic pads its JSON with), an escape that
    json.dumps would not write in the text between the holes, a float for an integer.
    """

    __slots__ = ("head", "holes", "loose", "start", "tail")

    def __init__(self, head: str, holes: tuple[tuple[bool, str, int], ...], tail: str) -> None:
        #: The text before the first hole (with a string hole's opening quote).
        self.head = head
        self.start = len(head)
        #: Per hole: whether it holds a string (else an integer), the text after it up to
        #: the next hole ("" after the last one) and that text's length.
        self.holes = holes
        #: The text after the last hole (closing brackets, maybe more keys).
        self.tail = tail
        #: The tail is only closing brackets: spaces among them change nothing.
        self.loose = not tail.strip("}]")

    def match(self, data: str) -> list[Any] | None:
        """The values in the holes of ``data``, in order, or ``None``: not this shape."""
        if not data.startswith(self.head):
            return None
        at = self.start
        values = []
        try:
            for is_string, after, skip in self.holes:
                if is_string:  # from after its opening quote, through its closing one
                    value, at = _scanstring(data, at)
                else:
                    value, at = _scan_once(data, at)
                    if type(value) is not int:
                        return None
                values.append(value)
                if skip:
                    if not data.startswith(after, at):
                        return None
                    at += skip
        except (StopIteration, ValueError):  # not a string, not a number
            return None
        rest = data[at:]
        if rest == self.tail or (self.loose and rest.replace(" ", "") == self.tail):
            return values
        return None


def learn_shape(marked: dict[str, Any], kinds: str, data: str) -> EventShape | None:
    """The shape of the events like ``marked``, an event the full path parsed from ``data``
    with ``hole(i)`` in place of the value of its i-th hole (in the order of the text);
    ``kinds`` says what each hole holds, ``s`` a string, ``i`` an integer.

    ``None`` when this stream does not write its events as json.dumps does (``data`` has
    not the shape learned from it), or the holes are not in that order: the adapter then
    reads every event by the full path.
    """
    pieces = _HOLE.split(compact_json(marked))
    if pieces[1::2] != [str(i) for i in range(len(kinds))]:
        return None
    # The text between the holes, without the markers' quotes. A string hole's quotes
    # belong to its token: scanstring reads from after the opening one (so that one ends
    # the text before the hole) through the closing one.
    texts = pieces[::2]
    quoted = [
        text + ('"' if kind == "s" else "") for text, kind in zip(texts[:-1], kinds, strict=True)
    ]
    after = [*quoted[1:], ""]
    holes = tuple((kind == "s", text, len(text)) for kind, text in zip(kinds, after, strict=True))
    shape = EventShape(quoted[0], holes, texts[-1])
    return shape if shape.match(data) is not None else None


def load_json_object(data: str, provider: str, what: str) -> dict[str, Any]:
    """``json.loads`` an event's data, which must be a JSON object, or raise ProtocolError."""
    try:
        value, end = _scan_once(data, 0)
        if end != len(data) and not data[end:].isspace():
            raise ValueError("extra data")
    except (StopIteration, ValueError):
        try:  # leading whitespace is legal JSON; json.loads also words the error
            value = json.loads(data)
        except ValueError:
            snippet = data[:120] + ("..." if len(data) > 120 else "")
            raise ProtocolError(
                f"{provider}: {what} is not valid JSON: {snippet!r}", provider=provider
            ) from None
    if type(value) is not dict:
        raise ProtocolError(
            f"{provider}: {what} is JSON but not an object: {data[:120]!r}", provider=provider
        )
    return value


def string(value: object) -> str | None:
    """``value`` if it is a string, else ``None``: the wire is untrusted, events are typed."""
    return value if type(value) is str else None


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the text of its parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text_of(part) for part in content)
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return text
        return text_of(content.get("content"))
    return ""


def integer(value: object) -> int | None:
    """``value`` if it is an integer (not a bool), else ``None``."""
    return value if type(value) is int else None


def parse_arguments(raw: str) -> tuple[Any, str | None]:
    """Parse streamed tool arguments: empty means ``{}``; invalid JSON is reported, not raised."""
    if not raw or raw.isspace():
        return {}, None
    try:
        return json.loads(raw), None
    except ValueError as exc:
        return None, f"arguments are not valid JSON: {exc}"


class ToolCallBuilder:
    """Assembles one streamed tool call: its fragments, then one parse at the end."""

    __slots__ = ("done", "id", "index", "item_id", "name", "parts", "signature")

    def __init__(
        self,
        index: int,
        id: str | None,
        name: str | None,
        item_id: str | None = None,
        signature: str | None = None,
    ):
        self.index = index
        self.id = id
        self.name = name
        self.item_id = item_id
        self.signature = signature
        self.parts: list[str] = []
        self.done = False

    def start_event(self) -> StreamEvent:
        meta = {"item_id": self.item_id} if self.item_id else None
        return StreamEvent(
            TOOL_CALL_START, index=self.index, id=self.id, name=self.name, metadata=meta
        )

    def delta_event(self, fragment: str) -> StreamEvent:
        self.parts.append(fragment)
        return StreamEvent(TOOL_CALL_DELTA, fragment, self.index, self.id)

    def end_event(self, final_arguments: str | None = None) -> StreamEvent:
        """Close the call; ``final_arguments`` (when the provider repeats them whole) wins."""
        self.done = True
        raw = "".join(self.parts) if final_arguments is None else final_arguments
        arguments, error = parse_arguments(raw)
        call = ToolCall(
            id=self.id,
            name=self.name,
            arguments=arguments,
            arguments_raw=raw,
            index=self.index,
            item_id=self.item_id,
            parse_error=error,
            signature=self.signature,
        )
        return StreamEvent(
            TOOL_CALL_END, index=self.index, id=self.id, name=self.name, tool_call=call
        )


class StreamAdapter:
    """Base of the per-wire-format adapters (see the module docstring): the provider-specific
    normalization the user's guide calls the ``StreamAdapter``.

    Attributes:
        provider: the provider name this adapter reports.
        terminal_signal: what ends a complete stream, for error messages.
        done: the terminal signal arrived; later events are ignored.
        usage_expected: the request asked for usage in the stream, so a stream that ends
            without it is not complete (for formats where usage is opt-in: Chat
            Completions' ``stream_options.include_usage``).
    """

    provider: ClassVar[str] = ""
    terminal_signal: ClassVar[str] = ""

    #: The id of the response the provider keeps, for a format that can resume a stream
    #: (:class:`Resumption`); ``None`` until the stream names it.
    response_id: str | None = None
    #: Where the stream stands: the last event handled, by the format's cursor (OpenAI's
    #: integer ``sequence_number``, Gemini's opaque ``event_id`` string; ``None``: none yet).
    cursor: int | str | None = None
    #: The events up to this cursor are ones a consumer saw before (a stream picked up
    #: again in another process): they build the response but are not handed on; their
    #: events go to :attr:`hidden` instead of the caller's list (``None``: none was shown).
    shown: int | str | None = None
    hidden: list[StreamEvent] | None = None

    def __init__(self) -> None:
        self.done = False
        self.usage_expected = True
        #: Shapes this stream may still learn (:func:`learn_shape`); 0 once one failed.
        self._learning = SHAPES_PER_STREAM

    #: The shapes adapters of this class learned last, newest first, with their kinds: a
    #: stream whose events are written as an earlier stream's were (nothing in them but the
    #: holes changes between streams, as in Anthropic's text deltas) takes one of them
    #: instead of learning it again (a dumps and a regex split, on every stream).
    _known: ClassVar[tuple[tuple[str, EventShape], ...]] = ()

    def _learn(self, marked: dict[str, Any], kinds: str, data: str) -> EventShape | None:
        """:func:`learn_shape`, within this stream's budget: at most
        :data:`SHAPES_PER_STREAM` shapes, and none after a stream that does not write its
        events as json.dumps does (one failure ends the learning).

        A known shape that ``data`` matches, with the same kinds of holes, is the one
        :func:`learn_shape` would learn: ``data`` is that shape's text with other values in
        its holes, and which values are holes is decided by the keys and types around
        them, which the shape fixes."""
        self._learning -= 1
        known = type(self)._known
        for known_kinds, shape in known:
            if known_kinds == kinds and shape.match(data) is not None:
                return shape
        learned = learn_shape(marked, kinds, data)
        if learned is None:
            self._learning = 0
        else:
            type(self)._known = ((kinds, learned), *known[:3])
        return learned

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:  # pragma: no cover
        """Append the events one server-sent event makes to ``out``."""
        raise NotImplementedError

    def restarted(self) -> None:
        """The next events come from a new body that carries on this stream (a kept stream
        picked up again): a format whose cursor is opaque learns here where that body
        starts (see :class:`Resumption`)."""

    def unterminated(self, discarded: DiscardedInput, out: list[StreamEvent]) -> None:
        """The body ended inside an event, which the SSE rules discard (called before
        :meth:`finish`). A format whose terminal sentinel may arrive so reads it here."""

    def finish(self, out: list[StreamEvent]) -> None:
        """The body ended: append the last events, or raise if the stream is incomplete."""
        if not self.done:
            raise StreamInterruptedError(
                f"{self.provider}: the stream ended before {self.terminal_signal}; "
                "the reply is incomplete",
                provider=self.provider,
            )


@dataclass(frozen=True)
class Resumption:
    """How a wire format picks up a stream that the provider keeps (OpenAI's Responses and
    Gemini's Interactions in background mode): the generation goes on on the server, and its
    events can be streamed again after a cursor: OpenAI's integer ``sequence_number``,
    Gemini's opaque ``event_id`` string (the adapter's :attr:`StreamAdapter.cursor`).

    Attributes:
        kept: whether a request body asks for a kept stream (``background: true``).
        reconnect: the request that streams the kept response ``response_id`` again, from
            the event after the cursor ``after`` (``None``: from its start), made from the
            request that began it (its URL and credentials).
        cancel: the request that stops the kept response (a consumer that left early).
    """

    kept: Callable[[Mapping[str, Any]], bool]
    reconnect: Callable[[HTTPRequest, str, int | str | None], HTTPRequest]
    cancel: Callable[[HTTPRequest, str], HTTPRequest]


def in_background(body: Mapping[str, Any]) -> bool:
    """The request body asks for a kept stream: ``background: true``, not unstored (OpenAI's
    and Azure's Responses, Gemini's Interactions)."""
    return body.get("background") is True and body.get("store") is not False


def kept_request(
    request: HTTPRequest,
    response_id: str,
    method: str,
    tail: str,
    query: Mapping[str, object] | None = None,
) -> HTTPRequest:
    """A request about the kept response ``response_id``, made from the request that began
    it: its URL beside the request's endpoint (``.../responses/{id}{tail}``), the request's
    own query kept (Azure's ``api-version``) and ``query`` added (``None`` values left
    out), its headers without those of its body (the credentials kept), no body."""
    url, _, given = request.url.partition("?")
    params = [q for q in given.split("&") if q]
    params += [f"{k}={quote(str(v), safe='')}" for k, v in (query or {}).items() if v is not None]
    url = f"{url.rstrip('/')}/{quote(response_id, safe='')}{tail}"
    body = ("content-type", "content-length", "content-encoding")
    headers = {k: v for k, v in request.headers.items() if k.lower() not in body}
    return HTTPRequest(method, url + (f"?{'&'.join(params)}" if params else ""), headers, b"")


#: The name earlier releases used for :class:`StreamAdapter`.
ProviderAdapter = StreamAdapter


@dataclass(frozen=True)
class Provider:
    """One provider: how calls find it (routing, keys, base URLs) and what it charges.

    Attributes:
        name: the name for routing, ``api_keys`` and ``base_urls``.
        key_env: the environment variables its key may come from, in order.
        base_url_env: the environment variable of its base URL.
        default_base_url: the base URL when none is given: a URL, or a function of the
            environment (``None``: the provider needs one, see ``base_url_help``).
        base_url_help: what to set when no base URL can be found.
        model_prefixes: model names starting with these route here (``gpt-``).
        route_prefixes: the explicit ``<prefix>/<model>`` names that route here.
        api_prefixes: explicit ``<prefix>/<model>`` names that route here *and* pick one
            of its APIs, ``(prefix, api)``: ``gemini_interactions/`` for Gemini's
            Interactions API.
        key_optional: its servers often take no key.
        credential: the cloud credential chain tried when no key is given (``"google"``:
            google-auth's application default credentials, ``"azure"``: azure-identity,
            ``"aws"``: botocore's chain and a SigV4 signature); the front ends hold the
            chains (``steer_cloud``), the core only names them. ``None``: a key is required.
        price_id: its provider id in genai-prices (``None``: look the model up alone).
        api_for: which of its formats' APIs a model name uses (Bedrock: ``"invoke"`` for
            Anthropic models); ``None``: the one the call asks for (``openai_api``).
        chars_per_token: characters per output token, to estimate what it did not report.
        telemetry_name: its ``gen_ai.provider.name`` in OpenTelemetry (``None``: ``name``).
    """

    name: str
    key_env: tuple[str, ...]
    base_url_env: str
    default_base_url: str | Callable[[Mapping[str, str]], str | None] | None
    model_prefixes: tuple[str, ...] = ()
    route_prefixes: tuple[str, ...] = ()
    api_prefixes: tuple[tuple[str, str], ...] = ()
    base_url_help: str = ""
    key_optional: bool = False
    credential: str | None = None
    price_id: str | None = None
    api_for: Callable[[str], str] | None = None
    chars_per_token: float = 3.9
    telemetry_name: str | None = None

    @property
    def prefixes(self) -> tuple[str, ...]:
        """The explicit prefixes: its name, and the other names it answers to."""
        return (self.name, *self.route_prefixes, *(prefix for prefix, _ in self.api_prefixes))


@dataclass(frozen=True)
class WireFormat:
    """One wire format: everything the library knows of it, in one record.

    The registry (:data:`steer_common.providers.FORMATS`) holds one per format, each
    defined by its provider module; the parser, the request builder, the router and the
    docs' tables all read it, so adding a wire format is adding a module
    (docs/architecture/adding-a-provider.md).

    Attributes:
        name: its :class:`~steer_common.StreamParser` name.
        title: what it is, in words.
        provider: who speaks it: the name for routing, ``api_keys`` and ``base_urls``.
        api: which of the provider's APIs it is, for a provider with several (OpenAI's
            ``"chat"`` and ``"responses"``); ``"chat"`` otherwise.
        adapter: the events of its bytes; ``adapter.terminal_signal`` names what ends a
            complete stream, ``adapter.normalize_usage`` is its usage arithmetic.
        path: the endpoint, appended to the base URL (``{model}`` is the model name, quoted).
        build_body: the JSON body for a provider-neutral call.
        auth_headers: the headers that carry the key.
        auth: how the key travels, in words (the docs' tables).
        usage: its usage arithmetic, in words (the docs' tables).
        keepalive: what the provider sends to keep a silent stream open (``b""``: none).
        key_headers: the request headers that may carry the key.
        key_optional: the servers often take no key (local OpenAI-compatible servers).
        stream_flag: the body says ``"stream": true`` (the OpenAI and Anthropic APIs); a
            format that streams by its endpoint sends no such field.
        token_headers: the headers that carry a token from a callable (``api_keys=
            {provider: fn}``); ``None``: as a key (``auth_headers``). Azure's keys go in
            ``api-key``, its Entra ID tokens in ``Authorization: Bearer``.
        url: the request URL from the route, for a format whose URL is not the base URL
            plus ``path`` (Azure's deployment URLs); ``None``: base URL plus ``path``.
        framing: how events are framed: ``"sse"`` (server-sent events) or
            ``"eventstream"`` (AWS's binary messages, :mod:`steer_common.eventstream`).
        content_type: the content type of its streamed body.
        operation: its ``gen_ai.operation.name`` in OpenTelemetry (``"chat"``, Gemini's
            ``"generate_content"``).
        usage_asked: whether a request body asks for usage in the stream, where that is
            opt-in (``None``: the format always sends it).
        resumption: how a stream the provider keeps is picked up again after a cut
            (``None``: the provider keeps none; docs/errors.md, "Streams that survive").
        prefill: a trailing assistant message is continued (Anthropic's prefill), not
            answered: what continuation after a cut (``resume="continue"``) and a
            fallback after content need.
        parts: what a Chat Completions dialect takes of the content parts, for a route
            (:class:`~steer_common.providers.openai_chat.ChatParts`; Azure's depend on the
            API version the route targets); ``build_body`` refuses the rest. ``None``: the
            format converts or refuses parts in its own ``build_body``.
    """

    name: str
    title: str
    provider: str
    adapter: type[StreamAdapter]
    path: str
    build_body: Callable[[Any, Any], dict[str, Any]]
    auth_headers: Callable[[str], dict[str, str]]
    auth: str
    usage: str
    keepalive: bytes
    api: str = "chat"
    key_headers: tuple[str, ...] = ("authorization",)
    key_optional: bool = False
    stream_flag: bool = True
    token_headers: Callable[[str], dict[str, str]] | None = None
    url: Callable[[Any], str] | None = None
    framing: str = "sse"
    content_type: str = "text/event-stream"
    operation: str = "chat"
    usage_asked: Callable[[Mapping[str, Any]], bool] | None = None
    resumption: Resumption | None = None
    prefill: bool = False
    parts: Callable[[Any], Any] | None = None
