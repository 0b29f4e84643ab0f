"""Render a script as a Gemini ``streamGenerateContent?alt=sse`` stream (the Gemini API and
Vertex AI send the same chunks).

The shapes copy ``gemini/text-2.5-flash``, ``gemini/usage-every-chunk-2.5-flash``,
``gemini/thinking-function-call-2.5-pro`` and ``gemini/parallel-function-calls-2.5-flash``
(research/wire-formats-more.md section 1): ``data: <GenerateContentResponse>`` events
separated by CRLF CRLF, no event names and no ``[DONE]``; each chunk carries
``candidates[0].content {role: model, parts}``, the cumulative ``usageMetadata``,
``modelVersion`` and ``responseId``;

thought parts (``text`` with ``thought: true``, when the script reasons) -> text parts ->
one chunk with every ``functionCall`` whole (no ids, the first signed with a
``thoughtSignature``) -> the ``finishReason`` on the last chunk, with the whole usage.

Thoughts are counted apart from ``candidatesTokenCount`` (``thoughtsTokenCount``), as the
API does. An injected error is ``data: {"error": {code, message, status}}``, after which
the body ends.
"""

from __future__ import annotations

from typing import Any

from steer_emulator._wire import Ids, cut, dumps
from steer_emulator.error_bodies import GOOGLE_STATUS
from steer_emulator.script import ScriptedReply

__all__ = ["render"]

_DEFAULT_MODEL = "gemini-2.5-flash"
_FINISH = {
    "stop": "STOP",
    "length": "MAX_TOKENS",
    "tool_calls": "STOP",
    "content_filter": "SAFETY",
}


def render(reply: ScriptedReply) -> list[bytes]:
    """The ``streamGenerateContent`` body for ``reply``, one element per SSE event."""
    return _GeminiStream(reply).events()


def _frame(chunk: dict[str, Any]) -> bytes:
    return f"data: {dumps(chunk)}\r\n\r\n".encode()


class _GeminiStream:
    """One reply's chunks."""

    def __init__(self, reply: ScriptedReply) -> None:
        self.reply = reply
        self.ids = Ids(reply, "gemini")
        self.response_id = self.ids.alnum(23)
        self.model = reply.model or _DEFAULT_MODEL

    def chunk(
        self, parts: list[dict[str, Any]] | None, usage: dict[str, Any], finish: str | None = None
    ) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model"}, "index": 0}
        if parts is not None:
            candidate["content"]["parts"] = parts
        if finish is not None:
            candidate["finishReason"] = finish
            if self.reply.tool_calls and finish == "STOP":
                candidate["finishMessage"] = "Model generated function call(s)."
        return _frame(
            {
                "candidates": [candidate],
                "usageMetadata": usage,
                "modelVersion": self.model,
                "responseId": self.response_id,
            }
        )

    def events(self) -> list[bytes]:
        reply = self.reply
        early = self.usage(final=False)
        parts: list[list[dict[str, Any]]] = []
        if not reply.error_before_content:
            parts.extend([{"text": piece, "thought": True}] for piece in reply.reasoning_deltas())
        parts.extend([{"text": piece}] for piece in reply.streamed_text_deltas())
        if reply.in_band_error:
            out = [self.chunk(p, early) for p in parts]
            out.append(self.error())
            return cut(out, len(out), reply)
        calls = []
        for index, call in enumerate(reply.tool_calls):
            function: dict[str, Any] = {"name": call.name, "args": call.arguments}
            if call.id is not None:
                function["id"] = call.id
            part: dict[str, Any] = {"functionCall": function}
            if index == 0:
                part["thoughtSignature"] = self.ids.b64(88)
            calls.append(part)
        if calls:
            parts.append(calls)
        elif reply.reasoning and parts:
            # The signature of the thoughts rides on the last text part.
            parts[-1] = [{**parts[-1][0], "thoughtSignature": self.ids.b64(88)}]
        finish = _FINISH[reply.finish]
        out = [self.chunk(p, early) for p in parts[:-1]]
        last = parts[-1] if parts else ([] if reply.finish != "content_filter" else None)
        terminal_at = len(out)
        out.append(self.chunk(last, self.usage(final=True), finish))
        return cut(out, terminal_at, reply)

    def usage(self, *, final: bool) -> dict[str, Any]:
        prompt, completion, cached, reasoning = self.reply.usage()
        usage: dict[str, Any] = {"promptTokenCount": prompt}
        if final:
            usage["candidatesTokenCount"] = completion - reasoning
        usage["totalTokenCount"] = prompt + (completion if final else 0)
        if cached:
            usage["cachedContentTokenCount"] = cached
        usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": prompt}]
        if reasoning and final:
            usage["thoughtsTokenCount"] = reasoning
        return usage

    def error(self) -> bytes:
        reply = self.reply
        status = reply.error_type or "INTERNAL"
        code = next((c for c, s in GOOGLE_STATUS.items() if s[0] == status), 500)
        message = reply.error_message or GOOGLE_STATUS[500][1]
        return _frame({"error": {"code": code, "message": message, "status": status}})
