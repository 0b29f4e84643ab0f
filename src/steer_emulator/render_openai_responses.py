"""Render a script as an OpenAI Responses API stream (``POST /v1/responses``).

The shapes copy ``openai/responses-text``, ``openai/responses-parallel-function-calls``,
``openai/responses-reasoning-summary-text`` and ``openai/responses-error-insufficient-quota``
(research/wire-formats.md section 3): every event named, its JSON repeating the name in
``type`` and ending with a contiguous ``sequence_number``; ``response.created`` and
``response.in_progress``; then per output item, in ``output_index`` order:

- a ``reasoning`` item (``rs_...``) with one summary part streamed as
  ``response.reasoning_summary_text.delta``;
- a ``message`` item (``msg_...``) with one ``output_text`` part streamed as
  ``response.output_text.delta``;
- one ``function_call`` item per call (``fc_...``, its ``call_id`` ``call_...``) streamed as
  ``response.function_call_arguments.delta`` and repeated whole in ``...arguments.done``;

and finally ``response.completed`` (``response.incomplete`` with
``incomplete_details.reason`` for ``length`` and ``content_filter``) holding the whole
``output`` and the usage (cached inside ``input_tokens``, reasoning inside
``output_tokens``). An injected error is an ``error`` event with the nested payload the
real insufficient-quota stream has, then ``response.failed``.
"""

from __future__ import annotations

from typing import Any

from steer_emulator._wire import Ids, cut, dumps, frame
from steer_emulator.error_bodies import OPENAI_IN_BAND
from steer_emulator.script import ScriptedReply, split_text

__all__ = ["render"]

_DEFAULT_MODEL = "gpt-4o-mini-2024-07-18"
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def render(reply: ScriptedReply, wire_format: str = "openai_responses") -> list[bytes]:
    """The Responses API body for ``reply``, one element per SSE event.

    Args:
        reply: what to send.
        wire_format: ``openai_responses`` (the only one this renderer speaks).

    Raises:
        ValueError: another wire format.
    """
    if wire_format != "openai_responses":
        raise ValueError(f"the Responses renderer does not speak {wire_format!r}")
    return _ResponsesStream(reply).events()


