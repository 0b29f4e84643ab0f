"""OpenAI Chat Completions streaming (``POST /v1/chat/completions`` with ``"stream": true``).

Wire format (research/wire-formats.md section 2): unnamed events, one
``chat.completion.chunk`` JSON object each, then the sentinel ``data: [DONE]``.

- Text is ``choices[0].delta.content``; refusals ``delta.refusal``. Only the first choice
  is normalized (``n > 1`` is not streamed by this library).
- Tool calls arrive as fragments keyed by ``delta.tool_calls[].index``; ``id`` and
  ``function.name`` come only on a call's first fragment; arguments are split anywhere
  (fixture ``openai/chat-parallel-tool-calls``). Indices need not start at 0
  (``compat/claude-via-openai-compatible-tool-index-1``). A call ends when the choice
  gets its ``finish_reason`` (or at ``[DONE]``).
- Usage comes on its own chunk with ``choices: []`` before ``[DONE]`` when
  ``stream_options.include_usage`` is set; a later chunk may say ``usage: null``
  (``openai/chat-moderation-chunk-after-usage``), which must not erase it. Cached tokens
  are inside ``prompt_tokens``, reasoning tokens inside ``completion_tokens``.
- A chunk holding ``{"error": ...}`` is an in-band error.
- What other servers add, read as general rules for every dialect: reasoning text in
  ``delta.reasoning_content`` or ``delta.reasoning``; ``delta.content`` as a list of typed
  parts (``text``; ``thinking``/``reasoning`` as reasoning; any other type kept in
  ``provider_data["unread_content"]`` and logged once); usage in ``x_groq.usage``; Azure's
  first chunk (empty ``id``/``model``, ``choices: []``, ``prompt_filter_results``) and its
  per-choice ``content_filter_results``, kept in ``provider_data``.
- Complete means ``[DONE]``, or a ``finish_reason`` and then the end of the body (some
  servers never send ``[DONE]``) when no usage chunk is due or it came. A usage chunk is
  due when the request asked for one (``stream_options.include_usage``, which this
  library's requests always set; ``StreamParser(usage_expected=False)`` for one that did
  not): a stream cut after its ``finish_reason`` has lost it, and is interrupted. So is
  the end of the body before a ``finish_reason``.

:class:`ChatCompletionsAdapter` is also the base of the xAI and OpenAI-compatible dialects.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from steer_common.errors import StreamInterruptedError
from steer_common.models.events import (
    REASONING_DELTA,
    REFUSAL_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    TOOL_CALL_DELTA,
    USAGE,
    StreamEvent,
    new_event,
)
from steer_common.parts import Part, foreign, read_part, refusal
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
from steer_common.sse import DiscardedInput, ServerSentEvent
from steer_common.usage import as_int, make_usage

__all__ = [
    "FORMAT",
    "PARTS",
    "PATH",
    "ChatCompletionsAdapter",
    "ChatParts",
    "OpenAIChatAdapter",
    "auth_headers",
    "body_builder",
    "build_body",
    "content_parts",
]

_FINISH = {"function_call": "tool_calls"}
#: What a chunk says of the serving (``StreamResponse.service_tier``/``system_fingerprint``).
_SERVING = ("service_tier", "system_fingerprint")
#: Who serves OpenAI's reasoning models, which reject ``max_tokens``.
_REASONING_HOSTS = ("openai", "azure")
logger = logging.getLogger("steer_common.providers")


def _text_of_parts(value: Any) -> str:
    """The text of a reasoning part's content: a string, or a list of ``text`` parts."""
    if type(value) is str:
        return value
    if type(value) is list:
        return "".join(p["text"] for p in value if type(p) is dict and type(p.get("text")) is str)
    return ""


