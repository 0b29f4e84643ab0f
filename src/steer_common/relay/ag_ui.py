"""The ``ag-ui`` protocol: AG-UI events (docs.ag-ui.com), built with the
``ag-ui-protocol`` package's own models (``ag_ui.core``), as SSE ``data:`` frames.

Needs the ``ag-ui`` extra; :func:`steer_common.relay.encoder` says how to install it when
it is missing, and nothing else in the library imports this module. One stream is one
run::

    RUN_STARTED {threadId, runId}
      TEXT_MESSAGE_START {messageId, role: assistant}, TEXT_MESSAGE_CONTENT..., TEXT_MESSAGE_END
      REASONING_START, REASONING_MESSAGE_START, REASONING_MESSAGE_CONTENT...,
        REASONING_MESSAGE_END, REASONING_END
      TOOL_CALL_START {toolCallId, toolCallName}, TOOL_CALL_ARGS..., TOOL_CALL_END
      TOOL_CALL_RESULT {messageId, toolCallId, content}   (an agent run's tool result)
      STEP_STARTED / STEP_FINISHED {stepName: "step 1"}   (around each agent step)
    RUN_FINISHED {threadId, runId}

A failure ends the run with ``RUN_ERROR {message, code}`` (``code`` the error's class),
which AG-UI makes the run's last event: no ``RUN_FINISHED`` follows it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from steer_common.errors import ConfigurationError
from steer_common.extras import install
from steer_common.relay.base import Encoder, dumps

if TYPE_CHECKING:
    from ag_ui.core import BaseEvent

__all__ = ["AGUIEncoder"]


def _models() -> ModuleType:
    """``ag_ui.core``, imported when the first encoder is made: the package is an optional
    extra, and ``import steer_common.relay`` must not need it (nor pay for its models)."""
    try:
        import ag_ui.core  # noqa: PLC0415 - an extra, on use
    except ImportError as exc:
        raise ConfigurationError(
            f"protocol 'ag-ui' needs the ag-ui-protocol package: {install('ag-ui')}"
        ) from exc
    return ag_ui.core


class AGUIEncoder(Encoder):
    """The ``ag-ui`` protocol (module docstring): made by ``encoder("ag-ui")``.

    Args:
        thread_id: the conversation's id (``threadId``; a fresh one when ``None``).
        run_id: this run's id (``runId``; a fresh one when ``None``).
        options: as for :class:`~steer_common.relay.base.Encoder`.
    """

    protocol = "ag-ui"

    def __init__(
        self, *, thread_id: str | None = None, run_id: str | None = None, **options: Any
    ) -> None:
        self._ag = _models()
        super().__init__(**options)
        self.thread_id = thread_id or f"thread-{uuid.uuid4().hex}"
        self.run_id = run_id or f"run-{uuid.uuid4().hex}"
        self._message: str | None = None  # the open text or reasoning message
        self._message_kind = ""
        self._messages = 0
        self._open_tools: dict[str, None] = {}  # tool calls started, not yet ended
        self._step: str | None = None
        self._steps = 0
        self._stream_handlers = {
            "text_delta": self._text,
            "refusal_delta": self._text,
            "reasoning_delta": self._reasoning,
            "tool_call_start": self._tool_start,
            "tool_call_delta": self._tool_delta,
            "tool_call_end": self._tool_end,
        }
        self._agent_handlers: dict[str, Callable[[Any], list[bytes]]] = {
            "delta": self._agent_text,
            "reasoning": self._agent_reasoning,
            "tool_call": self._agent_tool_call,
            "tool_result": self._agent_tool_result,
            "step": self._agent_step,
        }

    def _event(self, event: BaseEvent) -> bytes:
        return self._frame(event.model_dump_json(by_alias=True, exclude_none=True))

    def _open(self, frames: list[bytes]) -> list[bytes]:
        if not self.started:
            self.started = True
            frames.append(
                self._event(self._ag.RunStartedEvent(thread_id=self.thread_id, run_id=self.run_id))
            )
        return frames

    def _end_message(self, frames: list[bytes]) -> list[bytes]:
        message = self._message
        if message is not None:
            self._message = None
            if self._message_kind == "text":
                frames.append(self._event(self._ag.TextMessageEndEvent(message_id=message)))
            else:
                frames.append(self._event(self._ag.ReasoningMessageEndEvent(message_id=message)))
                frames.append(self._event(self._ag.ReasoningEndEvent(message_id=message)))
        return frames

    def _delta(self, kind: str, delta: str | None) -> list[bytes]:
        if not delta:  # AG-UI refuses empty content; reasoning signatures have none
            return []
        frames: list[bytes] = []
        if self._message is None or self._message_kind != kind:
            frames = self._end_message(self._open(frames))
            self._messages += 1
            # Unique in the thread: a page keeps the messages of every run by id.
            self._message, self._message_kind = f"{self.run_id}-{kind}-{self._messages}", kind
            if kind == "text":
                start: list[BaseEvent] = [
                    self._ag.TextMessageStartEvent(message_id=self._message, role="assistant")
                ]
            else:
                start = [
                    self._ag.ReasoningStartEvent(message_id=self._message),
                    self._ag.ReasoningMessageStartEvent(message_id=self._message, role="reasoning"),
                ]
            frames.extend(self._event(event) for event in start)
        if kind == "text":
            content: BaseEvent = self._ag.TextMessageContentEvent(
                message_id=self._message, delta=delta
            )
        else:
            content = self._ag.ReasoningMessageContentEvent(message_id=self._message, delta=delta)
        frames.append(self._event(content))
        return frames

    def _text(self, event: Any) -> list[bytes]:
        return self._delta("text", event.delta)

    def _reasoning(self, event: Any) -> list[bytes]:
        return self._delta("reasoning", event.delta)

    def _tool_start(self, event: Any) -> list[bytes]:
        frames = self._end_message(self._open([]))
        self._open_tools[event.id] = None
        frames.append(
            self._event(
                self._ag.ToolCallStartEvent(tool_call_id=event.id, tool_call_name=event.name)
            )
        )
        return frames

    def _tool_delta(self, event: Any) -> list[bytes]:
        if not event.delta:
            return []
        return [self._event(self._ag.ToolCallArgsEvent(tool_call_id=event.id, delta=event.delta))]

    def _tool_end(self, event: Any) -> list[bytes]:
        self._open_tools.pop(event.id, None)
        return [self._event(self._ag.ToolCallEndEvent(tool_call_id=event.id))]

    # -- agent events ----------------------------------------------------------------

    def _in_step(self, frames: list[bytes], step: int) -> list[bytes]:
        if self._step is None:
            self._steps = step or self._steps + 1
            self._step = f"step {self._steps}"
            frames.append(self._event(self._ag.StepStartedEvent(step_name=self._step)))
        return frames

    def _agent_text(self, event: Any) -> list[bytes]:
        return self._in_step(self._open([]), event.step) + self._delta("text", event.delta)

    def _agent_reasoning(self, event: Any) -> list[bytes]:
        return self._in_step(self._open([]), event.step) + self._delta("reasoning", event.delta)

    def _agent_tool_call(self, event: Any) -> list[bytes]:
        meta = event.metadata
        call_id = meta.get("id")
        frames = self._end_message(self._in_step(self._open([]), event.step))
        frames.append(
            self._event(
                self._ag.ToolCallStartEvent(tool_call_id=call_id, tool_call_name=meta.get("tool"))
            )
        )
        frames.append(
            self._event(
                self._ag.ToolCallArgsEvent(tool_call_id=call_id, delta=dumps(meta.get("arguments")))
            )
        )
        frames.append(self._event(self._ag.ToolCallEndEvent(tool_call_id=call_id)))
        return frames

    def _agent_tool_result(self, event: Any) -> list[bytes]:
        meta = event.metadata
        call_id = meta.get("id")
        frames = self._in_step(self._open([]), event.step)
        result = self._ag.ToolCallResultEvent(
            message_id=f"result-{call_id}",
            tool_call_id=call_id,
            content=str(meta.get("output")),
            role="tool",
        )
        frames.append(self._event(result))
        return frames

    def _agent_step(self, event: Any) -> list[bytes]:
        frames = self._end_message([])
        if self._step is not None:
            frames.append(self._event(self._ag.StepFinishedEvent(step_name=self._step)))
            self._step = None
        return frames

    # -- the end ---------------------------------------------------------------------

    def _finish(self) -> list[bytes]:
        frames = self._end_message(self._open([]))
        for call_id in self._open_tools:  # a call the stream never closed
            frames.append(self._event(self._ag.ToolCallEndEvent(tool_call_id=call_id)))
        self._open_tools.clear()
        frames.extend(self._agent_step(None))
        frames.append(
            self._event(self._ag.RunFinishedEvent(thread_id=self.thread_id, run_id=self.run_id))
        )
        return frames

    def _fail(self, text: str, kind: str) -> list[bytes]:
        frames = self._open([])
        frames.append(self._event(self._ag.RunErrorEvent(message=text, code=kind)))
        return frames
