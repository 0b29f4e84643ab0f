"""Render a script as an Anthropic Messages stream (``POST /v1/messages``).

The shapes copy ``anthropic/text``, ``anthropic/thinking-tool-use``,
``anthropic/tool-use-parallel`` and ``anthropic/mid-stream-overloaded-error``
(research/wire-formats.md section 4): ``event: <type>`` lines, the JSON padded with a
run of spaces before its closing brace (of varying length, as the API does), ``ping``
written ``{"type": "ping"}`` after the first block opens, and

``message_start`` (usage with the input counts and a placeholder ``output_tokens``) ->
a ``thinking`` block (``thinking_delta``\\*, then one ``signature_delta``) -> a ``text``
block (``text_delta``\\*) -> one ``tool_use`` block per call (``toolu_...``, input as
``input_json_delta`` pieces, the first one empty) -> ``message_delta`` (``stop_reason``
and the cumulative usage) -> ``message_stop``.

Blocks are numbered from 0 in order (the official SDK indexes its snapshot by them).
``input_tokens`` leaves cache reads out (``cache_read_input_tokens``). An injected error
is ``event: error`` with ``overloaded_error``, after which the body ends: no
``message_delta``, no ``message_stop``.
"""

from __future__ import annotations

from typing import Any

from steer_emulator._wire import Ids, cut, dumps, frame
from steer_emulator.error_bodies import ANTHROPIC_IN_BAND
from steer_emulator.script import ScriptedReply, split_text

__all__ = ["render"]

_DEFAULT_MODEL = "claude-sonnet-4-20250514"
_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "refusal",
}
_PING = b'event: ping\ndata: {"type": "ping"}\n\n'


def render(reply: ScriptedReply) -> list[bytes]:
    """The Messages API body for ``reply``, one element per SSE event."""
    return _MessagesStream(reply).events()


class _MessagesStream:
    """One reply's events."""

    def __init__(self, reply: ScriptedReply) -> None:
        self.reply = reply
        self.ids = Ids(reply, "anthropic")
        self.out: list[bytes] = []
        self.block = 0

    def emit(self, kind: str, payload: dict[str, Any]) -> None:
        text = dumps({"type": kind, **payload})
        # Insignificant whitespace before the last brace, as the API pads its events.
        pad = " " * ((len(self.out) * 7) % 17)
        self.out.append(frame(text[:-1] + pad + "}", kind))

    def events(self) -> list[bytes]:
        reply = self.reply
        prompt, completion, cached, reasoning_tokens = reply.usage()
        written = reply.cache_write_tokens
        usage_start = {
            "input_tokens": prompt - cached - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": cached,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": 1,
            "service_tier": "standard",
        }
        message: dict[str, Any] = {
            "model": reply.model or _DEFAULT_MODEL,
            "id": "msg_01" + self.ids.alnum(22),
            "type": "message",
            "role": "assistant",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage_start,
        }
        self.emit("message_start", {"message": message})
        if reply.error_before_content:
            return self._error()
        if reply.reasoning:
            self._thinking_block()
        if reply.text or reply.error_after_chars is not None:
            self._open({"type": "text", "text": ""})
            for piece in reply.streamed_text_deltas():
                self._delta({"type": "text_delta", "text": piece})
            if reply.in_band_error:
                return self._error()
            self._close()
        for call in reply.tool_calls:
            call_id = call.id or "toolu_01" + self.ids.alnum(22)
            self._open({"type": "tool_use", "id": call_id, "name": call.name, "input": {}})
            self._delta({"type": "input_json_delta", "partial_json": ""})
            arguments = reply.arguments_json(call, compact=False)
            for piece in split_text(arguments, reply.chunk_chars):
                self._delta({"type": "input_json_delta", "partial_json": piece})
            self._close()
        final_usage: dict[str, Any] = {
            "input_tokens": prompt - cached - written,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": cached,
            "output_tokens": completion,
        }
        if reasoning_tokens:
            # Newer message_delta usage reports thinking tokens here (wire-formats.md §6).
            final_usage["output_tokens_details"] = {"thinking_tokens": reasoning_tokens}
        stop = {"stop_reason": _STOP[reply.finish], "stop_sequence": None}
        self.emit("message_delta", {"delta": stop, "usage": final_usage})
        self.emit("message_stop", {})
        return cut(self.out, len(self.out) - 1, reply)

    def _thinking_block(self) -> None:
        self._open({"type": "thinking", "thinking": "", "signature": ""})
        for piece in self.reply.reasoning_deltas():
            self._delta({"type": "thinking_delta", "thinking": piece})
        self._delta({"type": "signature_delta", "signature": self.ids.b64(96)})
        self._close()

    def _open(self, block: dict[str, Any]) -> None:
        self.emit("content_block_start", {"index": self.block, "content_block": block})
        if self.block == 0:
            self.out.append(_PING)

    def _delta(self, delta: dict[str, Any]) -> None:
        self.emit("content_block_delta", {"index": self.block, "delta": delta})

    def _close(self) -> None:
        self.emit("content_block_stop", {"index": self.block})
        self.block += 1

    def _error(self) -> list[bytes]:
        reply = self.reply
        default_type, default_message = ANTHROPIC_IN_BAND
        error = {
            "details": None,
            "type": reply.error_type or default_type,
            "message": reply.error_message or default_message,
        }
        self.out.append(
            frame(
                dumps(
                    {"type": "error", "error": error, "request_id": "req_011C" + self.ids.alnum(20)}
                ),
                "error",
            )
        )
        return cut(self.out, len(self.out), reply)