class ChatCompletionsAdapter(StreamAdapter):
    """Chat Completions chunks to StreamEvents (see the module docstring)."""

    provider: ClassVar[str] = "openai"
    terminal_signal: ClassVar[str] = "[DONE], or a finish_reason and the usage chunk asked for"
    #: ``delta`` fields that carry reasoning text: DeepSeek's and vLLM's
    #: ``reasoning_content``, OpenRouter's and Groq's ``reasoning`` (OpenAI sends neither).
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content", "reasoning")

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._finish: str | None = None
        self._usage_seen = False
        self._calls: dict[int, ToolCallBuilder] = {}
        self._data: dict[str, Any] = {}  # provider_data: Azure's filter results, unread parts
        # The shapes (EventShape) of this stream's text chunks and of its tool-argument
        # fragments (of the call at _args_index), learned from the first the hot path below
        # reads: the text or the fragment is a hole, and OpenAI's ``obfuscation`` (never
        # read) another.
        self._text_shape: EventShape | None = None
        self._args_shape: EventShape | None = None
        self._args_index = 0

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        if self.done:
            return
        data = sse.data
        shape = self._text_shape
        if shape is not None:
            values = shape.match(data)
            if values is not None and sse.event != "error":  # read without parsing it
                content = values[0]
                if content:  # StreamEvent(TEXT_DELTA, content), inline
                    event = new_event(StreamEvent)
                    event.type = TEXT_DELTA
                    event.delta = content
                    event.index = event.id = event.name = event.model = None
                    event.usage = event.finish_reason = event.error = None
                    event.tool_call = event.metadata = None
                    out.append(event)
                return
        shape = self._args_shape
        if shape is not None:
            values = shape.match(data)
            if values is not None and sse.event != "error":  # read without parsing it
                call = self._calls.get(self._args_index)
                if call is not None and not call.done:
                    if not call.name:  # as _tool_calls: this fragment names no function
                        call.name = None
                    arguments = values[0]
                    if arguments:  # call.delta_event(arguments), inline
                        call.parts.append(arguments)
                        event = new_event(StreamEvent)
                        event.type = TOOL_CALL_DELTA
                        event.delta = arguments
                        event.index = call.index
                        event.id = call.id
                        event.name = event.model = event.usage = event.finish_reason = None
                        event.error = event.tool_call = event.metadata = None
                        out.append(event)
                    return
        if data[:1] != "{":
            if data[:6] == "[DONE]":
                self._end(out)
                return
            if not data:
                return  # ``data:`` with nothing: not a chunk (wpt-field-data-empty-and-bare)
        try:  # load_json_object inline (see scan_json)
            chunk, end = scan_json(data, 0)
        except (StopIteration, ValueError):
            end = -1
        if end != len(data) or type(chunk) is not dict:
            chunk = load_json_object(data, self.provider, "a chunk")
        choices = chunk.get("choices")
        if self._started:
            # The common chunks first: one choice whose delta is only text or only tool-call
            # fragments, nothing else to read in the chunk (no usage, no error, no finish,
            # no filter results). A tool call's fragments take this path too: its probes
            # are paid once, not again by the general path below (about 2,300 instructions
            # a fragment).
            if type(choices) is list and len(choices) == 1:
                choice = choices[0]
                if type(choice) is dict and choice.get("finish_reason") is None:
                    delta = choice.get("delta")
                    if (
                        type(delta) is dict
                        and len(delta) == 1
                        and not chunk.get("usage")
                        and not chunk.get("error")
                        and "x_groq" not in chunk
                        and sse.event != "error"
                        and "content_filter_results" not in choice
                        and choice.get("index", 0) == 0
                    ):
                        content = delta.get("content")
                        if type(content) is str:
                            if content:  # StreamEvent(TEXT_DELTA, content), inline
                                event = new_event(StreamEvent)
                                event.type = TEXT_DELTA
                                event.delta = content
                                event.index = event.id = event.name = event.model = None
                                event.usage = event.finish_reason = event.error = None
                                event.tool_call = event.metadata = None
                                out.append(event)
                            if self._learning:
                                marked = {"content": hole(0)}
                                self._text_shape = self._shape(chunk, choice, marked, data)
                            return
                        tool_calls = delta.get("tool_calls")
                        if tool_calls:
                            self._tool_calls(tool_calls, out)
                            if self._learning:
                                self._learn_args(chunk, choice, tool_calls, data)
                            return
        elif chunk.get("id") or chunk.get("model") or "choices" not in chunk:
            self._start(out, chunk)  # Azure's first chunk has an empty id and model: not it
        if choices:
            for choice in choices:
                if choice.get("index", 0) == 0:
                    self._choice(choice, out)
        else:  # Azure's prompt filter results come on a chunk of no choices
            prompt_filter = chunk.get("prompt_filter_results") or chunk.get("prompt_annotations")
            if prompt_filter:
                self._data["prompt_filter_results"] = prompt_filter
        usage = chunk.get("usage")
        if not usage and type(chunk.get("x_groq")) is dict:
            usage = chunk["x_groq"].get("usage")  # Groq: usage only in its extension
        if usage and type(usage) is dict:
            self._usage_seen = True
            out.append(StreamEvent(USAGE, usage=self.normalize_usage(usage)))
        if sse.event == "error" or chunk.get("error"):
            self._raise_in_band(chunk.get("error") or chunk, out)

    def _shape(
        self, chunk: dict[str, Any], choice: dict[str, Any], delta: dict[str, Any], data: str
    ) -> EventShape | None:
        """The shape of the chunks like ``chunk`` (which the hot path above read) whose
        delta is ``delta`` (its hole marked). The hot path reads the ``choices``, the
        choice's ``finish_reason``, ``index``, ``content_filter_results`` and ``delta`` and
        the chunk's ``usage``, ``error`` and ``x_groq``: all fixed by the shape; the event's
        name (``error`` or not) and the value in the hole are checked on every chunk."""
        marked = {**chunk, "choices": [{**choice, "delta": delta}]}
        kinds = "s"
        if type(chunk.get("obfuscation")) is str:  # OpenAI's padding, new in every chunk
            marked["obfuscation"] = hole(1)
            kinds = "ss"
        return self._learn(marked, kinds, data)

    def _learn_args(
        self, chunk: dict[str, Any], choice: dict[str, Any], fragments: Any, data: str
    ) -> None:
        """Learn the shape of the chunks that carry one fragment of a call's arguments and
        nothing else (``{"index": <int>, "function": {"arguments": <string>}}``, as after
        a call's first chunk): _tool_calls reads of it only the index (fixed) and the
        arguments (the hole)."""
        fragment = fragments[0] if type(fragments) is list and len(fragments) == 1 else None
        if type(fragment) is not dict or len(fragment) != 2:
            return
        index = fragment.get("index")
        function = fragment.get("function")
        if type(index) is int and type(function) is dict and list(function) == ["arguments"]:
            marked = {**fragment, "function": {"arguments": hole(0)}}
            self._args_shape = self._shape(chunk, choice, {"tool_calls": [marked]}, data)
            self._args_index = index

    def _start(self, out: list[StreamEvent], chunk: Mapping[str, Any]) -> None:
        self._started = True
        serving = {k: chunk[k] for k in _SERVING if type(chunk.get(k)) is str and chunk[k]}
        out.append(
            StreamEvent(
                STREAM_START,
                id=string(chunk.get("id")),
                model=string(chunk.get("model")),
                metadata=serving or None,
            )
        )

    def _choice(self, choice: dict[str, Any], out: list[StreamEvent]) -> None:
        delta = choice.get("delta")
        if not self._started and delta is not None:
            self._start(out, {})
        filtered = choice.get("content_filter_results")
        if filtered:  # Azure's per-choice results (with offsets, in asynchronous mode)
            kept = {"content_filter_results": filtered}
            if choice.get("content_filter_offsets"):
                kept["content_filter_offsets"] = choice["content_filter_offsets"]
            self._data.setdefault("content_filter_results", []).append(kept)
        if delta:
            for field in self.reasoning_fields:
                reasoning = delta.get(field)
                if reasoning and type(reasoning) is str:
                    out.append(StreamEvent(REASONING_DELTA, reasoning))
            content = delta.get("content")
            if content and type(content) is str:
                out.append(StreamEvent(TEXT_DELTA, content))
            elif content and type(content) is list:
                self._parts(content, out)
            refusal = delta.get("refusal")
            if refusal and type(refusal) is str:
                out.append(StreamEvent(REFUSAL_DELTA, refusal))
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                self._tool_calls(tool_calls, out)
            elif delta.get("function_call"):  # the deprecated single-function form
                self._tool_calls([{"index": 0, "function": delta["function_call"]}], out)
        finish = choice.get("finish_reason")
        if finish and self._finish is None and type(finish) is str:
            self._finish = finish
            self._end_calls(out)

    def _parts(self, parts: list[Any], out: list[StreamEvent]) -> None:
        """``delta.content`` as a list of typed parts (Mistral): read by part type. A part
        of a type not known here is kept in ``provider_data["unread_content"]`` and logged
        once per stream, never dropped in silence."""
        for part in parts:
            kind = part.get("type") if type(part) is dict else None
            if kind == "text" and type(part.get("text")) is str:
                if part["text"]:
                    out.append(StreamEvent(TEXT_DELTA, part["text"]))
            elif kind in ("thinking", "reasoning"):
                text = _text_of_parts(part.get(kind) or part.get("text"))
                if text:
                    out.append(StreamEvent(REASONING_DELTA, text))
            else:
                unread = self._data.setdefault("unread_content", [])
                if not unread:
                    logger.warning(
                        "%s: a content part of type %r was not read as text; it is kept in "
                        "provider_data['unread_content']",
                        self.provider,
                        kind,
                    )
                unread.append(part)

    def _tool_calls(self, fragments: list[dict[str, Any]], out: list[StreamEvent]) -> None:
        calls = self._calls
        for fragment in fragments:
            # integer() and string() inlined: the two calls cost ~650 instructions a fragment.
            index = fragment.get("index")
            if type(index) is not int:
                index = None
            call_id = fragment.get("id")
            if type(call_id) is not str:
                call_id = None
            if index is None:
                # Some servers omit the index: a fragment with a new id starts a new call.
                index = max(calls, default=-1) + (1 if call_id or not calls else 0)
            function = fragment.get("function") or {}
            call = calls.get(index)
            if call is not None and call_id and call.id and call_id != call.id:
                # A server that reuses an index for a second call: close the first.
                if not call.done:
                    out.append(call.end_event())
                call = None
            if call is None or call.done:
                call = ToolCallBuilder(index, call_id, string(function.get("name")))
                calls[index] = call
                out.append(call.start_event())
            else:
                if call_id and not call.id:
                    call.id = call_id
                if not call.name:
                    call.name = string(function.get("name"))
            arguments = function.get("arguments")
            if arguments and type(arguments) is str:  # call.delta_event(arguments), inline
                call.parts.append(arguments)
                item = new_event(StreamEvent)
                item.type = TOOL_CALL_DELTA
                item.delta = arguments
                item.index = call.index
                item.id = call.id
                item.name = item.model = item.usage = item.finish_reason = None
                item.error = item.tool_call = item.metadata = None
                out.append(item)

    def _end_calls(self, out: list[StreamEvent]) -> None:
        out.extend(call.end_event() for call in self._calls.values() if not call.done)

    def _end(self, out: list[StreamEvent]) -> None:
        if not self._started:
            self._start(out, {})
        self._end_calls(out)
        self.done = True
        native = self._finish
        metadata: dict[str, Any] = {"native_finish_reason": native}
        if self._data:
            metadata["provider_data"] = self._data
        out.append(
            StreamEvent(
                STREAM_END,
                finish_reason=_FINISH.get(native, native) if native else None,
                metadata=metadata,
            )
        )

    def unterminated(self, discarded: DiscardedInput, out: list[StreamEvent]) -> None:
        # ``data: [DONE]`` without the blank line that dispatches it (a server that closes
        # right after it): the SSE rules drop the event, but the server did end the stream.
        line = discarded.unterminated_line
        data = line[5:].strip() if line.startswith("data:") else ""
        done = data == "[DONE]" or (not line and discarded.undispatched_data[-1:] == ["[DONE]"])
        if done and not self.done:
            self._end(out)

    def finish(self, out: list[StreamEvent]) -> None:
        if not self.done and self._finish is not None:
            if self.usage_expected and not self._usage_seen:
                raise StreamInterruptedError(
                    f"{self.provider}: the stream ended after its finish_reason but before "
                    "the usage chunk and [DONE] that stream_options.include_usage asks for: "
                    "the reply is whole, its usage did not arrive",
                    provider=self.provider,
                )
            # A finish_reason is a terminal signal on its own; some servers never send [DONE].
            self._end(out)
        super().finish(out)

    def _raise_in_band(self, payload: Any, out: list[StreamEvent]) -> None:
        error = payload if isinstance(payload, dict) else {"message": str(payload)}
        message = str(error.get("message") or error)
        error_type = string(error.get("type"))
        code = error.get("code")
        status = integer(code)
        out.append(error_event(error_type, message, code, finish_reason=self._finish))
        raise api_error(
            self.provider,
            message,
            status=status,
            error_type=error_type,
            code=string(code),
            body=payload,
            in_band=True,
        )

    def normalize_usage(self, raw: dict[str, Any]) -> dict[str, Any]:
        """OpenAI arithmetic: cached inside prompt, reasoning inside completion."""
        prompt_details = raw.get("prompt_tokens_details") or {}
        completion_details = raw.get("completion_tokens_details") or {}
        cached = prompt_details.get("cached_tokens")
        written = prompt_details.get("cache_write_tokens")
        reasoning = completion_details.get("reasoning_tokens")
        return make_usage(
            as_int(raw.get("prompt_tokens")),
            as_int(raw.get("completion_tokens")),
            cached_tokens=as_int(cached) if cached is not None else None,
            cache_creation_tokens=as_int(written) if written is not None else None,
            reasoning_tokens=as_int(reasoning) if reasoning is not None else None,
            raw=raw,
        )


