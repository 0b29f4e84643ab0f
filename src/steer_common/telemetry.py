"""OpenTelemetry spans and metrics for every call and agent run: the GenAI conventions.

Off until :func:`instrument` is called, and then one branch per call when a call turns it
off (``StreamingOptions(enable_telemetry=False)``): nothing here is imported, allocated or
looked up on a call's way unless it is on. ``opentelemetry-api`` is the only dependency
(the ``[otel]`` extra); the application brings the SDK and its exporters, as the
OpenTelemetry libraries' own instrumentations expect.

What is recorded follows the GenAI semantic conventions as the
``opentelemetry-semantic-conventions`` package 0.66b2 names them (schema 1.44.0; the GenAI
attributes now live in the semantic-conventions-genai repository under the same names):

- a ``CLIENT`` span per call, ``{gen_ai.operation.name} {gen_ai.request.model}`` (``chat
  gpt-4o-mini``, ``generate_content gemini-2.5-flash``), with the request's model,
  temperature and max tokens, ``server.address``/``server.port``, and, once it ends, the
  response's model, id and finish reason, the token usage (cache reads and writes, reasoning),
  the time to the first chunk, and ``error.type`` with an error status on a failure; each
  retry is a span event (``steer.retry``);
- an agent run is an ``invoke_agent {name}`` span; each step's call and each tool call
  (``execute_tool {name}``) is a child of it (:mod:`steer_common.agents.telemetry`, on the
  helpers here);
- the metrics ``gen_ai.client.operation.duration``, ``gen_ai.client.token.usage`` (by
  ``gen_ai.token.type``), ``gen_ai.client.operation.time_to_first_chunk`` and
  ``gen_ai.client.operation.time_per_output_chunk``, with the conventions' units and bucket
  advice, and the library's own ``steer.client.cost`` (USD).

Content (the messages, the reply, tool arguments and results) is recorded only with
``instrument(capture_content=True)``, as the conventions' opt-in attributes
(``gen_ai.input.messages``, ``gen_ai.output.messages``, ``gen_ai.tool.call.arguments``,
``gen_ai.tool.call.result``). No attribute holds a header, a URL path or query, or a key.

This module makes no I/O and starts nothing: spans and points go to the providers given
(or the global ones), whose processors and exporters are the application's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from steer_common._version import __version__
from steer_common.extras import install
from steer_common.providers import PROVIDERS, get_format

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.metrics import Histogram, MeterProvider
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from steer_common.models.response import Attempt, StreamResponse
    from steer_common.spec import CallSpec

__all__ = [
    "SCHEMA_URL",
    "SEMCONV_VERSION",
    "CallTrace",
    "Telemetry",
    "active",
    "instrument",
    "uninstrument",
]

#: The version of the semantic conventions followed (see the module docstring).
SEMCONV_VERSION = "1.44.0"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

# The conventions' bucket advice for each histogram.
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)  # fmt: skip
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)  # fmt: skip
_FIRST_CHUNK_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)  # fmt: skip
_PER_CHUNK_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
_COST_BUCKETS = (0.00001, 0.0001, 0.001, 0.01, 0.1, 1.0, 10.0)

_active: Telemetry | None = None


def instrument(
    *,
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    capture_content: bool = False,
    chunk_timing: bool = True,
) -> Telemetry:
    """Record a span and metrics for every call and agent run from now on (both clients).

    Args:
        tracer_provider, meter_provider: where spans and points go (the global providers
            when ``None``, as set by ``opentelemetry.trace.set_tracer_provider`` or the
            ``opentelemetry-instrument`` launcher).
        capture_content: also record the messages, the reply and the tool calls' arguments
            and results (the conventions' opt-in attributes). Off by default: content may
            be personal or secret, and large.
        chunk_timing: record ``gen_ai.client.operation.time_per_output_chunk``, a point for
            every read that brought output. The OpenTelemetry SDK spends about 20 µs on each
            point (it cleans and hashes the attributes every time): nothing beside a real
            stream's tens of milliseconds between chunks, but most of what telemetry costs
            a stream read from a buffer (``benchmarks/telemetry.py``). ``False`` leaves it out.

    Calling it again replaces the previous setup. Per call,
    ``StreamingOptions(enable_telemetry=False)`` leaves a call out.

    Raises:
        ImportError: ``opentelemetry-api`` is not installed (``pip install -e
            '.[otel]'`` from a checkout).
    """
    global _active
    try:
        from opentelemetry import metrics, trace  # noqa: PLC0415 - an optional extra
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise ImportError(
            f"steer_common.telemetry.instrument() needs opentelemetry-api: {install('otel')}"
        ) from exc
    tracer = trace.get_tracer(
        "steer_llm_sdk", __version__, tracer_provider=tracer_provider, schema_url=SCHEMA_URL
    )
    meter = metrics.get_meter(
        "steer_llm_sdk", __version__, meter_provider=meter_provider, schema_url=SCHEMA_URL
    )
    _active = Telemetry(tracer, meter, capture_content=capture_content, chunk_timing=chunk_timing)
    return _active


def uninstrument() -> None:
    """Stop recording (calls under way finish their spans)."""
    global _active
    _active = None


def active() -> Telemetry | None:
    """The setup of :func:`instrument`, or ``None`` when telemetry is off."""
    return _active


class Telemetry:
    """The tracer, the instruments and the content switch of one :func:`instrument`."""

    def __init__(
        self, tracer: Tracer, meter: Any, *, capture_content: bool, chunk_timing: bool = True
    ) -> None:
        from opentelemetry.trace import (  # noqa: PLC0415 - an optional extra
            SpanKind,
            Status,
            StatusCode,
            set_span_in_context,
        )

        self.tracer = tracer
        self.capture_content = capture_content
        self.chunk_timing = chunk_timing
        self.client_kind = SpanKind.CLIENT
        self.internal_kind = SpanKind.INTERNAL
        self._error = StatusCode.ERROR
        self._status = Status
        self.in_context = set_span_in_context

        def histogram(name: str, unit: str, text: str, buckets: Sequence[float]) -> Histogram:
            return meter.create_histogram(  # type: ignore[no-any-return]
                name, unit=unit, description=text, explicit_bucket_boundaries_advisory=buckets
            )

        self.duration = histogram(
            "gen_ai.client.operation.duration", "s", "GenAI operation duration.", _DURATION_BUCKETS
        )
        self.tokens = histogram(
            "gen_ai.client.token.usage",
            "{token}",
            "Number of input and output tokens used.",
            _TOKEN_BUCKETS,
        )
        self.first_chunk = histogram(
            "gen_ai.client.operation.time_to_first_chunk",
            "s",
            "Time to receive the first chunk, from when the request is issued.",
            _FIRST_CHUNK_BUCKETS,
        )
        self.per_chunk = histogram(
            "gen_ai.client.operation.time_per_output_chunk",
            "s",
            "Time between one output chunk and the next (one point per read that brought output).",
            _PER_CHUNK_BUCKETS,
        )
        self.cost = histogram(
            "steer.client.cost", "USD", "The cost of a call, from its usage.", _COST_BUCKETS
        )

    def fail(self, span: Span, error: BaseException | str, description: str = "") -> None:
        """Mark ``span`` failed: by ``error`` (its type as ``error.type``), or by an error
        type named as a string with its ``description``."""
        kind = error if isinstance(error, str) else type(error).__name__
        span.set_attribute("error.type", kind)
        span.set_status(self._status(self._error, description or str(error)))

    def content(self, value: Any) -> str:
        """An opt-in content attribute's value: JSON text."""
        return json.dumps(value, ensure_ascii=False, default=str)


def provider_name(provider: str) -> str:
    """The ``gen_ai.provider.name`` of a provider of the registry."""
    record = PROVIDERS[provider]
    return record.telemetry_name or record.name


def _provider_attributes(wire_format: str) -> tuple[str, str]:
    """``(gen_ai.operation.name, gen_ai.provider.name)`` of a wire format."""
    wire = get_format(wire_format)
    return wire.operation, provider_name(wire.provider)


def _server(url: str) -> dict[str, Any]:
    """``server.address`` and ``server.port`` of a URL (nothing of its path or query)."""
    parts = urlsplit(url)
    attributes: dict[str, Any] = {}
    if parts.hostname:
        attributes["server.address"] = parts.hostname
        try:
            port = parts.port
        except ValueError:  # pragma: no cover - the request was built from a valid URL
            port = None
        attributes["server.port"] = port or (443 if parts.scheme == "https" else 80)
    return attributes


class CallTrace:
    """The span and metrics of one call: the session calls :meth:`chunk`, :meth:`retry`
    and :meth:`finish` at those moments (only when telemetry is on for the call)."""

    __slots__ = ("_base", "_chunk", "_last", "_on", "_span", "_start")

    def __init__(
        self,
        on: Telemetry,
        *,
        wire_format: str,
        url: str,
        spec: CallSpec | None,
        model: str | None,
        start: float,
        parent: Context | None = None,
    ) -> None:
        self._on = on
        self._start = start
        self._last: float | None = None
        operation, provider = _provider_attributes(wire_format)
        requested = spec.model if spec is not None else model
        base: dict[str, Any] = {
            "gen_ai.operation.name": operation,
            "gen_ai.provider.name": provider,
            **_server(url),
        }
        if requested:
            base["gen_ai.request.model"] = requested
        self._base = base
        # A point per read: the fewest attributes (the SDK cleans and hashes each one on
        # every point), the conventions' required ones and the model.
        self._chunk: dict[str, Any] | None = None
        if on.chunk_timing:
            self._chunk = {k: v for k, v in base.items() if k.startswith("gen_ai.")}
        attributes = dict(base)
        if spec is not None:
            if spec.temperature is not None:
                attributes["gen_ai.request.temperature"] = spec.temperature
            if spec.max_tokens is not None:
                attributes["gen_ai.request.max_tokens"] = spec.max_tokens
            if spec.response_format is not None:
                attributes["gen_ai.output.type"] = "json"
            if on.capture_content:
                attributes["gen_ai.input.messages"] = on.content(input_messages(spec.messages))
        name = f"{operation} {requested}" if requested else operation
        self._span = on.tracer.start_span(
            name, context=parent, kind=on.client_kind, attributes=attributes
        )

    def chunk(self, now: float) -> None:
        """A read brought output at ``now`` (the session's clock)."""
        last, attributes = self._last, self._chunk
        if last is not None and attributes is not None:
            self._on.per_chunk.record(now - last, attributes)
        self._last = now

    def retry(self, attempt: Attempt, error: BaseException) -> None:
        """An attempt failed and the call goes on after ``attempt.wait`` seconds."""
        attributes: dict[str, Any] = {
            "steer.attempt": attempt.number,
            "error.type": type(error).__name__,
        }
        if attempt.status is not None:
            attributes["http.response.status_code"] = attempt.status
        if attempt.wait is not None:
            attributes["steer.retry.wait"] = attempt.wait
        self._span.add_event("steer.retry", attributes)

    def sequel(self, model: str, continued: bool, error: BaseException) -> None:
        """The call failed for good on one model and goes on with ``model``: afresh, or
        continuing the text shown (``continued``)."""
        name = "steer.continuation" if continued else "steer.fallback"
        self._span.add_event(
            name, {"gen_ai.request.model": model, "error.type": type(error).__name__}
        )

    def finish(
        self,
        now: float,
        response: StreamResponse | None,
        error: BaseException | None,
        *,
        attempts: int,
        first_token: float | None,
    ) -> None:
        """The call ended: with ``response``, or failed by ``error`` (its partial response,
        if any, as ``response``), or was closed by its consumer (neither)."""
        on, span = self._on, self._span
        metric = dict(self._base)
        span.set_attribute("steer.attempts", attempts)
        if response is not None:
            metric.update(_response_attributes(span, response))
            if on.capture_content:
                span.set_attribute("gen_ai.output.messages", on.content(_output(response)))
        if first_token is not None:
            span.set_attribute("gen_ai.response.time_to_first_chunk", first_token)
            on.first_chunk.record(first_token, metric)
        if error is not None:
            on.fail(span, error)
            metric["error.type"] = type(error).__name__
        elif response is None:
            span.set_attribute("steer.closed_early", True)
        on.duration.record(now - self._start, metric)
        usage = response.usage if response is not None else None
        if usage:
            for kind, key in (("input", "prompt_tokens"), ("output", "completion_tokens")):
                if usage.get(key) is not None:
                    on.tokens.record(usage[key], {**metric, "gen_ai.token.type": kind})
        if response is not None and response.cost_usd is not None:
            on.cost.record(response.cost_usd, metric)
        span.end()


def _response_attributes(span: Span, response: StreamResponse) -> dict[str, Any]:
    """Set the response's attributes on ``span``; the ones metrics carry too."""
    attributes: dict[str, Any] = {}
    if response.model:
        attributes["gen_ai.response.model"] = response.model
    extra: dict[str, Any] = {}
    if response.response_id:
        extra["gen_ai.response.id"] = response.response_id
    if response.finish_reason:
        extra["gen_ai.response.finish_reasons"] = [response.finish_reason]
    if response.service_tier:
        extra["openai.response.service_tier"] = response.service_tier
    if response.system_fingerprint:
        extra["openai.response.system_fingerprint"] = response.system_fingerprint
    if response.cost_usd is not None:
        extra["steer.cost"] = response.cost_usd
    usage = response.usage or {}
    for key, name in (
        ("prompt_tokens", "gen_ai.usage.input_tokens"),
        ("completion_tokens", "gen_ai.usage.output_tokens"),
        ("reasoning_tokens", "gen_ai.usage.reasoning.output_tokens"),
    ):
        if usage.get(key) is not None:
            extra[name] = usage[key]
    cache = usage.get("cache_info") or {}
    if cache.get("cached_tokens"):
        extra["gen_ai.usage.cache_read.input_tokens"] = cache["cached_tokens"]
    if cache.get("cache_creation_tokens"):
        extra["gen_ai.usage.cache_creation.input_tokens"] = cache["cache_creation_tokens"]
    span.set_attributes({**attributes, **extra})
    return attributes


def content_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as the conventions' parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for item in content if isinstance(content, list) else [content]:
        if isinstance(item, Mapping) and item.get("type") == "text":
            parts.append({"type": "text", "content": item.get("text", "")})
        elif isinstance(item, Mapping):
            parts.append({"type": str(item.get("type", "unknown"))})  # images, files: no bytes
        else:
            parts.append({"type": "text", "content": str(item)})
    return parts


def input_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for message in messages:
        role = message.get("role", "user")
        if role == "tool":
            parts: list[dict[str, Any]] = [
                {
                    "type": "tool_call_response",
                    "id": message.get("tool_call_id"),
                    "response": message.get("content"),
                }
            ]
        else:
            parts = content_parts(message.get("content"))
            for call in message.get("tool_calls") or ():
                function = call.get("function") or {}
                parts.append(
                    {
                        "type": "tool_call",
                        "id": call.get("id"),
                        "name": function.get("name"),
                        "arguments": function.get("arguments"),
                    }
                )
        out.append({"role": role, "parts": parts})
    return out


def _output(response: StreamResponse) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    if response.reasoning:
        parts.append({"type": "reasoning", "content": response.reasoning})
    if response.text:
        parts.append({"type": "text", "content": response.text})
    parts.extend(
        {"type": "tool_call", "id": c.id, "name": c.name, "arguments": c.arguments}
        for c in response.tool_calls
    )
    message: dict[str, Any] = {"role": "assistant", "parts": parts}
    if response.finish_reason:
        message["finish_reason"] = response.finish_reason
    return [message]
