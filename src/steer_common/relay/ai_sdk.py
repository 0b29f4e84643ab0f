"""The ``ai-sdk`` protocol: the Vercel AI SDK's UI message stream (``ai`` v5 to v7), what
``useChat`` and ``readUIMessageStream`` read.

Each frame is ``data: <chunk JSON>`` (with an ``id:`` line, which the AI SDK's parser
skips); the response carries ``x-vercel-ai-ui-message-stream: v1``. One stream is one
assistant message::

    start {messageId}
    start-step
      text-start {id}, text-delta {id, delta}..., text-end {id}
      reasoning-start / reasoning-delta / reasoning-end (the same, for thinking)
      tool-input-start {toolCallId, toolName}, tool-input-delta {toolCallId,
      inputTextDelta}..., tool-input-available {toolCallId, toolName, input}
      tool-output-available {toolCallId, output}      (an agent run's tool result)
    finish-step
    (start-step ... finish-step again for each further step of an agent run)
    finish {finishReason}
    data: [DONE]

A failure sends ``error {errorText}`` and then ``finish {finishReason: "error"}`` and
``[DONE]``. Arguments that are not JSON end their call with ``tool-input-error``, a tool
that failed in an agent run with ``tool-output-error``. The chunk shapes are those of
``uiMessageChunkSchema`` (``packages/ai/src/ui-message-stream/ui-message-chunks.ts``);
tests/integration/test_ai_sdk_node.py reads our streams with the ``ai`` package itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from steer_common.relay.base import Encoder, dumps, dumps_str

__all__ = ["AISDKEncoder"]

# Our finish reasons as the AI SDK spells them (the values every version from v5 accepts).
_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "content_filter": "content-filter",
}


class AISDKEncoder(Encoder):
    """The ``ai-sdk`` protocol (module docstring): made by ``encoder("ai-sdk")``.

    Args:
        message_id: the ``messageId`` of the ``start`` chunk (a fresh ``msg-<hex>`` when
            ``None``).
        options: as for :class:`~steer_common.relay.base.Encoder`.
    """

    protocol = "ai-sdk"
    extra_headers = {"x-vercel-ai-ui-message-stream": "v1"}

    def __init__(self, *, message_id: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.message_id = message_id or f"msg-{uuid.uuid4().hex}"
        self._step_open = False
        self._part: str | None = None  # the id of the open text or reasoning part
        self._part_kind = ""  # "text" or "reasoning"
        self._parts = 0
        self._finish_reason: str | None = None
        self._stream_handlers = {
            "stream_start": self._stream_start,
            "text_delta": self._text,
            "refusal_delta": self._text,
            "reasoning_delta": self._reasoning,
            "tool_call_start": self._tool_start,
            "tool_call_delta": self._tool_delta,
            "tool_call_end": self._tool_end,
            "stream_end": self._stream_end,
        }
        self._agent_handlers: dict[str, Callable[[Any], list[bytes]]] = {
            "delta": self._text,
            "reasoning": self._reasoning,
            "tool_call": self._agent_tool_call,
            "tool_result": self._agent_tool_result,
            "step": self._agent_step,
            "complete": self._agent_complete,
        }

    # -- the message and its steps ---------------------------------------------------

    def _open(self, frames: list[bytes]) -> list[bytes]:
        """``frames`` after the ``start`` and ``start-step`` chunks still owed."""
        if not self.started:
            self.started = True
            frames.append(self._chunk({"type": "start", "messageId": self.message_id}))
        if not self._step_open:
            self._step_open = True
            frames.append(self._chunk({"type": "start-step"}))
        return frames

    def _end_part(self, frames: list[bytes]) -> list[bytes]:
        if self._part is not None:
            frames.append(self._chunk({"type": f"{self._part_kind}-end", "id": self._part}))
            self._part = None
        return frames

    def _end_step(self) -> list[bytes]:
        frames = self._end_part([])
        if self._step_open:
            self._step_open = False
            frames.append(self._chunk({"type": "finish-step"}))
        return frames

    def _chunk(self, chunk: dict[str, Any]) -> bytes:
        return self._frame(dumps(chunk))

    # -- stream events ---------------------------------------------------------------

    def _stream_start(self, event: Any) -> list[bytes]:
        return self._open([])

    def _delta(self, kind: str, delta: str) -> list[bytes]:
        if self._part_kind == kind and self._part is not None:  # the common case first
            self.last_id = number = self.last_id + 1
            data = f'{{"type":"{kind}-delta","id":"{self._part}","delta":{dumps_str(delta)}}}'
            return [f"id: {number}\ndata: {data}\n\n".encode()]
        frames = self._end_part(self._open([]))
        self._parts += 1
        self._part, self._part_kind = f"{kind}-{self._parts}", kind
        frames.append(self._chunk({"type": f"{kind}-start", "id": self._part}))
        frames.append(self._chunk({"type": f"{kind}-delta", "id": self._part, "delta": delta}))
        return frames

    def _text(self, event: Any) -> list[bytes]:
        if not event.delta:
            return []
        return self._delta("text", event.delta)

    def _reasoning(self, event: Any) -> list[bytes]:
        if not event.delta:  # a signature or a kept block: nothing to show
            return []
        return self._delta("reasoning", event.delta)

    def _tool_start(self, event: Any) -> list[bytes]:
        frames = self._end_part(self._open([]))
        chunk = {"type": "tool-input-start", "toolCallId": event.id, "toolName": event.name}
        frames.append(self._chunk(chunk))
        return frames

    def _tool_delta(self, event: Any) -> list[bytes]:
        if not event.delta:
            return []
        chunk = {"type": "tool-input-delta", "toolCallId": event.id, "inputTextDelta": event.delta}
        return [self._chunk(chunk)]

    def _tool_end(self, event: Any) -> list[bytes]:
        call = event.tool_call
        chunk: dict[str, Any]
        if call is not None and call.parse_error is not None:
            chunk = {
                "type": "tool-input-error",
                "toolCallId": event.id,
                "toolName": event.name,
                "input": call.arguments_raw,
                "errorText": f"the arguments are not JSON: {call.parse_error}",
            }
        else:
            chunk = {
                "type": "tool-input-available",
                "toolCallId": event.id,
                "toolName": event.name,
                "input": call.arguments if call is not None else {},
            }
        return [self._chunk(chunk)]

    def _stream_end(self, event: Any) -> list[bytes]:
        self._finish_reason = event.finish_reason
        return self._end_step()

    # -- agent events ----------------------------------------------------------------

    def _agent_tool_call(self, event: Any) -> list[bytes]:
        meta = event.metadata
        call_id, name = meta.get("id"), meta.get("tool")
        frames = self._end_part(self._open([]))
        frames.append(
            self._chunk({"type": "tool-input-start", "toolCallId": call_id, "toolName": name})
        )
        chunk = {
            "type": "tool-input-available",
            "toolCallId": call_id,
            "toolName": name,
            "input": meta.get("arguments"),
        }
        frames.append(self._chunk(chunk))
        return frames

    def _agent_tool_result(self, event: Any) -> list[bytes]:
        meta = event.metadata
        frames = self._open([])
        if meta.get("is_error"):
            chunk = {
                "type": "tool-output-error",
                "toolCallId": meta.get("id"),
                "errorText": str(meta.get("output")),
            }
        else:
            chunk = {
                "type": "tool-output-available",
                "toolCallId": meta.get("id"),
                "output": meta.get("output"),
            }
        frames.append(self._chunk(chunk))
        return frames

    def _agent_step(self, event: Any) -> list[bytes]:
        response = event.response
        if response is not None:
            self._finish_reason = response.finish_reason
        return self._end_step()

    def _agent_complete(self, event: Any) -> list[bytes]:
        self._finish_reason = "stop"
        return self._end_step()

    # -- the end ---------------------------------------------------------------------

    def _finish(self) -> list[bytes]:
        frames = self._end_step()
        if not self.started:  # an empty stream is still a message
            frames = [*self._open([]), *self._end_step()]
        chunk: dict[str, Any] = {"type": "finish"}
        reason = _FINISH_REASONS.get(self._finish_reason or "")
        if reason is None and self._finish_reason is not None:
            reason = "other"
        if reason is not None:
            chunk["finishReason"] = reason
        frames.append(self._chunk(chunk))
        frames.append(self._frame("[DONE]"))
        return frames

    def _fail(self, text: str, kind: str) -> list[bytes]:
        frames: list[bytes] = []
        if not self.started:
            self.started = True
            frames.append(self._chunk({"type": "start", "messageId": self.message_id}))
        frames.append(self._chunk({"type": "error", "errorText": text}))
        frames.append(self._chunk({"type": "finish", "finishReason": "error"}))
        frames.append(self._frame("[DONE]"))
        return frames
