"""The ``sse`` protocol: plain Server-Sent Events, one named event per kind, for an
``EventSource`` page or any SSE client.

Every frame is ``id: N``, ``event: <name>``, ``data: <JSON>``. The events:

==================  ==============================================================
``text``            ``{"delta": "..."}``: reply text
``reasoning``       ``{"delta": "..."}``: thinking text, where the model streams it
``refusal``         ``{"delta": "..."}``: the text of a refusal
``tool_call_start`` ``{"id", "name", "index"}``: a tool call opens
``tool_call_delta`` ``{"id", "index", "delta"}``: a fragment of its JSON arguments
``tool_call_end``   ``{"id", "name", "index", "arguments"}``: the call, arguments parsed
                    (``null`` when they are not JSON)
``tool_result``     ``{"id", "name", "output", "is_error"}``: an agent run's tool returned
``usage``           the normalized usage so far (``prompt_tokens``...; no ``raw``)
``error``           ``{"type": "RateLimitError", "message": "RateLimitError: ..."}``
``done``            ``{"finish_reason": "stop"}``: the last frame (``"error"`` after
                    an ``error``); a page closes its ``EventSource`` here, or the
                    browser reconnects to a stream that is over
==================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from steer_common.relay.base import Encoder, dumps, dumps_str

__all__ = ["SSEEncoder"]


class SSEEncoder(Encoder):
    """The ``sse`` protocol (module docstring): made by ``encoder("sse")``."""

    protocol = "sse"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._finish_reason: str | None = None
        self._stream_handlers = {
            "text_delta": self._text,
            "reasoning_delta": self._reasoning,
            "refusal_delta": self._refusal,
            "tool_call_start": self._tool_start,
            "tool_call_delta": self._tool_delta,
            "tool_call_end": self._tool_end,
            "usage": self._usage,
            "stream_end": self._end,
        }
        self._agent_handlers: dict[str, Callable[[Any], list[bytes]]] = {
            "delta": self._text,
            "reasoning": self._reasoning,
            "tool_call": self._agent_tool_call,
            "tool_result": self._agent_tool_result,
            "usage": self._agent_usage,
            "complete": self._agent_complete,
        }

    # The hot path: one frame per text delta, built as directly as the format allows.
    def _text(self, event: Any) -> list[bytes]:
        if not event.delta:
            return []
        self.started = True
        self.last_id = number = self.last_id + 1
        return [
            f'id: {number}\nevent: text\ndata: {{"delta":{dumps_str(event.delta)}}}\n\n'.encode()
        ]

    def _reasoning(self, event: Any) -> list[bytes]:
        if not event.delta:  # a signature or a kept block: nothing to show
            return []
        self.started = True
        return [self._frame(dumps({"delta": event.delta}), "reasoning")]

    def _refusal(self, event: Any) -> list[bytes]:
        if not event.delta:
            return []
        self.started = True
        return [self._frame(dumps({"delta": event.delta}), "refusal")]

    def _tool_start(self, event: Any) -> list[bytes]:
        self.started = True
        data = {"id": event.id, "name": event.name, "index": event.index}
        return [self._frame(dumps(data), "tool_call_start")]

    def _tool_delta(self, event: Any) -> list[bytes]:
        if not event.delta:
            return []
        data = {"id": event.id, "index": event.index, "delta": event.delta}
        return [self._frame(dumps(data), "tool_call_delta")]

    def _tool_end(self, event: Any) -> list[bytes]:
        call = event.tool_call
        arguments = call.arguments if call is not None else None
        data = {"id": event.id, "name": event.name, "index": event.index, "arguments": arguments}
        return [self._frame(dumps(data), "tool_call_end")]

    def _usage(self, event: Any) -> list[bytes]:
        if not event.usage:
            return []
        usage = {key: value for key, value in event.usage.items() if key != "raw"}
        return [self._frame(dumps(usage), "usage")]

    def _end(self, event: Any) -> list[bytes]:
        self._finish_reason = event.finish_reason
        return []

    # An agent run: its events carry what the stream's did, in other places.
    def _agent_tool_call(self, event: Any) -> list[bytes]:
        self.started = True
        meta = event.metadata
        call_id, name = meta.get("id"), meta.get("tool")
        index = event.tool_call.index if event.tool_call is not None else None
        start = {"id": call_id, "name": name, "index": index}
        end = {**start, "arguments": meta.get("arguments")}
        return [
            self._frame(dumps(start), "tool_call_start"),
            self._frame(dumps(end), "tool_call_end"),
        ]

    def _agent_tool_result(self, event: Any) -> list[bytes]:
        meta = event.metadata
        data = {
            "id": meta.get("id"),
            "name": meta.get("tool"),
            "output": meta.get("output"),
            "is_error": bool(meta.get("is_error")),
        }
        return [self._frame(dumps(data), "tool_result")]

    def _agent_usage(self, event: Any) -> list[bytes]:
        usage = event.metadata.get("usage")
        if not usage:
            return []
        return [self._frame(dumps({k: v for k, v in usage.items() if k != "raw"}), "usage")]

    def _agent_complete(self, event: Any) -> list[bytes]:
        self._finish_reason = "stop"
        return []

    def _finish(self) -> list[bytes]:
        return [self._frame(dumps({"finish_reason": self._finish_reason}), "done")]

    def _fail(self, text: str, kind: str) -> list[bytes]:
        return [
            self._frame(dumps({"type": kind, "message": text}), "error"),
            self._frame(dumps({"finish_reason": "error"}), "done"),
        ]