class OpenAIChatAdapter(ChatCompletionsAdapter):
    """OpenAI's own Chat Completions: no reasoning text is streamed (only its token count)."""


# -- request building ----------------------------------------------------------------------

PATH = "/chat/completions"


def auth_headers(api_key: str) -> dict[str, str]:
    """``Authorization: Bearer`` (nothing for a keyless compatible server)."""
    return {"authorization": f"Bearer {api_key}"} if api_key else {}


@dataclass(frozen=True, slots=True)
class ChatParts:
    """What a Chat Completions dialect takes of the content parts (a record's ``parts``).

    A part it takes goes out in Chat's shape (its own shapes as given; Responses'
    ``input_text``/``input_image``/``input_file`` converted); any other is refused with a
    :class:`~steer_common.errors.ConfigurationError` before anything is sent.

    Attributes:
        name: the dialect, as error messages name it.
        takes: the parts it takes, by :attr:`steer_common.parts.Part.where`: ``text``,
            ``image-url``, ``image-data``, ``image-id``, ``audio``, ``file-data``,
            ``file-id``, ``file-url``.
        file_types: the media types of a file it takes as bytes (empty: any; a file whose
            type is not known goes, for the server to judge).
        audio_formats: the ``input_audio`` formats it takes (empty: any).
        own: part types of its own, sent as given without being read (xAI's ``text_file``).
        others: a part of a type not known here goes as given (an OpenAI-compatible
            server's own, vLLM's ``video_url``) instead of being refused.
    """

    name: str
    takes: frozenset[str]
    file_types: frozenset[str] = frozenset()
    audio_formats: frozenset[str] = frozenset()
    own: frozenset[str] = frozenset()
    others: bool = False

    def refuse(self, part: Part) -> None:
        """Raise the refusal of ``part`` if this dialect cannot take it."""
        where = part.where
        if where not in self.takes:
            taken = ", ".join(_WORDS[w] for w in _WORDS if w in self.takes)
            raise refusal(part, self.name, f"it takes {taken}")
        media = part.media_type
        if where == "file-data" and self.file_types and media and media not in self.file_types:
            types = ", ".join(sorted(self.file_types))
            raise refusal(part, self.name, f"it takes files as bytes of type {types} only")
        audio = (media or "").removeprefix("audio/")
        if where == "audio" and self.audio_formats and audio not in self.audio_formats:
            formats = ", ".join(sorted(self.audio_formats))
            raise refusal(part, self.name, f"it takes audio in {formats} only")


