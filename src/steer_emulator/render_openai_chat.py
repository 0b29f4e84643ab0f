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

from steer_emulator._wire import Ids, cut, dumps, frame
from steer_emulator.error_bodies import OPENAI_IN_BAND
from steer_emulator.script import ScriptedCall, ScriptedReply, split_text

__all__ = ["render_compat", "render_openai", "render_xai"]

_DONE = b"data: [DONE]\n\n"


def render_openai(reply: ScriptedReply) -> list[bytes]:
    """OpenAI's Chat Completions body for ``reply``, one element per SSE event."""
    return _OpenAIStream(reply).events()


def render_xai(reply: ScriptedReply) -> list[bytes]:
    """xAI's dialect of it."""
    return _XAIStream(reply).events()


def render_azure(reply: ScriptedReply) -> list[bytes]:
    """Azure OpenAI's: OpenAI's chunks after a first one of prompt filter results, and
    each choice's content filter results."""
    return _AzureStream(reply).events()


def render_compat(reply: ScriptedReply) -> list[bytes]:
    """An OpenAI-compatible server's (OpenRouter's) dialect of it."""
    return _CompatStream(reply).events()


class _ChatStream:
    """One reply's chunks; each dialect overrides what it does differently."""

    seed = "openai"  # the ids of a dialect differ even for the same reply
    default_model = "gpt-4o-mini-2024-07-18"
    reasoning_field: str | None = None  # where reasoning text streams (None: it does not)

    def __init__(self, reply: ScriptedReply) -> None:
        self.reply = reply
        self.ids = Ids(reply, self.seed)
        self.id = self.new_id()
        self.fingerprint = "fp_" + self.ids.hex(10)
        self.model = reply.model or self.default_model
        self.include_usage = reply.include_usage is not False

    def new_id(self) -> str:
        return "chatcmpl-" + self.ids.alnum(29)

    def events(self) -> list[bytes]:
        reply = self.reply
        events = self.preamble()
        events += [self._chunk([self._choice(d)]) for d in self.with_role(self._deltas())]
        if reply.in_band_error:
            events.extend(self.error_events())
            return cut(events, len(events), reply)
        terminal_at = len(events)
        events.append(self._chunk([self._choice({}, reply.finish)]))
        if self.include_usage:
            events.append(self._chunk([], usage=self.usage()))
        events.append(_DONE)
        return cut(events, terminal_at, reply)

    def preamble(self) -> list[bytes]:
        """What comes before the first choice (Azure's prompt filter results)."""
        return []

    def with_role(self, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A role-only first delta (``content: null`` when only tools follow)."""
        reply = self.reply
        content = "" if reply.text or not reply.tool_calls or reply.in_band_error else None
        return [{"role": "assistant", "content": content}, *deltas]

    def _deltas(self) -> list[dict[str, Any]]:
        reply = self.reply
        out: list[dict[str, Any]] = []
        field = self.reasoning_field
        if field is not None and not reply.error_before_content:
            out.extend({field: piece} for piece in reply.reasoning_deltas())
        out.extend({"content": piece} for piece in reply.streamed_text_deltas())
        if not reply.in_band_error:
            for index, call in enumerate(reply.tool_calls):
                out.extend(self.call_deltas(index, call))
        return out

    def call_deltas(self, index: int, call: ScriptedCall) -> list[dict[str, Any]]:
        """A call opened with its id, type and name, then its argument fragments."""
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
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def head(self) -> dict[str, Any]:
        return {"id": self.id}

    def _chunk(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        head = self.head()
        head.update(
            {"object": "chat.completion.chunk", "created": self.reply.created, "model": self.model}
        )
        self.before_choices(head)
        head["choices"] = choices
        if usage is not None:
            head["usage"] = usage
        self.after_choices(head, usage)
        return frame(dumps(head))

    def before_choices(self, head: dict[str, Any]) -> None:
        pass

    def after_choices(self, head: dict[str, Any], usage: dict[str, Any] | None) -> None:
        pass

    def usage(self) -> dict[str, Any]:
        prompt, completion, cached, reasoning = self.reply.usage()
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": _completion_details(reasoning),
        }

    def error_events(self) -> list[bytes]:
        """An in-band error: ``data: {"error": {...}}``, and the body ends."""
        reply = self.reply
        default_type, default_message = OPENAI_IN_BAND
        error = {
            "message": reply.error_message or default_message,
            "type": reply.error_type or default_type,
            "param": None,
            "code": None,
        }
        return [frame(dumps({"error": error}))]


class _OpenAIStream(_ChatStream):
    """OpenAI: ``service_tier`` and ``system_fingerprint`` on every chunk, ``refusal:
    null`` with the role, ``"usage": null`` on every chunk when usage was asked for."""

    def with_role(self, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = super().with_role(deltas)
        if out[0]["content"] is not None:
            out[0]["refusal"] = None
        return out

    def before_choices(self, head: dict[str, Any]) -> None:
        head["service_tier"] = "default"
        head["system_fingerprint"] = self.fingerprint

    def after_choices(self, head: dict[str, Any], usage: dict[str, Any] | None) -> None:
        if usage is None and self.include_usage:
            head["usage"] = None  # every chunk says so when usage was asked for


class _XAIStream(_ChatStream):
    """xAI: UUID ids, the role riding on the first delta, keys only when set, each call
    whole in one fragment, reasoning left out of ``completion_tokens``."""

    seed = "xai"
    default_model = "grok-3-mini"
    reasoning_field = "reasoning_content"

    def new_id(self) -> str:
        return self.ids.uuid()

    def with_role(self, deltas: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first = deltas[0] if deltas else {"content": ""}
        # The role rides on the first delta; xAI puts it first only before tool calls.
        role = (
            {"role": "assistant", **first}
            if "tool_calls" in first
            else {**first, "role": "assistant"}
        )
        return [role, *deltas[1:]]

    def call_deltas(self, index: int, call: ScriptedCall) -> list[dict[str, Any]]:
        fragment = {
            "id": call.id or "call_" + self.ids.digits(8),
            "function": {
                "name": call.name,
                "arguments": self.reply.arguments_json(call, compact=True),
            },
            "index": index,
            "type": "function",
        }
        return [{"tool_calls": [fragment]}]

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice: dict[str, Any] = {"index": 0, "delta": delta}
        if finish is not None:
            choice["finish_reason"] = finish
        return choice

    def after_choices(self, head: dict[str, Any], usage: dict[str, Any] | None) -> None:
        head["system_fingerprint"] = self.fingerprint

    def usage(self) -> dict[str, Any]:
        prompt, completion, cached, reasoning = self.reply.usage()
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


#: Azure's default filter: every category checked, nothing filtered.
AZURE_FILTERS = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}


class _AzureStream(_ChatStream):
    """Azure OpenAI (research/wire-formats-more.md section 2): a first chunk with empty
    ``id``/``model``, ``choices: []`` and ``prompt_filter_results``; ``content_filter_results``
    on every choice; the usage chunk with ``choices: []``; ``[DONE]``."""

    seed = "azure"
    default_model = "gpt-4o-mini-2024-07-18"

    def preamble(self) -> list[bytes]:
        filters = {**AZURE_FILTERS, "jailbreak": {"filtered": False, "detected": False}}
        first = {
            "choices": [],
            "created": 0,
            "id": "",
            "model": "",
            "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filters}],
        }
        return [frame(dumps(first))]

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        results = AZURE_FILTERS if delta.get("content") else {}
        return {
            "content_filter_results": results,
            "delta": delta,
            "finish_reason": finish,
            "index": 0,
            "logprobs": None,
        }


class _CompatStream(_ChatStream):
    """OpenRouter: ``gen-`` ids, a ``provider`` field, ``native_finish_reason``, reasoning
    as ``delta.reasoning``; an in-band error rides on a chunk with ``choices``, then
    ``[DONE]``."""

    seed = "openai_compatible"
    default_model = "emulator/chat-model"
    reasoning_field = "reasoning"

    def new_id(self) -> str:
        return f"gen-{self.reply.created}-{self.ids.alnum(20)}"

    def head(self) -> dict[str, Any]:
        return {"id": self.id, "provider": "Emulator"}

    def _choice(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "index": 0,
            "delta": delta,
            "finish_reason": finish,
            "native_finish_reason": finish,
            "logprobs": None,
        }

    def usage(self) -> dict[str, Any]:
        return {**super().usage(), "cost": 0, "is_byok": False}

    def error_events(self) -> list[bytes]:
        reply = self.reply
        message = reply.error_message or OPENAI_IN_BAND[1]
        head = {
            "id": self.id,
            "provider": "Emulator",
            "error": {"code": 502, "message": message},
            "model": self.model,
            "object": "chat.completion.chunk",
            "created": reply.created,
            "choices": [self._choice({"content": ""}, "error")],
        }
        return [frame(dumps(head)), _DONE]


def _completion_details(reasoning: int) -> dict[str, int]:
    return {
        "reasoning_tokens": reasoning,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    }
