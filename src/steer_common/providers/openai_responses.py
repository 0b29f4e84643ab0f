"""OpenAI Responses API streaming (``POST /v1/responses`` with ``"stream": true``).

Wire format (research/wire-formats.md section 3): every event is named, ``event: <type>``,
and its JSON repeats the name in ``type``. No ``[DONE]``: the stream ends after a terminal
``response.completed``, ``response.incomplete`` or ``response.failed``.

- Text: ``response.output_text.delta``; refusals: ``response.refusal.delta``.
- Reasoning: ``response.reasoning_summary_text.delta`` (summaries) and
  ``response.reasoning_text.delta`` (raw reasoning, where a model streams it); the finished
  ``reasoning`` item (with its ``encrypted_content``) is kept verbatim for the next turn.
- Tool calls: ``response.output_item.added`` with a ``function_call`` item opens a call
  (``item.id`` is ``fc_...``, ``item.call_id`` the id a result must quote); argument
  fragments come in ``response.function_call_arguments.delta`` keyed by ``item_id``;
  ``...arguments.done`` repeats them whole and closes the call. Events carry the item's
  ``output_index``, which is the call's ``index`` here.
- Usage lives only in the terminal event's ``response.usage`` (cached tokens inside
  ``input_tokens``, reasoning inside ``output_tokens``).
- Errors: an ``error`` event (with ``code``/``message`` at the top level, or nested under
  ``error``, as ``openai/responses-error-insufficient-quota`` shows) and ``response.failed``.
- ``sequence_number`` is optional (absent in March 2025 streams). Unknown event types are
  skipped.
- Background mode (``background: true``, stored): the response is generated on the server
  whoever listens, and ``GET /responses/{id}?stream=true&starting_after=N`` streams its
  events again after sequence number ``N`` (:data:`RESUMPTION`): a cut stream is picked up
  where it broke, an event already handled is skipped, and ``POST /responses/{id}/cancel``
  stops it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from steer_common.errors import ConfigurationError
from steer_common.models.events import (
    REASONING_DELTA,
    REFUSAL_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    USAGE,
    StreamEvent,
    new_event,
)
from steer_common.parts import foreign, read_part, refusal
from steer_common.providers.base import (
    EventShape,
    Resumption,
    StreamAdapter,
    ToolCallBuilder,
    WireFormat,
    api_error,
    error_event,
    hole,
    in_background,
    integer,
    kept_request,
    load_json_object,
    scan_json,
    string,
)
from steer_common.spec import CallSpec, HTTPRequest, Route, ToolSpec
from steer_common.sse import ServerSentEvent
from steer_common.usage import as_int, make_usage

__all__ = [
    "FORMAT",
    "PATH",
    "RESUMPTION",
    "OpenAIResponsesAdapter",
    "auth_headers",
    "build_body",
    "cancel",
    "reconnect",
]

_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}


class OpenAIResponsesAdapter(StreamAdapter):
    """Responses API events to StreamEvents (see the module docstring)."""

    provider: ClassVar[str] = "openai"
    terminal_signal: ClassVar[str] = "response.completed, response.incomplete or response.failed"

    def __init__(self) -> None:
        super().__init__()
        self._calls: dict[str, ToolCallBuilder] = {}  # by item id
        # The shape (EventShape) of this stream's text deltas of the current item: the
        # ``delta``, OpenAI's ``obfuscation`` (never read) and the ``sequence_number`` are
        # the holes; the item's id and indexes are fixed.
        self._text_shape: EventShape | None = None

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        data = sse.data
        if self.done or not data:
            return
        shape = self._text_shape
        values = shape.match(data) if shape is not None else None
        if values is not None:  # a text delta, read without parsing it
            kind = "response.output_text.delta"
            number = values[-1]
        else:
            try:  # load_json_object inline (see scan_json)
                event, end = scan_json(data, 0)
            except (StopIteration, ValueError):
                end = -1
            if end != len(data) or type(event) is not dict:
                event = load_json_object(data, self.provider, "an event")
            kind = event.get("type") or sse.event
            number = event.get("sequence_number")
        if type(number) is int:
            cursor = self.cursor
            if type(cursor) is int and number <= cursor:
                return  # a stream picked up again repeated an event already handled
            self.cursor = number
            shown = self.shown
            if type(shown) is int and number <= shown:
                out = self.hidden if self.hidden is not None else []
        if kind == "response.output_text.delta":
            delta = event.get("delta") if values is None else values[0]
            if delta and type(delta) is str:  # StreamEvent(TEXT_DELTA, delta), inline
                item = new_event(StreamEvent)
                item.type = TEXT_DELTA
                item.delta = delta
                item.index = item.id = item.name = item.model = item.usage = None
                item.finish_reason = item.error = item.tool_call = item.metadata = None
                out.append(item)
            if values is None and self._learning:
                self._learn_text(event, data)
        elif kind == "response.function_call_arguments.delta":
            call = self._calls.get(event.get("item_id", ""))
            delta = event.get("delta")
            if call is not None and delta and type(delta) is str and not call.done:
                out.append(call.delta_event(delta))
        elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            delta = event.get("delta")
            if delta and type(delta) is str:
                out.append(StreamEvent(REASONING_DELTA, delta, integer(event.get("output_index"))))
        elif kind == "response.refusal.delta":
            delta = event.get("delta")
            if delta and type(delta) is str:
                out.append(StreamEvent(REFUSAL_DELTA, delta))
        elif kind == "response.created":
            response = event.get("response") or {}
            self.response_id = string(response.get("id"))
            tier = response.get("service_tier")
            out.append(
                StreamEvent(
                    STREAM_START,
                    id=string(response.get("id")),
                    model=string(response.get("model")),
                    metadata={"service_tier": tier} if type(tier) is str and tier else None,
                )
            )
        elif kind == "response.output_item.added":
            self._item_added(event, out)
        elif kind == "response.function_call_arguments.done":
            call = self._calls.get(event.get("item_id", ""))
            if call is not None and not call.done:
                arguments = event.get("arguments")
                out.append(call.end_event(arguments if isinstance(arguments, str) else None))
        elif kind == "response.output_item.done":
            self._item_done(event, out)
        elif kind in ("response.completed", "response.incomplete"):
            self._terminal(event.get("response") or {}, out)
        elif kind == "error":
            nested = event.get("error")
            if not isinstance(nested, dict):  # the documented flat shape
                nested = {"code": event.get("code"), "message": event.get("message")}
            self._raise_in_band(nested, event, out)
        elif kind == "response.failed":
            response = event.get("response") or {}
            usage = response.get("usage")
            if usage and type(usage) is dict:
                out.append(StreamEvent(USAGE, usage=self.normalize_usage(usage)))
            error = response.get("error")
            self._raise_in_band(error if type(error) is dict else {}, event, out)

    def _learn_text(self, event: dict[str, Any], data: str) -> None:
        """Learn the shape of the text deltas like ``event``: of them, ``handle`` reads only
        the ``type`` (fixed: one the event has, not its name), the ``delta`` and the
        ``sequence_number`` (holes; the shape reads the latter as the int it must be)."""
        if event.get("type") != "response.output_text.delta":
            return
        if type(event.get("sequence_number")) is not int or type(event.get("delta")) is not str:
            return
        marked = {**event, "delta": hole(0)}
        kinds = "s"
        if type(event.get("obfuscation")) is str:  # padding, new in every event
            marked["obfuscation"] = hole(1)
            kinds = "ss"
        marked["sequence_number"] = hole(len(kinds))
        self._text_shape = self._learn(marked, kinds + "i", data)

    def _item_added(self, event: dict[str, Any], out: list[StreamEvent]) -> None:
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            call_id = string(item.get("call_id"))
            item_id = string(item.get("id")) or call_id or str(event.get("output_index"))
            index = integer(event.get("output_index"))
            call = ToolCallBuilder(
                len(self._calls) if index is None else index,
                call_id,
                string(item.get("name")),
                item_id,
            )
            self._calls[item_id] = call
            out.append(call.start_event())

    def _item_done(self, event: dict[str, Any], out: list[StreamEvent]) -> None:
        item = event.get("item") or {}
        kind = item.get("type")
        if kind == "function_call":
            call = self._calls.get(item.get("id", ""))
            if call is not None and not call.done:
                arguments = item.get("arguments")
                out.append(call.end_event(arguments if isinstance(arguments, str) else None))
        elif kind == "reasoning" and type(item) is dict:
            # Kept verbatim (with encrypted_content) so the next turn can send it back.
            out.append(
                StreamEvent(
                    REASONING_DELTA,
                    "",
                    integer(event.get("output_index")),
                    metadata={"block": item},
                )
            )

    def _terminal(self, response: dict[str, Any], out: list[StreamEvent]) -> None:
        out.extend(call.end_event() for call in self._calls.values() if not call.done)
        usage = response.get("usage")
        if usage and type(usage) is dict:
            out.append(StreamEvent(USAGE, usage=self.normalize_usage(usage)))
        status = string(response.get("status")) or "completed"
        if status == "incomplete":
            reason = string((response.get("incomplete_details") or {}).get("reason"))
            native = reason or status
            finish = _INCOMPLETE.get(reason or "", "length")
        else:
            native = status
            finish = "tool_calls" if self._calls else "stop"
        self.done = True
        out.append(
            StreamEvent(STREAM_END, finish_reason=finish, metadata={"native_finish_reason": native})
        )

    def _raise_in_band(
        self, error: dict[str, Any], payload: dict[str, Any], out: list[StreamEvent]
    ) -> None:
        message = str(error.get("message") or "the response failed")
        error_type = string(error.get("type"))
        code = string(error.get("code"))
        out.append(error_event(error_type, message, code))
        raise api_error(
            self.provider,
            message,
            error_type=error_type,
            code=code,
            body=payload,
            in_band=True,
        )

    def normalize_usage(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Responses arithmetic: cached inside input, reasoning inside output."""
        input_details = raw.get("input_tokens_details") or {}
        output_details = raw.get("output_tokens_details") or {}
        cached = input_details.get("cached_tokens")
        reasoning = output_details.get("reasoning_tokens")
        return make_usage(
            as_int(raw.get("input_tokens")),
            as_int(raw.get("output_tokens")),
            cached_tokens=as_int(cached) if cached is not None else None,
            reasoning_tokens=as_int(reasoning) if reasoning is not None else None,
            raw=raw,
        )


