"""AWS Bedrock: ``ConverseStream`` for every model, ``InvokeModelWithResponseStream`` for
Anthropic models (research/wire-formats-more.md section 3).

Both stream AWS event stream messages (:mod:`steer_common.eventstream`), which the parser
presents as events named by ``:event-type`` (``exception:<type>`` for an exception).

``ConverseStream`` (format ``bedrock``):

- ``messageStart``; ``contentBlockStart`` only for tool use (text and reasoning blocks
  open with their first ``contentBlockDelta``); deltas of ``text``, ``toolUse.input``
  (JSON fragments) and ``reasoningContent`` (``text``, ``signature``,
  ``redactedContent``); ``contentBlockStop``; ``messageStop {stopReason}``; then
  ``metadata {usage, metrics}``, which is the real end (one recording sends it first:
  the stream ends when both have come; the end of the body after ``messageStop`` alone
  is complete too, without usage). Every payload carries a ``"p"`` padding string,
  ignored.
- Usage: ``cacheReadInputTokens`` and ``cacheWriteInputTokens`` are outside
  ``inputTokens``; steer adds them into ``prompt_tokens``, as for Anthropic. Reasoning
  tokens are inside ``outputTokens`` and not broken out.
- Stop reasons: ``end_turn``/``stop_sequence`` -> ``stop``, ``tool_use`` ->
  ``tool_calls``, ``max_tokens`` -> ``length``, ``guardrail_intervened`` and
  ``content_filtered`` -> ``content_filter``.

``InvokeModelWithResponseStream`` for Anthropic models (format ``bedrock_anthropic``):
each ``chunk`` message's payload is ``{"bytes": <base64 of one Messages API event>}``,
fed to the Anthropic adapter; ``message_stop`` carries
``amazon-bedrock-invocationMetrics``, kept in ``provider_data``.

Exceptions (``throttlingException``, ``modelStreamErrorException``,
``validationException``, ``serviceUnavailableException``, ``internalServerException``)
are typed errors with the usual retry rules. Requests are signed with SigV4 by
``steer_cloud.aws`` (the ``[bedrock]`` extra: botocore's signer and credential chain),
or carry a Bedrock API key (``AWS_BEARER_TOKEN_BEDROCK``) as ``Authorization: Bearer``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from steer_common.errors import StreamInterruptedError
from steer_common.models.events import (
    REASONING_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    USAGE,
    StreamEvent,
)
from steer_common.parts import Part, read_part, refusal
from steer_common.providers import anthropic
from steer_common.providers.anthropic import AnthropicAdapter
from steer_common.providers.base import (
    Provider,
    StreamAdapter,
    ToolCallBuilder,
    WireFormat,
    api_error,
    error_event,
    integer,
    load_json_object,
    string,
    text_of,
)
from steer_common.spec import CallSpec, Route, ToolSpec
from steer_common.sse import ServerSentEvent
from steer_common.usage import as_int, make_usage

__all__ = [
    "ANTHROPIC_FORMAT",
    "FORMAT",
    "PROVIDER",
    "BedrockAnthropicAdapter",
    "BedrockConverseAdapter",
]

_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "guardrail_intervened": "content_filter",
    "content_filtered": "content_filter",
}
EXCEPTION = "exception:"
JSON_INSTRUCTION = "Respond with one JSON object and nothing else: no prose, no code fences."


def _raise_exception(provider: str, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
    """An ``exception`` message (or an ``error`` one): the typed error, after an ERROR
    event."""
    kind = sse.event.partition(":")[2] or None
    try:
        payload = json.loads(sse.data) if sse.data else {}
    except ValueError:
        payload = {"message": sse.data}
    if not isinstance(payload, dict):
        payload = {"message": str(payload)}
    message = str(payload.get("message") or payload.get("Message") or kind or "stream error")
    out.append(error_event(kind, message))
    raise api_error(
        provider,
        message,
        status=integer(payload.get("originalStatusCode")),
        error_type=kind,
        body=payload,
        in_band=True,
    )


class BedrockConverseAdapter(StreamAdapter):
    """``ConverseStream`` messages to StreamEvents (see the module docstring)."""

    provider: ClassVar[str] = "bedrock"
    terminal_signal: ClassVar[str] = "messageStop and metadata"

    def __init__(self) -> None:
        super().__init__()
        self._calls: dict[int, ToolCallBuilder] = {}
        self._started = False
        self._stop: str | None = None
        self._metadata = False
        self._metrics: dict[str, Any] | None = None

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        if self.done:
            return
        kind = sse.event
        if kind.startswith(("exception:", "error:")):
            _raise_exception(self.provider, sse, out)
        event = load_json_object(sse.data, self.provider, f"a {kind} event")
        if not self._started:  # messageStart, or whatever comes first (reframed streams)
            self._started = True
            out.append(StreamEvent(STREAM_START))
        if kind == "contentBlockDelta":
            self._delta(integer(event.get("contentBlockIndex")), event.get("delta") or {}, out)
        elif kind == "contentBlockStart":
            index = integer(event.get("contentBlockIndex"))
            tool = (event.get("start") or {}).get("toolUse")
            if index is not None and isinstance(tool, dict):
                call = ToolCallBuilder(
                    index, string(tool.get("toolUseId")), string(tool.get("name"))
                )
                self._calls[index] = call
                out.append(call.start_event())
        elif kind == "contentBlockStop":
            stopped = self._calls.get(integer(event.get("contentBlockIndex")))  # type: ignore[arg-type]
            if stopped is not None and not stopped.done:
                out.append(stopped.end_event())
        elif kind == "messageStop":
            self._stop = string(event.get("stopReason")) or "end_turn"
            if self._metadata:
                self._end(out)
        elif kind == "metadata":
            self._metadata = True
            usage = event.get("usage")
            if isinstance(usage, dict):
                out.append(StreamEvent(USAGE, usage=self.normalize_usage(usage)))
            if isinstance(event.get("metrics"), dict):
                self._metrics = event["metrics"]
            if self._stop is not None:
                self._end(out)

    def _delta(self, index: int | None, delta: dict[str, Any], out: list[StreamEvent]) -> None:
        text = delta.get("text")
        if type(text) is str:
            if text:
                out.append(StreamEvent(TEXT_DELTA, text, index))
            return
        tool = delta.get("toolUse")
        if isinstance(tool, dict):
            call = self._calls.get(index)  # type: ignore[arg-type]
            fragment = tool.get("input")
            if call is not None and fragment and type(fragment) is str and not call.done:
                out.append(call.delta_event(fragment))
            return
        reasoning = delta.get("reasoningContent")
        if isinstance(reasoning, dict):
            if type(reasoning.get("text")) is str and reasoning["text"]:
                out.append(StreamEvent(REASONING_DELTA, reasoning["text"], index))
            if reasoning.get("signature"):
                metadata = {"signature": reasoning["signature"]}
                out.append(StreamEvent(REASONING_DELTA, "", index, metadata=metadata))
            if reasoning.get("redactedContent"):
                block = {"type": "redacted_thinking", "data": reasoning["redactedContent"]}
                out.append(StreamEvent(REASONING_DELTA, "", index, metadata={"block": block}))

    def _end(self, out: list[StreamEvent]) -> None:
        out.extend(call.end_event() for call in self._calls.values() if not call.done)
        self.done = True
        native = self._stop
        metadata: dict[str, Any] = {"native_finish_reason": native}
        if self._metrics is not None:
            metadata["provider_data"] = {"metrics": self._metrics}
        out.append(
            StreamEvent(
                STREAM_END, finish_reason=_STOP.get(native or "", native), metadata=metadata
            )
        )

    def finish(self, out: list[StreamEvent]) -> None:
        if not self.done and self._stop is not None:
            # ConverseStream always ends with the metadata event: without it the usage is lost.
            raise StreamInterruptedError(
                f"{self.provider}: the stream ended after messageStop but before the metadata "
                "event: the reply is whole, its usage did not arrive",
                provider=self.provider,
            )
        super().finish(out)

    def normalize_usage(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Bedrock arithmetic: cache reads and writes are outside ``inputTokens``."""
        read = as_int(raw.get("cacheReadInputTokens"))
        written = as_int(raw.get("cacheWriteInputTokens"))
        return make_usage(
            as_int(raw.get("inputTokens")) + read + written,
            as_int(raw.get("outputTokens")),
            cached_tokens=read,
            cache_creation_tokens=written,
            raw=dict(raw),
        )