# The table rows, in words (a refusal lists what the dialect takes).
_WORDS = {
    "text": "text",
    "image-url": "images by URL",
    "image-data": "images as bytes",
    "image-id": "images by file id",
    "audio": "audio",
    "file-data": "files as bytes",
    "file-id": "files by id",
    "file-url": "files by URL",
}
# Chat's own part types (sent as given once taken) and every type read_part reads.
_CHAT_TYPES = frozenset(("text", "image_url", "input_audio", "file", "refusal"))
_READ_TYPES = _CHAT_TYPES | {"input_text", "input_image", "input_file", "image", "document"}

#: OpenAI's (platform.openai.com/docs/api-reference/chat/create; files: PDF only,
#: no file URL, docs/guides/file-inputs; audio: wav or mp3, ``InputAudio.format``).
PARTS = ChatParts(
    name="openai Chat Completions",
    takes=frozenset(("text", "image-url", "image-data", "audio", "file-data", "file-id")),
    file_types=frozenset(("application/pdf",)),
    audio_formats=frozenset(("wav", "mp3")),
)


def content_parts(route: Route) -> ChatParts:
    """What OpenAI's Chat Completions takes of the content parts: :data:`PARTS`."""
    return PARTS


def build_body(
    call: CallSpec, route: Route, parts: Callable[[Route], ChatParts] = content_parts
) -> dict[str, Any]:
    """The Chat Completions body (OpenAI, xAI and compatible dialects).

    Usage is requested (``stream_options.include_usage``). OpenAI takes
    ``max_completion_tokens`` (reasoning models reject ``max_tokens``), as does Azure; xAI and compatible
    servers take ``max_tokens``. ``cache_control`` marks are Anthropic's: they are dropped
    for OpenAI and xAI and kept for compatible servers (OpenRouter forwards them to Claude).
    Content parts go out as the dialect takes them, or are refused (``parts``: what the
    route's dialect takes, :class:`ChatParts`).
    """
    keep_cache = route.provider == "openai_compatible"
    rules = parts(route)
    body: dict[str, Any] = {
        "model": route.model,
        "messages": [_message(m, keep_cache, rules) for m in call.messages],
        "stream_options": {"include_usage": True},
    }
    if call.temperature is not None:
        body["temperature"] = call.temperature
    if call.max_tokens is not None:
        body["max_completion_tokens" if route.provider in _REASONING_HOSTS else "max_tokens"] = (
            call.max_tokens
        )
    if call.stop:
        body["stop"] = call.stop
    if call.tools:
        body["tools"] = [_tool(t) for t in call.tools]
    fmt = call.response_format
    if fmt is not None:
        if fmt.kind == "json_object":
            body["response_format"] = {"type": "json_object"}
        else:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": fmt.name, "schema": fmt.schema, "strict": fmt.strict},
            }
    extra_options = call.extras.get("stream_options")
    if isinstance(extra_options, dict):
        body["stream_options"] = {"include_usage": True, **extra_options}
    return body


