"""Anthropic Messages streaming (``POST /v1/messages`` with ``"stream": true``).

Wire format (research/wire-formats.md section 4): named events whose JSON repeats the
name in ``type``, often padded with spaces before the closing brace (parse, never match
strings). ``message_start`` -> per content block ``content_block_start`` /
``content_block_delta``* / ``content_block_stop`` -> ``message_delta`` -> ``message_stop``;
``ping`` anywhere.

- Blocks are keyed by ``index``. ``text`` blocks stream ``text_delta``; ``thinking``
  blocks stream ``thinking_delta`` and then one ``signature_delta``, which must be kept to
  send the block back; ``redacted_thinking`` blocks carry opaque ``data`` and no deltas
  (kept verbatim); ``tool_use`` blocks carry ``id`` and ``name`` and stream their input as
  ``input_json_delta.partial_json`` (an empty total means ``{}``,
  ``anthropic/tool-use-empty-input``). Server tools (``server_tool_use``, ``*_tool_result``)
  and other block or delta types are skipped.
- Usage: ``message_start.message.usage`` first, then every field present in the
  cumulative ``message_delta.usage`` overwrites it (it can change input and cache counts
  too: ``anthropic/prompt-caching-server-tools``). ``input_tokens`` excludes cache reads
  and writes. With context compaction the top-level numbers count only the last
  iteration, so the billed totals are summed over ``usage.iterations``
  (``anthropic/prompt-cache-read-compaction``).
- ``event: error`` (``overloaded_error`` after HTTP 200, then the connection closes) is an
  in-band error. ``message_stop`` is the terminal signal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from steer_common.models.events import (
    PING,
    REASONING_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    USAGE,
    StreamEvent,
    new_event,
)
from steer_common.parts import read_part, refusal
from steer_common.providers.base import (
    EventShape,
    Provider,
    StreamAdapter,
    ToolCallBuilder,
    WireFormat,
    api_error,
    error_event,
    hole,
    integer,
    load_json_object,
    scan_json,
    string,
)
from steer_common.spec import CallSpec, Route, ToolSpec
from steer_common.sse import ServerSentEvent
from steer_common.usage import as_int, make_usage

__all__ = ["FORMAT", "PATH", "PROVIDER", "AnthropicAdapter", "auth_headers", "build_body"]

_STOP = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "pause",
}


class AnthropicAdapter(StreamAdapter):
    """Messages API events to StreamEvents (see the module docstring)."""

    provider: ClassVar[str] = "anthropic"
    terminal_signal: ClassVar[str] = "message_stop"

    def __init__(self) -> None:
        super().__init__()
        self._calls: dict[int, ToolCallBuilder] = {}
        self._usage: dict[str, Any] = {}
        self._stop: str | None = None
        self._model: str | None = None  # message_start's: the model of own iterations
        # The shape of this stream's text deltas in the current block (EventShape): for
        # ``{"type":"content_block_delta","index":0,"delta":{"type":"text_delta",
        # "text":<string>}}``, the text is the hole and the index (_text_index) is fixed.
        self._text_shape: EventShape | None = None
        self._text_index = 0

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        data = sse.data
        if self.done or not data:
            return
        shape = self._text_shape
        if shape is not None:
            values = shape.match(data)
            if values is not None:  # a text delta, read without parsing it
                text = values[0]
                if text:  # StreamEvent(TEXT_DELTA, text, index), inline
                    item = new_event(StreamEvent)
                    item.type = TEXT_DELTA
                    item.delta = text
                    item.index = self._text_index
                    item.id = item.name = item.model = item.usage = item.finish_reason = None
                    item.error = item.tool_call = item.metadata = None
                    out.append(item)
                return
        try:  # load_json_object inline (see scan_json)
            event, end = scan_json(data, 0)
        except (StopIteration, ValueError):
            end = -1
        if end != len(data) or type(event) is not dict:
            event = load_json_object(data, self.provider, "an event")
        kind = event.get("type") or sse.event
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta":  # the hot path, inline
                text = delta.get("text")
                if text and type(text) is str:
                    index = event.get("index")
                    item = new_event(StreamEvent)  # StreamEvent(TEXT_DELTA, text, index), inline
                    item.type = TEXT_DELTA
                    item.delta = text
                    item.index = index if type(index) is int else None
                    item.id = item.name = item.model = item.usage = item.finish_reason = None
                    item.error = item.tool_call = item.metadata = None
                    out.append(item)
                    if self._learning and item.index is not None:
                        self._learn_text(event, delta, data)
            else:
                self._delta(event, delta, out)
        elif kind == "ping":
            out.append(StreamEvent(PING))
        elif kind == "content_block_start":
            self._block_start(event, out)
        elif kind == "content_block_stop":
            call = self._calls.get(event.get("index"))
            if call is not None and not call.done:
                out.append(call.end_event())
        elif kind == "message_start":
            message = event.get("message") or {}
            self._model = string(message.get("model"))
            usage = message.get("usage")
            tier = usage.get("service_tier") if isinstance(usage, dict) else None
            out.append(
                StreamEvent(
                    STREAM_START,
                    id=string(message.get("id")),
                    model=self._model,
                    metadata={"service_tier": tier} if type(tier) is str else None,
                )
            )
            if isinstance(usage, dict):
                self._usage = dict(usage)
                out.append(StreamEvent(USAGE, usage=self.normalize_usage(self._usage)))
        elif kind == "message_delta":
            stop = string((event.get("delta") or {}).get("stop_reason"))
            if stop:
                self._stop = stop
            usage = event.get("usage")
            if isinstance(usage, dict):
                self._usage.update((k, v) for k, v in usage.items() if v is not None)
                out.append(StreamEvent(USAGE, usage=self.normalize_usage(self._usage)))
        elif kind == "message_stop":
            out.extend(call.end_event() for call in self._calls.values() if not call.done)
            self.done = True
            native = self._stop
            out.append(
                StreamEvent(
                    STREAM_END,
                    finish_reason=_STOP.get(native, native) if native else None,
                    metadata={"native_finish_reason": native},
                )
            )
        elif kind == "error":
            error = event.get("error")
            if not isinstance(error, dict):
                error = event
            message = str(error.get("message") or "stream error")
            error_type = string(error.get("type")) if error is not event else None
            out.append(
                error_event(
                    error_type, message, finish_reason=_STOP.get(self._stop or "", self._stop)
                )
            )
            raise api_error(
                self.provider,
                message,
                error_type=error_type,
                request_id=string(event.get("request_id")),
                body=event,
                in_band=True,
            )

    def _learn_text(self, event: dict[str, Any], delta: dict[str, Any], data: str) -> None:
        """Learn the shape of the text deltas like ``event``: the handling above reads only
        its ``type`` and ``delta.type`` (in the text around the hole: a ``type`` it has,
        not the event's name) and its ``index`` (an int) and ``delta.text`` (the hole)."""
        if event.get("type") != "content_block_delta":
            return
        self._text_index = event["index"]
        self._text_shape = self._learn({**event, "delta": {**delta, "text": hole(0)}}, "s", data)

    def _delta(self, event: dict[str, Any], delta: dict[str, Any], out: list[StreamEvent]) -> None:
        kind = delta.get("type")
        index = integer(event.get("index"))
        if kind == "input_json_delta":
            call = self._calls.get(index)  # type: ignore[arg-type]
            fragment = delta.get("partial_json")
            if call is not None and fragment and type(fragment) is str and not call.done:
                out.append(call.delta_event(fragment))
        elif kind == "thinking_delta":
            thinking = delta.get("thinking")
            if thinking and type(thinking) is str:
                out.append(StreamEvent(REASONING_DELTA, thinking, index))
        elif kind == "signature_delta":
            out.append(
                StreamEvent(
                    REASONING_DELTA, "", index, metadata={"signature": delta.get("signature")}
                )
            )

    def _block_start(self, event: dict[str, Any], out: list[StreamEvent]) -> None:
        block = event.get("content_block") or {}
        kind = block.get("type")
        index = integer(event.get("index"))
        if index is None:
            return
        if kind == "text":
            text = string(block.get("text"))
            if text:
                out.append(StreamEvent(TEXT_DELTA, text, index))
        elif kind == "tool_use":
            call = ToolCallBuilder(index, string(block.get("id")), string(block.get("name")))
            self._calls[index] = call
            out.append(call.start_event())
            initial = block.get("input")
            if initial:  # some proxies send the whole input here instead of as deltas
                out.append(call.delta_event(json.dumps(initial)))
        elif kind == "thinking":
            thinking = string(block.get("thinking"))
            if thinking:
                out.append(StreamEvent(REASONING_DELTA, thinking, index))
        elif kind == "redacted_thinking":
            out.append(StreamEvent(REASONING_DELTA, "", index, metadata={"block": dict(block)}))

    def normalize_usage(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Anthropic arithmetic: cache reads and writes are outside ``input_tokens``.

        With ``usage.iterations`` the top-level numbers cover the last iteration only, so
        the iterations are summed (compaction bills every one). An iteration can run on
        another model (an ``advisor_message`` names its advisor's ``model``; a
        ``fallback_message``, in place of a ``message``, is the hop of a server-side
        fallback that served the response, on the fallback model): the response's own
        counts are every iteration but the advisors' sub-inferences, and
        ``usage["by_model"]`` reports each model's tokens (advisors' included), so that
        each is priced at its own model's rates.
        """
        iterations = raw.get("iterations")
        if not (
            isinstance(iterations, list)
            and iterations
            and all(isinstance(i, dict) for i in iterations)
        ):
            return _usage_of(raw, raw)
        by_model: dict[str, list[dict[str, Any]]] = {}
        own = []
        for iteration in iterations:
            kind = iteration.get("type")
            model = iteration.get("model") if kind in _OTHER_MODEL else None
            by_model.setdefault(string(model) or self._model or "", []).append(iteration)
            if kind != "advisor_message":
                own.append(iteration)
        usage = _usage_of(_summed(own), raw)
        if set(by_model) != {self._model or ""}:  # some iteration ran on another model
            usage["by_model"] = {
                model: _usage_of(_summed(group), None) for model, group in by_model.items()
            }
            for counts in usage["by_model"].values():
                del counts["raw"]
        return usage


#: Iteration types that run on a model of their own (``model`` names it).
_OTHER_MODEL = ("advisor_message", "fallback_message")
_COUNTS = (
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)


def _summed(iterations: list[dict[str, Any]]) -> dict[str, int]:
    return {key: sum(as_int(i.get(key)) for i in iterations) for key in _COUNTS}


def _usage_of(counted: Mapping[str, Any], raw: dict[str, Any] | None) -> dict[str, Any]:
    cache_read = as_int(counted.get("cache_read_input_tokens"))
    cache_write = as_int(counted.get("cache_creation_input_tokens"))
    details = raw.get("output_tokens_details") if raw is not None else None
    thinking = details.get("thinking_tokens") if isinstance(details, dict) else None
    return make_usage(
        as_int(counted.get("input_tokens")) + cache_read + cache_write,
        as_int(counted.get("output_tokens")),
        cached_tokens=cache_read,
        cache_creation_tokens=cache_write,
        reasoning_tokens=as_int(thinking) if thinking is not None else None,
        raw=dict(raw) if raw is not None else None,
    )


# -- request building ----------------------------------------------------------------------

PATH = "/v1/messages"
#: The ``anthropic-version`` header sent with every request.
ANTHROPIC_VERSION = "2023-06-01"
#: ``max_tokens`` when the caller gives none (the Messages API requires one).
DEFAULT_MAX_TOKENS = 4096
#: Added to ``system`` for ``response_format={"type": "json_object"}``, which the Messages
#: API has no switch for (a JSON schema uses the native ``output_config.format``).
JSON_OBJECT_INSTRUCTION = "Respond with one JSON object and nothing else: no prose, no code fences."


def auth_headers(api_key: str) -> dict[str, str]:
    """``x-api-key`` and ``anthropic-version``."""
    return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}


def build_body(call: CallSpec, route: Route) -> dict[str, Any]:
    """The Messages body.

    ``system`` (and ``developer``) messages become the top-level ``system`` blocks;
    ``cache_control`` on a message goes on its last block, on a part stays on the part;
    ``tool`` messages become ``tool_result`` blocks of a user turn (consecutive ones
    share it); an assistant's OpenAI-style ``tool_calls`` become ``tool_use`` blocks;
    ``image_url`` parts become ``image`` blocks. Anthropic-native blocks pass unchanged.
    """
    system: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    for message in call.messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_blocks(message))
        elif role == "tool":
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message["tool_call_id"],
                "content": message.get("content") or "",
            }
            if message.get("is_error"):
                result["is_error"] = True
            if message.get("cache_control"):
                result["cache_control"] = message["cache_control"]
            last = messages[-1] if messages else None
            if (
                last is not None
                and last["role"] == "user"
                and isinstance(last["content"], list)
                and all(b.get("type") == "tool_result" for b in last["content"])
            ):
                last["content"].append(result)
            else:
                messages.append({"role": "user", "content": [result]})
        elif role == "assistant":
            blocks = _blocks(message)
            for tool_call in message.get("tool_calls") or ():
                function = tool_call.get("function") or {}
                arguments = function.get("arguments") or "{}"
                blocks.append(
                    {
                        "type": "tool_use",
                        "id": tool_call.get("id"),
                        "name": function.get("name"),
                        "input": json.loads(arguments) if isinstance(arguments, str) else arguments,
                    }
                )
            messages.append({"role": "assistant", "content": _compact(message, blocks)})
        else:
            messages.append({"role": role, "content": _compact(message, _blocks(message))})
    body: dict[str, Any] = {
        "model": route.model,
        "max_tokens": call.max_tokens or DEFAULT_MAX_TOKENS,
        "messages": messages,
    }
    if call.stop:
        body["stop_sequences"] = call.stop
    fmt = call.response_format
    if fmt is not None and fmt.kind == "json_object":
        system.append({"type": "text", "text": JSON_OBJECT_INSTRUCTION})
    elif fmt is not None:
        body["output_config"] = {"format": {"type": "json_schema", "schema": fmt.schema}}
    if system:
        body["system"] = system
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.tools:
        body["tools"] = [_tool(t) for t in call.tools]
    return body


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if content is None or content == "":
        blocks: list[dict[str, Any]] = []
    elif isinstance(content, str):
        blocks = [{"type": "text", "text": content}]
    else:
        blocks = [_part(p) for p in content]
    cache_control = message.get("cache_control")
    if cache_control and blocks:
        blocks[-1] = {**blocks[-1], "cache_control": cache_control}
    return blocks


def _compact(message: dict[str, Any], blocks: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """A plain string stays a string when nothing else rides on it."""
    content = message.get("content")
    if isinstance(content, str) and len(blocks) == 1 and "cache_control" not in blocks[0]:
        return content
    return blocks


def _part(part: Any) -> dict[str, Any]:
    if isinstance(part, str):
        return {"type": "text", "text": part}
    if not isinstance(part, dict):
        return {"type": "text", "text": str(part)}
    if part.get("type") not in _NEUTRAL:
        return part  # an Anthropic block (text, image, document, tool_result...), as given
    neutral = read_part(part)
    if neutral.data is not None and neutral.media_type is None:
        raise refusal(neutral, "anthropic", "give its media type: a data: URL, or a filename")
    if neutral.data is not None:
        source = {"type": "base64", "media_type": neutral.media_type, "data": neutral.data}
    elif neutral.url is not None:
        source = {"type": "url", "url": neutral.url}
    else:
        raise refusal(neutral, "anthropic", "give the bytes (a data: URL) or a URL")
    if neutral.kind == "image":
        block: dict[str, Any] = {"type": "image", "source": source}
    elif neutral.kind == "file" and (neutral.media_type or "application/pdf") == "application/pdf":
        block = {"type": "document", "source": source}
    else:
        raise refusal(neutral, "anthropic", "it takes images and PDF documents")
    if part.get("cache_control"):
        block["cache_control"] = part["cache_control"]
    return block


# The part shapes of other SDKs that are converted to Anthropic blocks (or refused).
_NEUTRAL = frozenset({"image_url", "input_image", "input_audio", "file", "input_file"})


def _tool(tool: ToolSpec) -> dict[str, Any]:
    if tool.raw is not None:
        return tool.raw
    out: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        out["description"] = tool.description
    if tool.cache_control:
        out["cache_control"] = tool.cache_control
    return out


FORMAT = WireFormat(
    name="anthropic",
    title="Anthropic Messages",
    provider="anthropic",
    adapter=AnthropicAdapter,
    path=PATH,
    build_body=build_body,
    auth_headers=auth_headers,
    auth="`x-api-key` + `anthropic-version: 2023-06-01`",
    usage="`input_tokens` leaves cache reads and writes out: added in",
    key_headers=("x-api-key", "authorization"),
    keepalive=b'event: ping\ndata: {"type": "ping"}\n\n',
    prefill=True,
)


PROVIDER = Provider(
    name="anthropic",
    key_env=("ANTHROPIC_API_KEY",),
    base_url_env="ANTHROPIC_BASE_URL",
    default_base_url="https://api.anthropic.com",
    model_prefixes=("claude-",),
    price_id="anthropic",
    chars_per_token=2.89,  # 1 reply, 110 / 38
)