class BedrockAnthropicAdapter(AnthropicAdapter):
    """``InvokeModelWithResponseStream`` for Anthropic models: each ``chunk`` holds one
    Messages API event, base64 (see the module docstring)."""

    provider: ClassVar[str] = "bedrock"
    terminal_signal: ClassVar[str] = "message_stop (in a chunk)"

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        if self.done:
            return
        if sse.event.startswith(("exception:", "error:")):
            _raise_exception(self.provider, sse, out)
        if sse.event != "chunk":
            return
        payload = load_json_object(sse.data, self.provider, "a chunk")
        try:
            raw = base64.b64decode(payload["bytes"], validate=True)
        except (KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(f"a chunk whose bytes are not base64: {exc}") from None
        decoded = raw.decode("utf-8", "replace")  # U+FFFD for an invalid byte, as elsewhere
        event = load_json_object(decoded, self.provider, "a Messages API event")
        before = len(out)
        super().handle(ServerSentEvent(str(event.get("type") or ""), decoded), out)
        metrics = event.get("amazon-bedrock-invocationMetrics")
        if isinstance(metrics, dict) and self.done:
            for emitted in out[before:]:
                if emitted.type == STREAM_END and emitted.metadata is not None:
                    emitted.metadata["provider_data"] = {"invocation_metrics": metrics}


# -- request building ----------------------------------------------------------------------

CONVERSE_PATH = "/model/{model}/converse-stream"
INVOKE_PATH = "/model/{model}/invoke-with-response-stream"
CONTENT_TYPE = "application/vnd.amazon.eventstream"
BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31"


def auth_headers(api_key: str) -> dict[str, str]:
    """A Bedrock API key: ``Authorization: Bearer`` (none: SigV4 signs each attempt)."""
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def build_body(call: CallSpec, route: Route) -> dict[str, Any]:
    """The ``ConverseStream`` body: ``system`` blocks, ``messages`` of content blocks
    (``text``; ``reasoningContent`` from an agent step's thinking blocks, signature and
    all; ``toolUse`` from an assistant's ``tool_calls``; ``toolResult`` from ``tool``
    messages, consecutive ones sharing a user turn), ``inferenceConfig``,
    ``toolConfig``. JSON modes are an instruction (Converse has no JSON mode), then
    validated as for Anthropic."""
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in call.messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append({"text": text_of(content)})
        elif role == "tool":
            result: dict[str, Any] = {
                "toolUseId": message["tool_call_id"],
                "content": [{"text": text_of(content) or ""}],
            }
            if message.get("is_error"):
                result["status"] = "error"
            last = messages[-1] if messages else None
            if last and last["role"] == "user" and all("toolResult" in b for b in last["content"]):
                last["content"].append({"toolResult": result})
            else:
                messages.append({"role": "user", "content": [{"toolResult": result}]})
        else:
            blocks = _blocks(content)
            for tool_call in message.get("tool_calls") or ():
                function = tool_call.get("function") or {}
                arguments = function.get("arguments") or "{}"
                tool_use = {
                    "toolUseId": tool_call.get("id"),
                    "name": function.get("name"),
                    "input": json.loads(arguments) if isinstance(arguments, str) else arguments,
                }
                blocks.append({"toolUse": tool_use})
            messages.append(
                {"role": "assistant" if role == "assistant" else "user", "content": blocks}
            )
    body: dict[str, Any] = {"messages": messages}
    fmt = call.response_format
    if fmt is not None:
        instruction = JSON_INSTRUCTION
        if fmt.kind != "json_object":
            instruction += " It must match this JSON schema: " + json.dumps(fmt.schema)
        system.append({"text": instruction})
    if system:
        body["system"] = system
    config: dict[str, Any] = {}
    if call.max_tokens is not None:
        config["maxTokens"] = call.max_tokens
    if call.stop:
        config["stopSequences"] = call.stop
    if call.temperature is not None:
        config["temperature"] = call.temperature
    if config:
        body["inferenceConfig"] = config
    if call.tools:
        body["toolConfig"] = {"tools": [_tool(t) for t in call.tools]}
    return body


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or ():
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            blocks.append({"text": part.get("text") or ""})
        elif kind == "thinking":  # an agent step's reasoning goes back, signed, first
            text = {"text": part.get("thinking") or "", "signature": part.get("signature")}
            blocks.append({"reasoningContent": {"reasoningText": text}})
        elif kind == "redacted_thinking":
            blocks.append({"reasoningContent": {"redactedContent": part.get("data")}})
        elif isinstance(part, dict) and kind is None:
            blocks.append(part)  # a Converse-native block, as given
        else:
            blocks.append(_bytes_block(read_part(part)))
    return blocks


# The document formats Converse takes, by media type.
_DOCUMENTS = {
    "application/pdf": "pdf",
    "text/csv": "csv",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "text/html": "html",
    "text/plain": "txt",
    "text/markdown": "md",
}


def _bytes_block(part: Part) -> dict[str, Any]:
    """An image or a document given as bytes, as Converse takes it; anything else refused:
    Converse takes bytes only here (no URL, no audio, no file id)."""
    media = part.media_type or ""
    if part.data is not None and part.kind == "image" and media.startswith("image/"):
        fmt = media.split("/", 1)[1].replace("jpg", "jpeg")
        if fmt in ("png", "jpeg", "gif", "webp"):
            return {"image": {"format": fmt, "source": {"bytes": part.data}}}
    if part.data is not None and part.kind == "file" and media in _DOCUMENTS:
        name = (part.filename or "document").rsplit(".", 1)[0] or "document"
        document = {"format": _DOCUMENTS[media], "name": name, "source": {"bytes": part.data}}
        return {"document": document}
    raise refusal(
        part,
        "bedrock",
        "Converse takes images (png, jpeg, gif, webp) and documents (pdf, csv, doc, docx, "
        "xls, xlsx, html, txt, md) as bytes: a data: URL; a URL is never fetched",
    )


def _tool(tool: ToolSpec) -> dict[str, Any]:
    if tool.raw is not None and "toolSpec" in tool.raw:
        return tool.raw
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    if tool.description:
        spec["description"] = tool.description
    return {"toolSpec": spec}


def build_invoke_body(call: CallSpec, route: Route) -> dict[str, Any]:
    """The Messages API body as Bedrock takes it: no ``model`` (it is in the URL), no
    ``stream`` (the endpoint streams), and ``anthropic_version``."""
    body = anthropic.build_body(call, route)
    del body["model"]
    return {"anthropic_version": BEDROCK_ANTHROPIC_VERSION, **body}


def api_for(model: str) -> str:
    """Anthropic models use ``InvokeModelWithResponseStream`` (every Messages API feature:
    cache marks, thinking); every other model ``ConverseStream``."""
    return "invoke" if "anthropic." in model else "chat"


_COMMON: dict[str, Any] = {
    "provider": "bedrock",
    "auth_headers": auth_headers,
    "auth": "SigV4 (`Authorization: AWS4-HMAC-SHA256 ...`), or a Bedrock API key as `Authorization: Bearer`",
    "stream_flag": False,
    "framing": "eventstream",
    "content_type": CONTENT_TYPE,
}

FORMAT = WireFormat(
    name="bedrock",
    title="AWS Bedrock ConverseStream",
    adapter=BedrockConverseAdapter,
    path=CONVERSE_PATH,
    build_body=build_body,
    usage="cache reads and writes are outside `inputTokens`: added in",
    keepalive=b"",  # Bedrock sends none
    **_COMMON,
)

ANTHROPIC_FORMAT = WireFormat(
    name="bedrock_anthropic",
    title="AWS Bedrock InvokeModelWithResponseStream (Anthropic models)",
    api="invoke",
    adapter=BedrockAnthropicAdapter,
    path=INVOKE_PATH,
    build_body=build_invoke_body,
    usage="as Anthropic's",
    keepalive=b"",  # Bedrock sends none
    prefill=True,
    **_COMMON,
)


def _base_url(environ: Mapping[str, str]) -> str | None:
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    return f"https://bedrock-runtime.{region}.amazonaws.com" if region else None


PROVIDER = Provider(
    name="bedrock",
    key_env=("AWS_BEARER_TOKEN_BEDROCK",),
    base_url_env="AWS_ENDPOINT_URL_BEDROCK_RUNTIME",  # botocore's own variable
    default_base_url=_base_url,
    base_url_help="set AWS_REGION (or AWS_DEFAULT_REGION), or pass "
    "base_urls={'bedrock': 'https://bedrock-runtime.<region>.amazonaws.com'}",
    credential="aws",
    price_id="aws",
    api_for=api_for,
    chars_per_token=3.93,  # 3 replies (Nova, Claude), 464 characters / 118 tokens
    telemetry_name="aws.bedrock",
)