def body_builder(
    parts: Callable[[Route], ChatParts],
) -> Callable[[CallSpec, Route], dict[str, Any]]:
    """The ``build_body`` of a Chat Completions dialect that takes ``parts`` of a route."""
    return partial(build_body, parts=parts)


def _message(message: dict[str, Any], keep_cache: bool, rules: ChatParts) -> dict[str, Any]:
    # ``is_error`` marks a failed tool result for Anthropic; Chat has no such field.
    drop = ("is_error",) if keep_cache else ("is_error", "cache_control")
    out = {k: v for k, v in message.items() if k not in drop}
    content = out.get("content")
    if isinstance(content, list):
        out["content"] = [_part(part, keep_cache, rules) for part in content]
    return out


def _part(part: Any, keep_cache: bool, rules: ChatParts) -> Any:
    """A content part as the dialect takes it (see :class:`ChatParts`), or refused."""
    if not isinstance(part, dict):
        return part
    other = foreign(part, "openai")
    if other is not None:
        raise refusal(other, rules.name, "give it in the OpenAI shape")
    kind = part.get("type")
    # An assistant's refusal, the dialect's own types and, on a compatible server, any type
    # not known here go unread.
    unread = kind == "refusal" or kind in rules.own or (rules.others and kind not in _READ_TYPES)
    if not unread:
        neutral = read_part(part)
        rules.refuse(neutral)
        if kind not in _CHAT_TYPES or neutral.where == "file-url":
            part = _chat_shape(neutral, part)
    if keep_cache or "cache_control" not in part:
        return part
    return {k: v for k, v in part.items() if k != "cache_control"}


