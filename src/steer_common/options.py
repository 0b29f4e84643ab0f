"""``StreamingOptions``: every knob of a stream, with the three presets.

Each field is documented with its default and effect in docs/streaming-options.md. The
options are immutable (a preset is shared by everyone who uses it): derive a variant
with :meth:`StreamingOptions.replace`::

    options = LOW_LATENCY_OPTIONS.replace(read_timeout=30.0, on_delta=print)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from steer_common.errors import ConfigurationError
from steer_common.names import did_you_mean
from steer_common.sse import DEFAULT_MAX_EVENT_SIZE

__all__ = [
    "DEFAULT_OPTIONS",
    "HIGH_THROUGHPUT_OPTIONS",
    "JSON_MODE_OPTIONS",
    "LOW_LATENCY_OPTIONS",
    "Callback",
    "StreamingOptions",
    "coerce_options",
]

#: A callback: a plain function or a coroutine function (both clients accept both).
Callback = Callable[..., Any]


class StreamingOptions(BaseModel):
    """How one stream behaves: usage, JSON, timeouts, retries, buffering and callbacks.

    Timeouts are in seconds; ``None`` means no limit.

    Raises:
        ConfigurationError: a value of the wrong type or out of range, or a field that
            does not exist (also a ``ValueError``); the message names each field.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", arbitrary_types_allowed=True, use_attribute_docstrings=True
    )

    # Usage and JSON.
    enable_usage_aggregation: bool = True
    """Fill in ``usage`` on every stream, estimating what the provider did not report."""
    aggregator_type: Literal["auto", "tiktoken", "character"] = "auto"
    """How to estimate tokens: ``auto`` (reported, else tiktoken, else characters)."""
    enable_json_stream_handler: bool = False
    """Track the reply as JSON while it streams (partial values, ``get_json()``)."""
    validate_json_incrementally: bool = False
    """Fail at the first character that makes the reply invalid JSON, mid-stream."""
    partial_interval: float | None = Field(default=None, ge=0)
    """At most one ``json_partial``/``partial_output`` per this many seconds (the complete
    value always comes): a UI re-renders at most that often. A throttle, not a timer: an
    update held back goes out with the next read past the interval."""
    partial_chars: int | None = Field(default=None, gt=0)
    """A ``json_partial``/``partial_output`` only once this many characters of the reply
    arrived since the last one (the complete value always comes)."""

    # Time.
    connection_timeout: float | None = Field(default=30.0, gt=0)
    """Seconds to connect and receive the response head."""
    read_timeout: float | None = Field(default=600.0, gt=0)
    """Longest silence between meaningful events (keep-alives and pings do not count).
    Generous by default: reasoning models can think for minutes before the first token."""
    total_timeout: float | None = Field(default=None, gt=0)
    """Bound on the whole call, every retry included."""

    # Retries.
    retry_on_connection_error: bool = True
    """Retry connection failures and retryable statuses while nothing was handed on."""
    max_reconnect_attempts: int = Field(default=3, ge=0)
    """Retries after the first attempt."""
    reconnect_delay: float = Field(default=1.0, ge=0)
    """Base of the exponential backoff (with jitter) between attempts, in seconds."""
    preserve_partial_response: bool = True
    """Put what arrived before a failure on the error as ``partial_response``."""
    resume: Literal["auto", "continue", "off"] = "auto"
    """A stream cut after content: ``"auto"`` picks it up where it broke when the provider
    keeps it (OpenAI and Azure Responses, Gemini's Interactions API, with
    ``background=True``), each event handed on once, and raises elsewhere; ``"continue"`` also asks again, where the format can
    continue an assistant turn, for what follows the text so far (a new generation, billed
    again); ``"off"`` never resumes (docs/errors.md, "Streams that survive")."""
    fallback_on: tuple[str, ...] = ()
    """Error class names (``"BadRequestError"``, ``"ContentFilterError"``) that also move a
    call on to its ``fallbacks=``; by default only the failures another provider may not
    share do (docs/errors.md, "Streams that survive")."""
    keep_background: bool = False
    """Leaving a kept stream early (``break``, ``close()``, a cancelled task) leaves it
    running on the provider, to be picked up later; by default it is cancelled, which
    stops the generation and its billing."""

    # Buffering.
    chunk_size: int = Field(default=16384, gt=0)
    """Most bytes asked of one read; a read returns as soon as any bytes arrive."""
    buffer_size: int = Field(default=0, ge=0)
    """Most characters of text coalesced into one delta (0: every delta at once)."""
    max_event_size: int = Field(default=DEFAULT_MAX_EVENT_SIZE, gt=0)
    """Hard cap on the bytes of one server-sent event; past it, a ProtocolError."""
    enable_compression: bool = True
    """Accept gzip/deflate bodies (decoded incrementally), or ask for ``identity``."""

    # Runaway output.
    max_output_chars: int | None = Field(default=None, gt=0)
    """Cap on the characters of output (text, reasoning, refusal and tool-call arguments
    together); past it, a RunawayOutputError."""
    max_repetitions: int | None = Field(default=50, gt=1)
    """The most times the reply may repeat one unit (up to 1,024 characters) back to back,
    over at least 4,096 characters, before it is stopped as a loop with a
    RunawayOutputError (``None``: no check)."""

    # Observability.
    enable_telemetry: bool = True
    """Record this call's OpenTelemetry span and metrics, once
    ``steer_common.telemetry.instrument()`` has turned telemetry on (``False``: leave it out)."""

    # Callbacks: plain functions or coroutine functions.
    on_start: Callback | None = None
    on_delta: Callback | None = None
    on_usage: Callback | None = None
    on_complete: Callback | None = None
    on_error: Callback | None = None

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigurationError(_explain(exc)) from None

    def replace(self, **changes: Any) -> StreamingOptions:
        """A copy with ``changes`` applied and validated."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update(changes)
        return type(self)(**values)


def coerce_options(
    options: StreamingOptions | Mapping[str, Any] | None,
) -> StreamingOptions | None:
    """``streaming_options=`` as a call may give it: :class:`StreamingOptions`, a mapping
    of its fields (``{"read_timeout": 30}``), or ``None``.

    The guide's ``{"streaming": True}`` is accepted: every call streams. ``False`` cannot
    be honoured, so it is refused rather than ignored.

    Raises:
        ConfigurationError: not options or a mapping, or a field that is wrong.
    """
    if options is None or isinstance(options, StreamingOptions):
        return options
    if not isinstance(options, Mapping):
        raise ConfigurationError(
            "streaming_options must be StreamingOptions or a dict of its fields, "
            f"not {type(options).__name__}"
        )
    fields = dict(options)
    if "streaming" in fields and fields.pop("streaming") is not True:
        raise ConfigurationError(
            "streaming cannot be turned off: every call streams (use run() or "
            "stream_with_usage() for the whole reply at once)"
        )
    return StreamingOptions(**fields)


def _explain(exc: ValidationError) -> str:
    """One line per wrong field: its name, what was wrong, and the value given."""
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "options"
        if error["type"] == "extra_forbidden":
            hint = did_you_mean(field, StreamingOptions.model_fields)
            known = ", ".join(StreamingOptions.model_fields)
            lines.append(f"{field}: no such option{hint} (the options are: {known})")
        else:
            lines.append(f"{field}: {error['msg']} (got {error['input']!r})")
    return "invalid StreamingOptions: " + "; ".join(lines)


#: The defaults.
DEFAULT_OPTIONS = StreamingOptions()

#: JSON mode: the reply is tracked as JSON and fails fast at the first invalid character.
JSON_MODE_OPTIONS = StreamingOptions(
    enable_json_stream_handler=True,
    validate_json_incrementally=True,
)

#: Many tokens, few wake-ups: large reads, deltas coalesced (up to 4 KB of text) so
#: callbacks and consumers run less often. No delta waits for more bytes to arrive.
HIGH_THROUGHPUT_OPTIONS = StreamingOptions(
    chunk_size=65536,
    buffer_size=4096,
)

#: Each event to the consumer as early as possible: 4 KB reads (a burst's first events are
#: handed on before the rest is parsed; smaller reads cost more per event than they save:
#: benchmarks/presets.py), every delta handed on alone, a short connect timeout.
LOW_LATENCY_OPTIONS = StreamingOptions(
    chunk_size=4096,
    buffer_size=0,
    connection_timeout=10.0,
)