# -- request building ----------------------------------------------------------------------

PATH = "/responses"


def auth_headers(api_key: str) -> dict[str, str]:
    """``Authorization: Bearer``."""
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


def build_body(call: CallSpec, route: Route) -> dict[str, Any]:
    """The Responses body: messages become ``input`` items.

    Chat-style messages are converted: text parts to ``input_text`` (``output_text`` for
    the assistant), ``image_url`` parts to ``input_image``, an assistant's ``tool_calls`` to
    ``function_call`` items, ``tool`` messages to ``function_call_output`` items. Items
    already in Responses form (with a ``type`` and no ``role``) are sent as they are.
    """
    items: list[dict[str, Any]] = []
    for message in call.messages:
        items.extend(_items(message))
    if call.stop:
        raise ConfigurationError(
            f"{route.provider}: the Responses API takes no stop sequences: drop stop=, or "
            "use Chat Completions (openai_api='chat')"
        )
    body: dict[str, Any] = {"model": route.model, "input": items}
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.max_tokens is not None:
        body["max_output_tokens"] = call.max_tokens
    if call.tools:
        body["tools"] = [_tool(t) for t in call.tools]
    fmt = call.response_format
    if fmt is not None:
        if fmt.kind == "json_object":
            body["text"] = {"format": {"type": "json_object"}}
        else:
            body["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": fmt.name,
                    "schema": fmt.schema,
                    "strict": fmt.strict,
                }
            }
    return body