def _chat_shape(part: Part, raw: dict[str, Any]) -> dict[str, Any]:
    """A part taken but given in another shape (Responses' ``input_*``), as Chat's."""
    if part.kind == "text":
        return {"type": "text", "text": part.text}
    if part.kind == "image":
        url = part.url or f"data:{part.media_type};base64,{part.data}"
        image: dict[str, Any] = {"file_id": part.file_id} if part.file_id else {"url": url}
        if raw.get("detail"):
            image["detail"] = raw["detail"]
        return {"type": "image_url", "image_url": image}
    if part.url is not None:  # a file by URL: xAI's shape, the only one Chat documents
        return {"type": "file", "file": {"url": part.url}}
    given: dict[str, Any] = raw["file"] if raw.get("type") == "file" else raw
    fields = ("file_id", "file_data", "filename")
    return {"type": "file", "file": {k: v for k, v in given.items() if k in fields}}


def _tool(tool: ToolSpec) -> dict[str, Any]:
    if tool.raw is not None:
        return tool.raw
    function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
    if tool.description:
        function["description"] = tool.description
    if tool.strict is not None:
        function["strict"] = tool.strict
    return {"type": "function", "function": function}


def usage_asked(body: Mapping[str, Any]) -> bool:
    """Chat Completions streams usage only when ``stream_options.include_usage`` asks."""
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


FORMAT = WireFormat(
    name="openai",
    title="OpenAI Chat Completions",
    provider="openai",
    adapter=OpenAIChatAdapter,
    path=PATH,
    build_body=body_builder(content_parts),
    auth_headers=auth_headers,
    auth="`Authorization: Bearer`",
    usage="`prompt_tokens` includes cached tokens, `completion_tokens` reasoning tokens",
    parts=content_parts,
    usage_asked=usage_asked,
    keepalive=b": keep-alive\n\n",
)


#: OpenAI (both of its formats: Chat Completions here, Responses in :mod:`.openai_responses`).
PROVIDER = Provider(
    name="openai",
    key_env=("OPENAI_API_KEY",),
    base_url_env="OPENAI_BASE_URL",
    default_base_url="https://api.openai.com/v1",
    model_prefixes=("gpt-", "chatgpt-", "o1", "o3", "o4"),
    price_id="openai",
    chars_per_token=4.42,  # 10 OpenAI and Azure replies, 3,591 characters / 813 tokens
)
