"""Render a script as a Gemini Interactions API stream (``POST /v1beta/interactions``).

The steps schema (``Api-Revision: 2026-05-20``), in the shapes of the ``google-genai``
SDK's types (``google.genai.interactions``) and the streaming guide
(https://ai.google.dev/gemini-api/docs/interactions/streaming): every event named,
``event: <type>``, its JSON repeating the name in ``event_type`` and carrying an opaque
``event_id``; ``interaction.created`` and ``interaction.status_update`` (``in_progress``);
then one step at a time, each ``step.start`` / ``step.delta``... / ``step.stop`` by its
``index``:

- a ``thought`` step (when the script reasons): ``thought_summary`` deltas, then a
  ``thought_signature`` delta;
- a ``model_output`` step: ``text`` deltas;
- one ``function_call`` step per call (``id``, ``name``, ``arguments: {}`` at the start),
  its JSON arguments streamed as ``arguments_delta`` fragments;

and finally ``interaction.completed`` (status ``completed``; ``requires_action`` after
function calls; ``incomplete`` for ``length`` and ``content_filter``, for which no status
of its own is documented) with the usage (thoughts apart from ``total_output_tokens``), then
``event: done`` / ``data: [DONE]``. An injected error is an ``error`` event (``error
{code, message}``, the code a Google status name), after which the body ends.
"""

from __future__ import annotations

from typing import Any

from steer_emulator._wire import Ids, cut, dumps, frame
from steer_emulator.error_bodies import GOOGLE_STATUS
from steer_emulator.script import ScriptedReply, split_text

__all__ = ["DONE", "render"]

_DEFAULT_MODEL = "gemini-2.5-flash"
_STATUS = {
    "stop": "completed",
    "tool_calls": "requires_action",
    "length": "incomplete",
    "content_filter": "incomplete",
}
#: The body's last event: not an interaction event, the end of the body.
DONE = frame("[DONE]", "done")


def render(reply: ScriptedReply) -> list[bytes]:
    """The Interactions body for ``reply``, one element per SSE event."""
    return _InteractionStream(reply).events()


class _InteractionStream:
    """One reply's events; each gets its ``event_id`` as it is framed."""

    def __init__(self, reply: ScriptedReply) -> None:
        self.reply = reply
        self.ids = Ids(reply, "gemini_interactions")
        self.id = "v1_" + self.ids.alnum(40)
        self.model = reply.model or _DEFAULT_MODEL
        self.out: list[tuple[str, dict[str, Any]]] = []
        self.steps = 0

    def emit(self, kind: str, **fields: Any) -> None:
        self.out.append((kind, fields))

    def events(self) -> list[bytes]:
        reply = self.reply
        interaction = {
            "id": self.id,
            "status": "in_progress",
            "object": "interaction",
            "model": self.model,
        }
        self.emit("interaction.created", interaction=interaction)
        self.emit("interaction.status_update", interaction_id=self.id, status="in_progress")
        if not reply.error_before_content and reply.reasoning:
            self._thought()
        text = reply.streamed_text_deltas()
        if text:
            self._step({"type": "model_output"}, [{"type": "text", "text": t} for t in text])
        if reply.in_band_error:
            self._error()
            events = self._framed()
            return cut(events, len(events), reply)
        for call in reply.tool_calls:
            arguments = reply.arguments_json(call, compact=True)
            call_id = call.id or self.ids.alnum(8).lower()
            step = {"type": "function_call", "id": call_id, "name": call.name, "arguments": {}}
            fragments = split_text(arguments, max(reply.chunk_chars, 1))
            self._step(step, [{"type": "arguments_delta", "arguments": f} for f in fragments])
        status = _STATUS[reply.finish]
        done = {**interaction, "status": status, "usage": self._usage()}
        self.emit("interaction.completed", interaction=done)
        events = [*self._framed(), DONE]
        return cut(events, len(events) - 2, reply)

    def _step(self, step: dict[str, Any], deltas: list[dict[str, Any]]) -> None:
        index = self.steps
        self.steps += 1
        self.emit("step.start", index=index, step=step)
        for delta in deltas:
            self.emit("step.delta", index=index, delta=delta)
        self.emit("step.stop", index=index)

    def _thought(self) -> None:
        deltas: list[dict[str, Any]] = [
            {"type": "thought_summary", "content": {"type": "text", "text": piece}}
            for piece in self.reply.reasoning_deltas()
        ]
        deltas.append({"type": "thought_signature", "signature": self.ids.b64(88)})
        self._step({"type": "thought"}, deltas)

    def _framed(self) -> list[bytes]:
        return [
            frame(dumps({"event_type": kind, **fields, "event_id": self._event_id()}), kind)
            for kind, fields in self.out
        ]

    def _event_id(self) -> str:
        # Opaque and unordered, as a client must take them: nothing in one says where it is.
        return "evt_" + self.ids.alnum(22)

    def _error(self) -> None:
        reply = self.reply
        status = reply.error_type or "INTERNAL"
        message = reply.error_message or GOOGLE_STATUS[500][1]
        self.emit("error", error={"code": status, "message": message})

    def _usage(self) -> dict[str, Any]:
        prompt, completion, cached, reasoning = self.reply.usage()
        usage: dict[str, Any] = {
            "total_input_tokens": prompt,
            "total_output_tokens": completion - reasoning,
            "total_tokens": prompt + completion,
            "input_tokens_by_modality": [{"modality": "text", "tokens": prompt}],
        }
        if cached:
            usage["total_cached_tokens"] = cached
        if reasoning:
            usage["total_thought_tokens"] = reasoning
        return usage
