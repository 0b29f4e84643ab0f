"""OpenTelemetry for agent runs (the GenAI conventions, as :mod:`steer_common.telemetry`
records them for calls): an ``invoke_agent {name}`` span per run, an ``execute_tool
{name}`` child per tool call; each step's call span is a child of the run's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from steer_common.routing import route_model
from steer_common.telemetry import Telemetry, content_parts, input_messages, provider_name

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from steer_common.agents.loop import AgentLoop, AgentResult, PreparedCall, ToolResult

__all__ = ["AgentTrace"]


class AgentTrace:
    """The ``invoke_agent`` span of one run and its ``execute_tool`` children; each step's
    call span is a child through :attr:`context`. The loop calls the methods."""

    __slots__ = ("_limit", "_on", "_queued", "_span", "_tools", "context")

    def __init__(self, on: Telemetry, loop: AgentLoop) -> None:
        self._on = on
        definition = loop.definition
        provider, model = route_model(definition.model)
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.provider.name": provider_name(provider),
            "gen_ai.request.model": model,
        }
        name = "invoke_agent"
        if definition.name:
            attributes["gen_ai.agent.name"] = definition.name
            name = f"invoke_agent {definition.name}"
        if on.capture_content:
            attributes["gen_ai.input.messages"] = on.content(input_messages(loop.messages))
        self._span = on.tracer.start_span(name, kind=on.internal_kind, attributes=attributes)
        #: The parent of the run's call and tool spans.
        self.context = on.in_context(self._span)
        self._tools: dict[int, Span] = {}
        self._queued: list[tuple[int, PreparedCall]] = []
        self._limit = 1

    def tools_started(self, runs: Sequence[PreparedCall], limit: int) -> None:
        """A step's tool calls go to the runner, at most ``limit`` at once, in order (the
        runners' order: a span starts when its call does, not when it is queued)."""
        self._queued = list(enumerate(runs))
        self._limit = max(1, limit)
        self._fill()

    def tool_finished(self, index: int, result: ToolResult, error: BaseException | None) -> None:
        """Call ``index`` of :meth:`tools_started` ended, with ``result`` or ``error``."""
        span = self._tools.pop(index, None)
        if span is not None:
            self._end_tool(span, result, error)
        self._fill()

    def tool_refused(self, result: ToolResult) -> None:
        """A call that never ran (an unknown tool, invalid arguments): a span that failed."""
        self._end_tool(self._tool_span(result.call), result, None)

    def tools_stopped(self) -> None:
        """The run gave up the step's other calls."""
        self._queued.clear()
        for span in self._tools.values():
            span.set_attribute("steer.cancelled", True)
            span.end()
        self._tools.clear()

    def finish(self, result: AgentResult | None, error: BaseException | None, steps: int) -> None:
        on, span = self._on, self._span
        self.tools_stopped()
        span.set_attribute("steer.agent.steps", steps)
        if result is not None:
            usage = result.usage or {}
            if usage.get("prompt_tokens") is not None:
                span.set_attribute("gen_ai.usage.input_tokens", usage["prompt_tokens"])
            if usage.get("completion_tokens") is not None:
                span.set_attribute("gen_ai.usage.output_tokens", usage["completion_tokens"])
            if result.cost_usd is not None:
                span.set_attribute("steer.cost", result.cost_usd)
            if on.capture_content:
                message = {"role": "assistant", "parts": content_parts(result.text)}
                span.set_attribute("gen_ai.output.messages", on.content([message]))
        if error is not None:
            on.fail(span, error)
        elif result is None:
            span.set_attribute("steer.closed_early", True)
        span.end()

    def _fill(self) -> None:
        while self._queued and len(self._tools) < self._limit:
            index, run = self._queued.pop(0)
            self._tools[index] = self._tool_span(run.call)

    def _tool_span(self, call: Any) -> Span:
        on = self._on
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": call.name or "",
            "gen_ai.tool.type": "function",
        }
        if call.id:
            attributes["gen_ai.tool.call.id"] = call.id
        if on.capture_content:
            attributes["gen_ai.tool.call.arguments"] = on.content(call.arguments)
        return on.tracer.start_span(
            f"execute_tool {call.name}",
            context=self.context,
            kind=on.internal_kind,
            attributes=attributes,
        )

    def _end_tool(self, span: Span, result: ToolResult, error: BaseException | None) -> None:
        on = self._on
        if on.capture_content:
            span.set_attribute("gen_ai.tool.call.result", result.output)
        if error is not None:
            on.fail(span, error)
        elif result.is_error:
            on.fail(span, "ToolError", result.output)
        span.end()