class _ResponsesStream:
    """One reply's events; ``sequence_number`` is added as the events are framed."""

    def __init__(self, reply: ScriptedReply) -> None:
        self.reply = reply
        self.ids = Ids(reply, "openai_responses")
        self.id = "resp_" + self.ids.hex(50)
        self.model = reply.model or _DEFAULT_MODEL
        self.out: list[tuple[str, dict[str, Any]]] = []
        self.output: list[dict[str, Any]] = []

    def emit(self, kind: str, **fields: Any) -> None:
        self.out.append((kind, fields))

    def events(self) -> list[bytes]:
        reply = self.reply
        self.emit("response.created", response=self._response("in_progress"))
        self.emit("response.in_progress", response=self._response("in_progress"))
        if not reply.error_before_content:
            if reply.reasoning:
                self._reasoning_item()
            if reply.text:
                self._message_item()
        if reply.in_band_error:
            self._error()
            events = self._framed()
            return cut(events, len(events), reply)
        for call in reply.tool_calls:
            self._function_call_item(call.id, call.name, reply.arguments_json(call, compact=True))
        finish = reply.finish
        if finish in _INCOMPLETE:
            response = self._response("incomplete", output=self.output, usage=self._usage())
            response["incomplete_details"] = {"reason": _INCOMPLETE[finish]}
            self.emit("response.incomplete", response=response)
        else:
            response = self._response("completed", output=self.output, usage=self._usage())
            self.emit("response.completed", response=response)
        events = self._framed()
        return cut(events, len(events) - 1, reply)

    def _framed(self) -> list[bytes]:
        return [
            frame(dumps({"type": kind, **fields, "sequence_number": n}), kind)
            for n, (kind, fields) in enumerate(self.out)
        ]

    def _reasoning_item(self) -> None:
        index = len(self.output)
        item_id = "rs_" + self.ids.hex(50)
        text = self.reply.reasoning
        where = {"item_id": item_id, "output_index": index}
        self.emit(
            "response.output_item.added",
            item={"id": item_id, "type": "reasoning", "summary": []},
            output_index=index,
        )
        self.emit(
            "response.reasoning_summary_part.added",
            **where,
            part={"type": "summary_text", "text": ""},
            summary_index=0,
        )
        for piece in self.reply.reasoning_deltas():
            self.emit(
                "response.reasoning_summary_text.delta", delta=piece, **where, summary_index=0
            )
        self.emit("response.reasoning_summary_text.done", **where, summary_index=0, text=text)
        part = {"type": "summary_text", "text": text}
        self.emit("response.reasoning_summary_part.done", **where, part=part, summary_index=0)
        item = {"id": item_id, "type": "reasoning", "summary": [part]}
        self.emit("response.output_item.done", item=item, output_index=index)
        self.output.append(item)

    def _message_item(self) -> None:
        reply = self.reply
        index = len(self.output)
        item_id = "msg_" + self.ids.hex(50)
        where = {"content_index": 0, "item_id": item_id, "output_index": index}
        opening = {
            "id": item_id,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        self.emit("response.output_item.added", item=opening, output_index=index)
        empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        self.emit("response.content_part.added", **where, part=empty)
        for piece in reply.streamed_text_deltas():
            self.emit(
                "response.output_text.delta",
                content_index=0,
                delta=piece,
                item_id=item_id,
                logprobs=[],
                output_index=index,
            )
        if reply.in_band_error:
            return
        self.emit("response.output_text.done", **where, logprobs=[], text=reply.text)
        part = {**empty, "text": reply.text}
        self.emit("response.content_part.done", **where, part=part)
        status = "incomplete" if reply.finish in _INCOMPLETE else "completed"
        item = {
            "id": item_id,
            "type": "message",
            "status": status,
            "content": [part],
            "role": "assistant",
        }
        self.emit("response.output_item.done", item=item, output_index=index)
        self.output.append(item)

    def _function_call_item(self, call_id: str | None, name: str, arguments: str) -> None:
        index = len(self.output)
        item_id = "fc_" + self.ids.hex(50)
        call_id = call_id or "call_" + self.ids.alnum(24)
        opening = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call_id,
            "name": name,
        }
        self.emit("response.output_item.added", item=opening, output_index=index)
        for piece in split_text(arguments, self.reply.chunk_chars):
            self.emit(
                "response.function_call_arguments.delta",
                delta=piece,
                item_id=item_id,
                output_index=index,
            )
        self.emit(
            "response.function_call_arguments.done",
            arguments=arguments,
            item_id=item_id,
            output_index=index,
        )
        item = {**opening, "status": "completed", "arguments": arguments}
        self.emit("response.output_item.done", item=item, output_index=index)
        self.output.append(item)

    def _error(self) -> None:
        reply = self.reply
        default_type, default_message = OPENAI_IN_BAND
        kind = reply.error_type or default_type
        message = reply.error_message or default_message
        self.emit("error", error={"type": kind, "code": kind, "message": message, "param": None})
        failed = self._response("failed")
        failed["error"] = {"code": kind, "message": message}
        self.emit("response.failed", response=failed)

    def _usage(self) -> dict[str, Any]:
        prompt, completion, cached, reasoning = self.reply.usage()
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + completion,
        }

    def _response(
        self,
        status: str,
        *,
        output: list[dict[str, Any]] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        created = self.reply.created
        return {
            "id": self.id,
            "object": "response",
            "created_at": created,
            "status": status,
            "background": False,
            "completed_at": created + 1 if status == "completed" else None,
            "error": None,
            "incomplete_details": None,
            "instructions": None,
            "max_output_tokens": None,
            "max_tool_calls": None,
            "model": self.model,
            "output": list(output or []),
            "parallel_tool_calls": True,
            "previous_response_id": None,
            "prompt_cache_key": None,
            "reasoning": {"effort": None, "summary": None},
            "safety_identifier": None,
            "service_tier": "default" if status == "completed" else "auto",
            "store": False,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "tool_choice": "auto",
            "tools": [],
            "top_logprobs": 0,
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": usage,
            "user": None,
            "metadata": {},
        }
