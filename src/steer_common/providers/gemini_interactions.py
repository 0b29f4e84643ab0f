"""Gemini's Interactions API streaming (``POST /v1beta/interactions`` with ``"stream": true``).

The steps schema, which the request pins with ``Api-Revision: 2026-05-20`` (the legacy
``content.*`` events are removed on June 8, 2026:
https://ai.google.dev/gemini-api/docs/interactions-breaking-changes-may-2026). The shapes
are those of the ``google-genai`` SDK's types (``google.genai.interactions``, 3.6) and of
https://ai.google.dev/gemini-api/docs/interactions/streaming. Every event is named,
``event: <type>``, and its JSON repeats the name in ``event_type``; each carries an
opaque ``event_id``:

- ``interaction.created`` (``interaction {id, status, model}``), then
  ``interaction.status_update`` (``interaction_id``, ``status``) as the status moves.
- One step at a time, by ``index``: ``step.start`` (``step {type, ...}``), ``step.delta``
  (``delta {type, ...}``), ``step.stop``. A ``model_output`` step streams ``text`` deltas
  (its start may already hold ``content[]``); a ``thought`` step streams
  ``thought_summary`` deltas (``content {type: text, text}``, a thought summary: streamed
  as reasoning) and ``thought_signature`` deltas (kept on the reasoning block, and on the
  function calls that follow it, to be sent back); a ``function_call`` step
  (``id``, ``name``, ``arguments``) streams ``arguments_delta`` fragments of its JSON
  arguments. Other steps (built-in tools' calls and results) are skipped.
- ``interaction.completed`` ends the stream (the terminal signal): its ``interaction``
  has the ``status`` (``completed``; ``requires_action`` when functions were called;
  ``incomplete``, ``budget_exceeded`` and ``requires_continuation`` are cut short:
  ``length``; ``failed`` is an error) and the ``usage``. Then ``event: done`` with
  ``data: [DONE]``, which is not an event.
- ``usage``: ``total_thought_tokens`` are not inside ``total_output_tokens`` and
  ``total_tool_use_tokens`` are apart from ``total_input_tokens`` (as ``generateContent``
  counts them: :mod:`steer_common.providers.gemini`); ``total_cached_tokens`` are part of
  the input.
- ``error`` (``error {code, message}``): an in-band error, typed by its code.

**Background mode** (``background: true``, the interaction stored): the interaction runs on
the server whoever listens, and ``GET /interactions/{id}?stream=true&last_event_id=<id>``
streams its events again after the event ``<id>``; ``POST /interactions/{id}/cancel``
stops it (:data:`RESUMPTION`). The cursor is the opaque ``event_id`` of the last event
handled: nothing can be compared, so a body picked up again is checked where it starts
(:meth:`GeminiInteractionsAdapter.restarted`): a server that resumes *at* the marked event,
or one that replays from the start, repeats nothing to the consumer. The ``event_id`` is
optional in the SDK's types, and the guide's examples show none: a stream whose events
carry none is picked up from its start, and the cursor is the count of events handled
(the events up to it are skipped).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from steer_common.models.events import (
    REASONING_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    USAGE,
    StreamEvent,
)
from steer_common.parts import read_part, refusal
from steer_common.providers.base import (
    Resumption,
    StreamAdapter,
    ToolCallBuilder,
    WireFormat,
    api_error,
    error_event,
    in_background,
    integer,
    kept_request,
    load_json_object,
    string,
    text_of,
)
from steer_common.providers.gemini import FILE_URIS, TAKES
from steer_common.spec import CallSpec, HTTPRequest, Route, ToolSpec
from steer_common.sse import ServerSentEvent
from steer_common.usage import as_int, make_usage

__all__ = [
    "API_REVISION",
    "FORMAT",
    "PATH",
    "RESUMPTION",
    "GeminiInteractionsAdapter",
    "auth_headers",
    "build_body",
    "cancel",
    "reconnect",
]

#: The API revision the requests pin (the steps schema).
API_REVISION = "2026-05-20"

_CUT_SHORT = {
    "incomplete": "length",
    "budget_exceeded": "length",
    "requires_continuation": "length",
}


class _Step:
    """One step of the interaction as it streams."""

    __slots__ = ("call", "kind", "streamed")

    def __init__(self, kind: str, call: ToolCallBuilder | None = None) -> None:
        self.kind = kind
        self.call = call
        self.streamed = False  # a function call's arguments came as fragments


class GeminiInteractionsAdapter(StreamAdapter):
    """Interactions API events to StreamEvents (see the module docstring)."""

    provider: ClassVar[str] = "gemini"
    terminal_signal: ClassVar[str] = "interaction.completed"

    def __init__(self) -> None:
        super().__init__()
        self._steps: dict[int, _Step] = {}
        self._calls = 0
        self._block = 0  # the reasoning block: a thought step is one
        self._signature: str | None = None  # the last thought's, for the calls after it
        self._first: str | None = None  # the first event id handled
        self._skip_to: str | None = None  # skip events up to this id (a replayed start)
        self._check_start = False  # a body picked up again: look at its first event id
        self._count = 0  # the events handled (the cursor of a stream without event ids)
        self._skip = 0  # events of a replayed start still to skip, by count

    def restarted(self) -> None:
        self._check_start = True
        if type(self.cursor) is int:  # no event ids: picked up from the start, by count
            self._skip = self.cursor

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        data = sse.data
        if self.done or not data or data == "[DONE]":
            return
        event = load_json_object(data, self.provider, "an event")
        kind = event.get("event_type") or sse.event
        event_id = event.get("event_id")
        if type(event_id) is str and event_id:
            if self._check_start:
                self._check_start = False
                if event_id == self.cursor:
                    return  # resumed at the marked event itself: it was handled
                if event_id == self._first and type(self.cursor) is str:
                    self._skip_to = self.cursor  # replayed from the start
            skip_to = self._skip_to
            if skip_to is not None:
                if event_id == skip_to:
                    self._skip_to = None
                return
            if self._first is None:
                self._first = event_id
            self.cursor = event_id
            if self.shown is not None:  # seen by an earlier consumer, up to ``shown``
                if event_id == self.shown:
                    self.shown = None
                out = self.hidden if self.hidden is not None else []
        else:  # no event id: the stream's position is its count of events
            if self._skip_to is not None:
                return
            if self._skip:
                self._skip -= 1
                return
            self._count += 1
            self.cursor = self._count
            shown = self.shown
            if type(shown) is int:
                if self._count >= shown:
                    self.shown = None
                out = self.hidden if self.hidden is not None else []
        if kind == "step.delta":
            self._delta(event, out)
        elif kind == "step.start":
            self._start(event, out)
        elif kind == "step.stop":
            self._stop(event, out)
        elif kind == "interaction.created":
            interaction = event.get("interaction") or {}
            self.response_id = string(interaction.get("id"))
            tier = interaction.get("service_tier")
            out.append(
                StreamEvent(
                    STREAM_START,
                    id=self.response_id,
                    model=string(interaction.get("model")),
                    metadata={"service_tier": tier} if type(tier) is str and tier else None,
                )
            )
        elif kind == "interaction.completed":
            self._completed(event.get("interaction") or {}, out)
        elif kind == "error":
            error = event.get("error")
            self._raise_in_band(error if type(error) is dict else {}, event, out)

    def _start(self, event: dict[str, Any], out: list[StreamEvent]) -> None:
        index = integer(event.get("index"))
        step = event.get("step") or {}
        kind = string(step.get("type")) or ""
        if index is None:
            return
        if kind == "function_call":
            call = ToolCallBuilder(
                self._calls,
                string(step.get("id")),
                string(step.get("name")),
                signature=self._signature,
            )
            self._calls += 1
            self._steps[index] = current = _Step(kind, call)
            out.append(call.start_event())
            arguments = step.get("arguments")
            if type(arguments) is dict and arguments:  # whole in the start: no fragments
                whole = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
                current.streamed = True
                out.append(call.delta_event(whole))
            return
        self._steps[index] = _Step(kind)
        if kind == "model_output":
            for item in step.get("content") or ():
                if type(item) is dict and item.get("type") == "text":
                    text = item.get("text")
                    if text and type(text) is str:
                        out.append(StreamEvent(TEXT_DELTA, text))
        elif kind == "thought":
            for item in step.get("summary") or ():
                if type(item) is dict and item.get("type") == "text":
                    text = item.get("text")
                    if text and type(text) is str:
                        out.append(StreamEvent(REASONING_DELTA, text, self._block))
            self._signed(string(step.get("signature")), out)

    def _delta(self, event: dict[str, Any], out: list[StreamEvent]) -> None:
        delta = event.get("delta") or {}
        kind = delta.get("type")
        if kind == "text":
            text = delta.get("text")
            if text and type(text) is str:
                out.append(StreamEvent(TEXT_DELTA, text))
        elif kind == "thought_summary":
            content = delta.get("content") or {}
            text = content.get("text") if type(content) is dict else None
            if text and type(text) is str:
                out.append(StreamEvent(REASONING_DELTA, text, self._block))
        elif kind == "arguments_delta":
            step = self._steps.get(integer(event.get("index")) or 0)
            fragment = delta.get("arguments")
            call = step.call if step is not None else None
            if call is not None and not call.done and fragment and type(fragment) is str:
                step.streamed = True  # type: ignore[union-attr]  # a call is a step's
                out.append(call.delta_event(fragment))
        elif kind == "thought_signature":
            self._signed(string(delta.get("signature")), out)

    def _signed(self, signature: str | None, out: list[StreamEvent]) -> None:
        if signature:
            self._signature = signature
            out.append(
                StreamEvent(REASONING_DELTA, "", self._block, metadata={"signature": signature})
            )

    def _stop(self, event: dict[str, Any], out: list[StreamEvent]) -> None:
        step = self._steps.get(integer(event.get("index")) or 0)
        if step is None:
            return
        if step.call is not None and not step.call.done:
            if not step.streamed:
                out.append(step.call.delta_event("{}"))  # a call with no parameters
            out.append(step.call.end_event())
        elif step.kind == "thought":
            self._block += 1

    def _completed(self, interaction: dict[str, Any], out: list[StreamEvent]) -> None:
        status = string(interaction.get("status")) or "completed"
        if status == "failed":
            errors = interaction.get("errors")
            error = errors[0] if type(errors) is list and errors and type(errors[0]) is dict else {}
            self._raise_in_band(error, interaction, out)
        out.extend(
            step.call.end_event()
            for step in self._steps.values()
            if step.call is not None and not step.call.done
        )
        usage = interaction.get("usage")
        if usage and type(usage) is dict:
            out.append(StreamEvent(USAGE, usage=self.normalize_usage(usage)))
        finish = _CUT_SHORT.get(status) or ("tool_calls" if self._calls else "stop")
        self.done = True
        out.append(
            StreamEvent(STREAM_END, finish_reason=finish, metadata={"native_finish_reason": status})
        )

    def _raise_in_band(
        self, error: dict[str, Any], payload: dict[str, Any], out: list[StreamEvent]
    ) -> None:
        message = str(error.get("message") or "the interaction failed")
        code = error.get("code")
        code = str(code) if code is not None else None
        # The code is documented as "a URI that identifies the error type": its last
        # segment is the type (a gRPC status name, as Google's HTTP errors carry).
        error_type = code.rstrip("/").rpartition("/")[2] if code else None
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
        """Interactions arithmetic: thoughts outside the output, tool-use prompt apart."""
        thoughts = raw.get("total_thought_tokens")
        return make_usage(
            as_int(raw.get("total_input_tokens")) + as_int(raw.get("total_tool_use_tokens")),
            as_int(raw.get("total_output_tokens")) + as_int(thoughts),
            cached_tokens=as_int(raw.get("total_cached_tokens")),
            reasoning_tokens=as_int(thoughts) if thoughts is not None else None,
            raw=raw,
        )


# -- request building ----------------------------------------------------------------------

PATH = "/interactions"


def auth_headers(api_key: str) -> dict[str, str]:
    """``x-goog-api-key``, and ``Api-Revision`` (the schema the adapter reads)."""
    headers = {"api-revision": API_REVISION}
    if api_key:
        headers["x-goog-api-key"] = api_key
    return headers


def build_body(call: CallSpec, route: Route) -> dict[str, Any]:
    """The ``interactions.create`` body: the conversation as ``input`` steps
    (``user_input`` and ``model_output`` with ``content[]``, an assistant's calls as
    ``function_call`` steps after the ``thought`` step that signed them, ``tool`` messages as
    ``function_result`` steps), system messages as ``system_instruction``, tools as
    ``function`` tools, the sampling settings in ``generation_config``, JSON mode as the
    polymorphic ``response_format`` (``{type: text, mime_type: application/json, schema}``)."""
    steps: list[dict[str, Any]] = []
    system: list[str] = []
    names: dict[str, str] = {}  # call id -> function name, for the results
    for message in call.messages:
        role = message.get("role")
        content = message.get("content")
        if role is None:
            steps.append(dict(message))  # already an Interactions step
        elif role in ("system", "developer"):
            system.append(text_of(content))
        elif role == "assistant":
            parts = _content(content)
            if parts:
                steps.append({"type": "model_output", "content": parts})
            for tool_call in message.get("tool_calls") or []:
                function = tool_call.get("function") or {}
                call_id = str(tool_call.get("id"))
                names[call_id] = str(function.get("name"))
                try:
                    arguments = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                signature = tool_call.get("thought_signature")
                if signature:
                    steps.append({"type": "thought", "signature": signature})
                steps.append(
                    {
                        "type": "function_call",
                        "id": call_id,
                        "name": function.get("name"),
                        "arguments": arguments if isinstance(arguments, dict) else {},
                    }
                )
        elif role == "tool":
            call_id = str(message.get("tool_call_id"))
            steps.append(
                {
                    "type": "function_result",
                    "call_id": call_id,
                    "name": names.get(call_id, "tool"),
                    "result": text_of(content),
                }
            )
        else:
            steps.append({"type": "user_input", "content": _content(content) or [_text("")]})
    body: dict[str, Any] = {"model": route.model, "input": steps}
    if system:
        body["system_instruction"] = "\n\n".join(system)
    if call.tools:
        body["tools"] = [_tool(t) for t in call.tools]
    config: dict[str, Any] = {}
    if call.temperature is not None:
        config["temperature"] = call.temperature
    if call.max_tokens is not None:
        config["max_output_tokens"] = call.max_tokens
    if call.stop:
        config["stop_sequences"] = call.stop
    if config:
        body["generation_config"] = config
    fmt = call.response_format
    if fmt is not None:
        response_format: dict[str, Any] = {"type": "text", "mime_type": "application/json"}
        if fmt.kind == "json_schema" and fmt.schema is not None:
            response_format["schema"] = fmt.schema
        body["response_format"] = response_format
    return body


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


_KINDS = {"image": "image", "audio": "audio", "file": "document"}


def _content(content: Any) -> list[dict[str, Any]]:
    """A message's content as Interactions content: text, bytes as ``data`` and
    ``mime_type`` (an image, audio, a PDF given as a data URL), a Files API or ``gs://``
    URI as ``uri``; anything else is refused (:mod:`steer_common.parts`), never dropped."""
    if isinstance(content, str):
        return [_text(content)] if content else []
    parts: list[dict[str, Any]] = []
    for block in content or []:
        part = read_part(block)
        if part.kind == "text":
            parts.append(_text(part.text or ""))
        elif part.kind in _KINDS and part.data and part.media_type:
            parts.append(
                {"type": _KINDS[part.kind], "data": part.data, "mime_type": part.media_type}
            )
        elif part.kind in _KINDS and part.url and part.url.startswith(FILE_URIS):
            item: dict[str, Any] = {"type": _KINDS[part.kind], "uri": part.url}
            if part.media_type:
                item["mime_type"] = part.media_type
            parts.append(item)
        else:
            raise refusal(part, "gemini (Interactions)", TAKES)
    return parts


def _tool(tool: ToolSpec) -> dict[str, Any]:
    if tool.raw is not None:
        return dict(tool.raw)
    out: dict[str, Any] = {"type": "function", "name": tool.name, "parameters": tool.parameters}
    if tool.description:
        out["description"] = tool.description
    return out


# -- background mode -----------------------------------------------------------------------


def reconnect(request: HTTPRequest, response_id: str, after: int | str | None) -> HTTPRequest:
    """``GET /interactions/{id}?stream=true[&last_event_id=<id>]`` for the request that
    began it."""
    last = after if type(after) is str else None  # a count (no event ids): from the start
    return kept_request(request, response_id, "GET", "", {"stream": "true", "last_event_id": last})


def cancel(request: HTTPRequest, response_id: str) -> HTTPRequest:
    """``POST /interactions/{id}/cancel`` for the request that began it."""
    return kept_request(request, response_id, "POST", "/cancel")


#: How a background interaction's stream is picked up again (see the module docstring).
RESUMPTION = Resumption(kept=in_background, reconnect=reconnect, cancel=cancel)


FORMAT = WireFormat(
    name="gemini_interactions",
    title="Google Gemini Interactions API",
    provider="gemini",
    api="interactions",
    adapter=GeminiInteractionsAdapter,
    path=PATH,
    build_body=build_body,
    auth_headers=auth_headers,
    auth="`x-goog-api-key` + `Api-Revision: 2026-05-20`",
    usage="thoughts are reported outside `total_output_tokens`: added in; `total_tool_use_tokens` added to the prompt",
    key_headers=("x-goog-api-key", "authorization"),
    keepalive=b"",  # none is documented
    resumption=RESUMPTION,
)