def _items(message: dict[str, Any]) -> list[dict[str, Any]]:
    role = message.get("role")
    if role is None:
        return [message]  # already a Responses item
    if role == "tool":
        output = message.get("content")
        if isinstance(output, list):
            output = "".join(p.get("text", "") for p in output if isinstance(p, dict))
        return [
            {
                "type": "function_call_output",
                "call_id": message["tool_call_id"],
                "output": output or "",
            }
        ]
    items: list[dict[str, Any]] = []
    content = message.get("content")
    if content:
        if isinstance(content, list):
            kind = "output_text" if role == "assistant" else "input_text"
            content = [_part(p, kind) for p in content]
        items.append({"role": role, "content": content})
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        items.append(
            {
                "type": "function_call",
                "call_id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments") or "{}",
            }
        )
    return items


def _part(part: Any, text_kind: str) -> Any:
    """A content part as Responses takes it: ``input_text``/``output_text``,
    ``input_image`` (a URL, a data URL or a file id), ``input_file`` (a data URL, a file id
    or a URL); audio and other providers' blocks are refused (Responses takes no audio)."""
    if not isinstance(part, dict):
        return part
    kind = part.get("type")
    if kind == "text":
        return {"type": text_kind, "text": part.get("text", "")}
    other = foreign(part, "openai")
    if other is not None:
        raise refusal(other, "the Responses API", "give it in the OpenAI shape")
    if kind in ("image_url", "input_audio", "file"):
        neutral = read_part(part)
        if neutral.kind == "image":
            # ``detail`` is required by the Responses API (Chat's image_url has it optional).
            image = part.get("image_url")
            detail = (image.get("detail") if isinstance(image, dict) else None) or "auto"
            if neutral.file_id is not None:
                return {"type": "input_image", "file_id": neutral.file_id, "detail": detail}
            url = image.get("url") if isinstance(image, dict) else image
            return {"type": "input_image", "image_url": url, "detail": detail}
        if neutral.kind == "file":  # Chat's file part holds input_file's own fields
            fields = ("file_id", "file_data", "file_url", "filename")
            file = {k: v for k, v in part["file"].items() if k in fields}
            if neutral.url is not None:  # xAI's ``file.url`` is Responses' ``file_url``
                file["file_url"] = neutral.url
            return {"type": "input_file", **file}
        raise refusal(neutral, "the Responses API", "it takes no audio: use Chat Completions")
    return {k: v for k, v in part.items() if k != "cache_control"}


