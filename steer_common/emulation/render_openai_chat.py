"""Render a script as a Chat Completions stream: OpenAI, xAI and OpenAI-compatible dialects.

The shapes copy the recordings in ``tests/fixtures/sse/`` (research/wire-formats.md
sections 2 and 5):

- **openai** (``openai/chat-text-include-usage``, ``openai/chat-parallel-tool-calls``):
  ``chatcmpl-`` ids, ``service_tier`` and ``system_fingerprint`` on every chunk, a
  role-only first chunk (``content: ""`` and ``refusal: null``; ``content: null`` when
  only tools follow), tool calls opened with ``id``/``type``/``name`` and ``arguments: ""``
  then argument fragments, a ``delta: {}`` chunk with the ``finish_reason``, with
  ``include_usage`` a ``"usage": null`` on every chunk and one usage chunk with
  ``choices: []``, then ``data: [DONE]``. Reasoning text is never streamed (only its
  token count).
- **xai** (``xai/grok-3-mini-reasoning-text-short``, ``xai/grok-4-fast-parallel-tool-calls``):
  UUID ids, no ``finish_reason``/``logprobs`` keys until the last choice chunk, the role
  riding on the first delta, ``reasoning_content`` deltas before the text, each tool call
  whole in one fragment (``call_<8 digits>``), and ``completion_tokens`` that *exclude*
  the reasoning tokens (``total = prompt + completion + reasoning``).
- **openai_compatible** (OpenRouter, ``compat/openrouter-*``): ``gen-`` ids, a
  ``provider`` field, ``native_finish_reason``, reasoning as ``delta.reasoning``, usage in
  OpenAI's arithmetic; an in-band error rides on a chunk that still has ``choices`` and is
  followed by ``[DONE]``.

In-band errors: OpenAI and xAI send ``data: {"error": {...}}`` and end the body.
"""

from __future__ import annotations

from typing import Any

from steer_common.emulation._wire import Ids, cut, dumps, frame
from steer_common.emulation.error_bodies import in_band_defaults
from steer_common.emulation.script import ScriptedCall, ScriptedReply, split_text

__all__ = ["DIALECTS", "render"]

#: The wire formats this renderer speaks.
DIALECTS = ("openai", "xai", "openai_compatible")

_DEFAULT_MODEL = {
    "openai": "gpt-4o-mini-2024-07-18",
    "xai": "grok-3-mini",
    "openai_compatible": "emulator/chat-model",
}
_REASONING_FIELD = {"xai": "reasoning_content", "openai_compatible": "reasoning"}
_DONE = b"data: [DONE]\n\n"


def render(reply: ScriptedReply, wire_format: str = "openai") -> list[bytes]:
    """The Chat Completions body for ``reply``, one element per SSE event.

    Args:
        reply: what to send.
        wire_format: ``openai``, ``xai`` or ``openai_compatible``.

    Raises:
        ValueError: another wire format.
    """
    if wire_format not in DIALECTS:
        raise ValueError(f"the Chat Completions renderer does not speak {wire_format!r}")
    return _ChatStream(reply, wire_format).events()