def _tool(tool: ToolSpec) -> dict[str, Any]:
    if tool.raw is not None:
        return tool.raw
    out: dict[str, Any] = {"type": "function", "name": tool.name, "parameters": tool.parameters}
    if tool.description:
        out["description"] = tool.description
    if tool.strict is not None:
        out["strict"] = tool.strict
    return out


def reconnect(request: HTTPRequest, response_id: str, after: int | str | None) -> HTTPRequest:
    """``GET /responses/{id}?stream=true[&starting_after=N]`` for the request that began it."""
    return kept_request(
        request, response_id, "GET", "", {"stream": "true", "starting_after": after}
    )


def cancel(request: HTTPRequest, response_id: str) -> HTTPRequest:
    """``POST /responses/{id}/cancel`` for the request that began it."""
    return kept_request(request, response_id, "POST", "/cancel")


#: How a background response's stream is picked up again (see the module docstring).
RESUMPTION = Resumption(kept=in_background, reconnect=reconnect, cancel=cancel)

FORMAT = WireFormat(
    name="openai_responses",
    title="OpenAI Responses API",
    provider="openai",
    api="responses",
    adapter=OpenAIResponsesAdapter,
    path=PATH,
    build_body=build_body,
    auth_headers=auth_headers,
    auth="`Authorization: Bearer`",
    usage="`input_tokens` includes cached tokens, `output_tokens` reasoning tokens",
    keepalive=b": keep-alive\n\n",
    resumption=RESUMPTION,
)