class _ChatStream:
    """One reply's chunks in one dialect."""

    def __init__(self, reply: ScriptedReply, dialect: str) -> None:
        self.reply = reply
        self.dialect = dialect
        self.ids = Ids(reply, dialect)
        if dialect == "xai":
            self.id = self.ids.uuid()
        elif dialect == "openai_compatible":
            self.id = f"gen-{reply.created}-{self.ids.alnum(20)}"
        else:
            self.id = "chatcmpl-" + self.ids.alnum(29)
        self.fingerprint = "fp_" + self.ids.hex(10)
        self.model = reply.model or _DEFAULT_MODEL[dialect]
        self.include_usage = reply.include_usage is not False

    def events(self) -> list[bytes]:
        reply = self.reply
        deltas = self._deltas()
        if self.dialect == "xai":
            first = deltas[0] if deltas else {"content": ""}
            # The role rides on the first delta; xAI puts it first only before tool calls.
            role = (
                {"role": "assistant", **first}
                if "tool_calls" in first
                else {**first, "role": "assistant"}
            )
            deltas = [role, *deltas[1:]]
        else:
            content = "" if reply.text or not reply.tool_calls or reply.in_band_error else None
            role = {"role": "assistant", "content": content}
            if self.dialect == "openai" and content is not None:
                role["refusal"] = None
            deltas = [role, *deltas]
        events = [self._chunk([self._choice(d)]) for d in deltas]
        if reply.in_band_error:
            events.append(self._error())
            if self.dialect == "openai_compatible":
                events.append(_DONE)
            return cut(events, len(events), reply)
        terminal_at = len(events)
        events.append(self._chunk([self._choice({}, reply.finish)]))
        if self.include_usage:
            events.append(self._chunk([], usage=self._usage()))
        events.append(_DONE)
        return cut(events, terminal_at, reply)

    def _deltas(self) -> list[dict[str, Any]]:
        reply = self.reply
        out: list[dict[str, Any]] = []
        field = _REASONING_FIELD.get(self.dialect)
        if field is not None and not reply.error_before_content:
            out.extend({field: piece} for piece in reply.reasoning_deltas())
        out.extend({"content": piece} for piece in reply.streamed_text_deltas())
        if not reply.in_band_error:
            for index, call in enumerate(reply.tool_calls):
                out.extend(self._call_deltas(index, call))
        return out

    def _call_deltas(self, index: int, call: ScriptedCall) -> list[dict[str, Any]]:
        if self.dialect == "xai":
            arguments = self.reply.arguments_json(call, compact=True)
            fragment = {
                "id": call.id or "call_" + self.ids.digits(8),
                "function": {"name": call.name, "arguments": arguments},
                "index": index,
                "type": "function",
            }
            return [{"tool_calls": [fragment]}]
        arguments = self.reply.arguments_json(call, compact=False)
        opening = {
            "index": index,
            "id": call.id or "call_" + self.ids.alnum(24),
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        out: list[dict[str, Any]] = [{"tool_calls": [opening]}]
        out.extend(
            {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            for piece in split_text(arguments, self.reply.chunk_chars)
        )
        return out

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if self.dialect == "xai":
            choice: dict[str, Any] = {"index": 0, "delta": delta}
            if finish is not None:
                choice["finish_reason"] = finish
            return choice
        if self.dialect == "openai_compatible":
            return {
                "index": 0,
                "delta": delta,
                "finish_reason": finish,
                "native_finish_reason": finish,
                "logprobs": None,
            }
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        head: dict[str, Any] = {"id": self.id}
        if self.dialect == "openai_compatible":
            head["provider"] = "Emulator"
        head.update(
            {
                "object": "chat.completion.chunk",
                "created": self.reply.created,
                "model": self.model,
            }
        )
        if self.dialect == "openai":
            head["service_tier"] = "default"
            head["system_fingerprint"] = self.fingerprint
        head["choices"] = choices
        if usage is not None:
            head["usage"] = usage
        elif self.dialect == "openai" and self.include_usage:
            head["usage"] = None  # every chunk says so when usage was asked for
        if self.dialect == "xai":
            head["system_fingerprint"] = self.fingerprint
        return frame(dumps(head))

    def _usage(self) -> dict[str, Any]:
        prompt, completion, cached, reasoning = self.reply.usage()
        if self.dialect == "xai":
            # xAI leaves reasoning out of completion_tokens; the total still counts it.
            return {
                "prompt_tokens": prompt,
                "completion_tokens": completion - reasoning,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {
                    "text_tokens": prompt,
                    "audio_tokens": 0,
                    "image_tokens": 0,
                    "cached_tokens": cached,
                },
                "completion_tokens_details": _completion_details(reasoning),
                "num_sources_used": 0,
                "cost_in_usd_ticks": 0,
            }
        usage: dict[str, Any] = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": _completion_details(reasoning),
        }
        if self.dialect == "openai_compatible":
            usage["cost"] = 0
            usage["is_byok"] = False
        return usage

    def _error(self) -> bytes:
        reply = self.reply
        default_type, default_message = in_band_defaults(self.dialect)
        message = reply.error_message or default_message
        error_type = reply.error_type or default_type
        if self.dialect == "openai_compatible":
            # OpenRouter: the error rides on a chunk (a numeric code), [DONE] follows.
            head = {
                "id": self.id,
                "provider": "Emulator",
                "error": {"code": 502, "message": message},
                "model": self.model,
                "object": "chat.completion.chunk",
                "created": reply.created,
                "choices": [self._choice({"content": ""}, "error")],
            }
            return frame(dumps(head))
        return frame(
            dumps({"error": {"message": message, "type": error_type, "param": None, "code": None}})
        )


def _completion_details(reasoning: int) -> dict[str, int]:
    return {
        "reasoning_tokens": reasoning,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
