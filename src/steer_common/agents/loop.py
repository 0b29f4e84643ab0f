"""The agent loop as a flow, like the session's: no I/O, no threads; both runners drive it.

One run is a list of steps. Each step is one model call (streamed by a client) followed,
when the model asked for tools, by the tool calls. :meth:`AgentLoop.flow` is a generator
that asks for the I/O and decides everything else (the order, the limits, what a failed
tool means, the events and the result). It yields these commands; a runner performs each
and sends the answer back, or throws a stream's failure in::

    StreamStep(call, translate) -> stream the model call; hand each event to translate and
                                   the agent event it returns (if any) to the consumer;
                                   answer with the step's StreamResponse
    StartTools(calls, limit)    -> start running the prepared calls, at most limit at once
    NextResult()                -> wait for the next started call to end; answer with
                                   (its index in calls, its value, its exception)
    StopTools()                 -> give up the calls not finished (a tool failed the run)
    Deliver(events)             -> hand these agent events to the consumer

The flow returns the :class:`AgentResult`; a failure yields an ``error`` event and then
raises (with ``agent_steps``, the steps completed before it).

The conversation is kept as provider-neutral (Chat-style) messages; each provider module
of the core renders them in its own shape when the request is built: Chat ``tool``
messages with ``tool_call_id`` after an assistant message with ``tool_calls``; Responses
``function_call`` and ``function_call_output`` items, with the reasoning items of the step
before them; Anthropic ``tool_use`` and ``tool_result`` blocks, with the step's thinking
blocks (and their signatures) first, as the API requires; Gemini ``functionCall`` parts
with each call's ``thoughtSignature`` (kept as ``thought_signature`` on the call) and
``functionResponse`` parts.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from steer_common.agents.definition import (
    AgentDefinition,
    Tool,
    ToolArgumentsError,
    format_output,
)
from steer_common.agents.telemetry import AgentTrace
from steer_common.calls import StreamCall
from steer_common.errors import MaxStepsError, SteerError, ToolExecutionError
from steer_common.models.events import REASONING_DELTA, TEXT_DELTA, TOOL_CALL_END, StreamEvent
from steer_common.models.response import StreamResponse, ToolCall
from steer_common.options import DEFAULT_OPTIONS, StreamingOptions
from steer_common.telemetry import active
from steer_common.usage import sum_cost, sum_usage

__all__ = [
    "DEFAULT_MAX_CONCURRENT_TOOLS",
    "AgentCommand",
    "AgentEvent",
    "AgentFlow",
    "AgentLoop",
    "AgentResult",
    "AgentStep",
    "Deliver",
    "NextResult",
    "PreparedCall",
    "StartTools",
    "StopTools",
    "StreamStep",
    "ToolResult",
    "sum_usage",
]

#: The most tool calls of one step run at once (both runners), unless the runner says.
DEFAULT_MAX_CONCURRENT_TOOLS = 8


@dataclass(frozen=True)
class ToolResult:
    """What one tool call gave back.

    Attributes:
        call: the model's call.
        output: the text the model reads.
        is_error: the call failed (unknown tool, invalid arguments, the tool raised).
        value: the tool's return value (``None`` on an error).
    """

    call: ToolCall
    output: str
    is_error: bool = False
    value: Any = None


@dataclass(frozen=True)
class PreparedCall:
    """A call ready to run: the tool and its validated keyword arguments."""

    call: ToolCall
    tool: Tool
    arguments: dict[str, Any]


@dataclass
class AgentStep:
    """One model call and the tool calls it asked for.

    Attributes:
        index: 1 for the first step.
        response: the step's :class:`StreamResponse` (text, tool calls, usage, cost).
        tool_results: the results sent back to the model, in the order of the calls.
    """

    index: int
    response: StreamResponse
    tool_results: list[ToolResult] = field(default_factory=list)


@dataclass
class AgentResult:
    """A finished run.

    Attributes:
        output: the final answer: the text, or the parsed value (a validated pydantic
            instance) when the definition has a ``response_format``.
        text: the final answer's text.
        steps: every step.
        usage: the usage of all steps, summed.
        cost_usd: the cost of all steps, or ``None`` when a step's price is unknown.
    """

    output: Any
    text: str
    steps: list[AgentStep]
    usage: dict[str, Any]
    cost_usd: float | None


@dataclass
class AgentEvent:
    """One event of an agent run (docs/agents.md lists them).

    Attributes:
        type: ``delta`` (text), ``reasoning``, ``tool_call``, ``tool_result``, ``usage``,
            ``step``, ``complete`` or ``error``.
        delta: the text of a ``delta`` or ``reasoning`` event.
        step: the step it belongs to (1 for the first).
        metadata: ``tool``, ``arguments`` and ``id`` on ``tool_call`` and ``tool_result``
            (also ``output`` and ``is_error`` there); ``usage`` and ``cost_usd`` on
            ``usage`` (the step's) and ``complete`` (the run's).
        tool_call: the model's call (``tool_call``, ``tool_result``).
        result: the :class:`ToolResult` (``tool_result``) or the :class:`AgentResult`
            (``complete``).
        response: the step's :class:`StreamResponse` (``step``).
        error: the error that ended the run (``error``).
    """

    type: str
    delta: str | None = None
    step: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    tool_call: ToolCall | None = None
    result: Any = None
    response: StreamResponse | None = None
    error: BaseException | None = None

    @property
    def content(self) -> str | None:
        """The text of a ``delta`` event (the same as ``delta``)."""
        return self.delta


class StreamStep(NamedTuple):
    """Stream ``call``; give each of its events to ``translate`` and hand the agent event it
    returns (when it returns one) to the consumer; answer with the step's StreamResponse."""

    call: StreamCall
    translate: Callable[[StreamEvent], AgentEvent | None]


class StartTools(NamedTuple):
    """Start running ``calls``, at most ``limit`` at once (the rest as others end)."""

    calls: list[PreparedCall]
    limit: int


class NextResult(NamedTuple):
    """Wait for the next started call to end; answer ``(index, value, exception)``."""


class StopTools(NamedTuple):
    """Give up the calls not finished: those not started never start, running coroutine
    tools are cancelled (a function already running in a thread finishes there)."""


class Deliver(NamedTuple):
    """Hand these agent events to the consumer."""

    events: list[AgentEvent]


AgentCommand = StreamStep | StartTools | NextResult | StopTools | Deliver
AgentFlow = Generator[AgentCommand, Any, "AgentResult"]


class AgentLoop:
    """The state of one agent run (see the module docstring).

    Args:
        definition: the agent.
        variables: the values of its prompt templates.
        options: the streaming options of every model call.
        max_concurrent_tools: the most tool calls of a step run at once.

    Raises:
        ConfigurationError: a template variable is missing.
    """

    def __init__(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        *,
        options: StreamingOptions | None = None,
        max_concurrent_tools: int = DEFAULT_MAX_CONCURRENT_TOOLS,
    ) -> None:
        self.definition = definition
        self.messages: list[dict[str, Any]] = definition.messages(variables)
        self.steps: list[AgentStep] = []
        self.options = options
        self.max_concurrent_tools = max_concurrent_tools
        self._final: StreamResponse | None = None
        self._number = 1
        self._trace: AgentTrace | None = None

    def flow(self) -> AgentFlow:
        """The generator a runner drives (see the module docstring)."""
        telemetry = active()
        if telemetry is None or not (self.options or DEFAULT_OPTIONS).enable_telemetry:
            return (yield from self._flow())
        trace = self._trace = AgentTrace(telemetry, self)
        result: AgentResult | None = None
        failure: BaseException | None = None
        try:
            result = yield from self._flow()
        except BaseException as exc:
            failure = None if isinstance(exc, GeneratorExit) else exc
            raise
        finally:
            trace.finish(result, failure, len(self.steps))
        return result

    def _flow(self) -> AgentFlow:
        try:
            while True:
                response = yield StreamStep(self.call(), self.translate)
                yield Deliver([self.usage_event(response)])
                calls = self.step_finished(response)
                if calls:
                    results = yield from self._run_tools(calls)
                    self.add_results(results)
                yield Deliver([self.step_event()])
                if not calls:
                    break
            result = self.result()
        except SteerError as exc:
            if not exc.agent_steps:
                self.failed(exc)
            yield Deliver([self.error_event(exc)])
            raise
        yield Deliver([self.complete_event(result)])
        return result

    def _run_tools(self, calls: list[ToolCall]) -> Generator[AgentCommand, Any, list[ToolResult]]:
        """The step's calls run at once (up to the limit), each result handed on as it
        comes; the results in the order of the calls."""
        done: dict[int, ToolResult] = {}
        started: list[int] = []
        ready: list[AgentEvent] = []
        prepared = [self.prepare(c) for c in calls]
        trace = self._trace
        for i, item in enumerate(prepared):
            if isinstance(item, ToolResult):  # refused before it ran: reported at once
                done[i] = item
                ready.append(self.result_event(item))
                if trace is not None:
                    trace.tool_refused(item)
            else:
                started.append(i)
        if ready:
            yield Deliver(ready)
        if started:
            runs = [prepared[i] for i in started]
            if trace is not None:
                trace.tools_started(runs, self.max_concurrent_tools)  # type: ignore[arg-type]
            yield StartTools(runs, self.max_concurrent_tools)  # type: ignore[arg-type]
            for _ in started:
                index, value, error = yield NextResult()
                run = runs[index]
                assert isinstance(run, PreparedCall)
                try:
                    result = self.tool_result(run, value, error)
                except SteerError as exc:
                    if trace is not None:
                        trace.tool_finished(index, ToolResult(run.call, str(exc), True), error)
                    yield StopTools()  # the run fails: the other calls are given up
                    raise
                if trace is not None:
                    trace.tool_finished(index, result, error)
                done[started[index]] = result
                yield Deliver([self.result_event(result)])
        return [done[i] for i in range(len(prepared))]

    @property
    def step(self) -> int:
        """The number of the step under way (1 for the first): its model call, then its
        tool calls."""
        return self._number

    def call(self) -> StreamCall:
        """The next model call: the conversation so far, with the definition's settings."""
        definition = self.definition
        tools = [t.spec for t in definition.tools if isinstance(t, Tool)]
        return StreamCall(
            list(self.messages),
            definition.model,
            streaming_options=self.options,
            response_format=definition.response_format,
            tools=tools or None,
            temperature=definition.temperature,
            max_tokens=definition.max_tokens,
            extras=dict(definition.extras),
            trace_parent=None if self._trace is None else self._trace.context,
            fallbacks=tuple(definition.fallbacks),
        )

    def translate(self, event: StreamEvent) -> AgentEvent | None:
        """The agent event for a model event of the current step, or ``None``."""
        kind = event.type
        if kind == TEXT_DELTA:
            return AgentEvent("delta", event.delta, self.step)
        if kind == REASONING_DELTA and event.delta:
            return AgentEvent("reasoning", event.delta, self.step)
        if kind == TOOL_CALL_END and event.tool_call is not None:
            call = event.tool_call
            return AgentEvent(
                "tool_call",
                step=self.step,
                metadata={"tool": call.name, "arguments": call.arguments, "id": call.id},
                tool_call=call,
            )
        return None

    def usage_event(self, response: StreamResponse) -> AgentEvent:
        """The ``usage`` event of a finished model call."""
        return AgentEvent(
            "usage",
            step=self.step,
            metadata={"usage": response.usage, "cost_usd": response.cost_usd},
            response=response,
        )

    def result_event(self, result: ToolResult) -> AgentEvent:
        call = result.call
        return AgentEvent(
            "tool_result",
            step=self.step,
            metadata={
                "tool": call.name,
                "arguments": call.arguments,
                "id": call.id,
                "output": result.output,
                "is_error": result.is_error,
            },
            tool_call=call,
            result=result,
        )

    def step_event(self) -> AgentEvent:
        step = self.steps[-1]
        return AgentEvent(
            "step",
            step=step.index,
            metadata={"tool_results": len(step.tool_results), "final": self._final is not None},
            response=step.response,
            result=step,
        )

    def complete_event(self, result: AgentResult) -> AgentEvent:
        return AgentEvent(
            "complete",
            result.text,
            len(self.steps),
            metadata={
                "usage": result.usage,
                "cost_usd": result.cost_usd,
                "steps": len(result.steps),
            },
            result=result,
        )

    def error_event(self, error: BaseException) -> AgentEvent:
        return AgentEvent("error", step=self.step, metadata={"message": str(error)}, error=error)

    def step_finished(self, response: StreamResponse) -> list[ToolCall]:
        """Record a step's reply; the tool calls to run, or ``[]`` for the final answer.

        Raises:
            MaxStepsError: the model asked for tools and no step is left to answer.
        """
        self.steps.append(AgentStep(len(self.steps) + 1, response))
        calls = list(response.tool_calls)
        if not calls:
            self._final = response
            return []
        if len(self.steps) >= self.definition.max_steps:
            error = MaxStepsError(
                f"the model still called tools ({', '.join(c.name or '?' for c in calls)}) "
                f"after max_steps={self.definition.max_steps} model calls",
                provider=response.provider,
            )
            raise self.failed(error)
        return calls

    def prepare(self, call: ToolCall) -> PreparedCall | ToolResult:
        """The call ready to run, or the error result to send back instead (an unknown
        tool, arguments that are not JSON or do not validate)."""
        tool = self.definition.tool_named(call.name)
        if tool is None or tool.function is None:
            names = ", ".join(t.name for t in self.definition.tools if isinstance(t, Tool))
            return ToolResult(call, f"unknown tool {call.name!r}; the tools are: {names}", True)
        if call.arguments is None:
            why = call.parse_error or "not valid JSON"
            return ToolResult(call, f"the arguments of {call.name} are not valid JSON: {why}", True)
        try:
            arguments = tool.validate(call.arguments)
        except ToolArgumentsError as exc:
            return ToolResult(call, str(exc), True)
        return PreparedCall(call, tool, arguments)

    def tool_result(
        self, prepared: PreparedCall, value: Any = None, error: BaseException | None = None
    ) -> ToolResult:
        """The result of a call that ran: its value, or the exception it raised.

        Raises:
            ToolExecutionError: the tool raised and the definition says ``"raise"``.
        """
        if error is None:
            return ToolResult(prepared.call, format_output(value), False, value)
        name = prepared.tool.name
        if self.definition.tool_errors == "raise":
            failure = ToolExecutionError(
                f"tool {name} raised {type(error).__name__}: {error}", tool=name
            )
            failure.__cause__ = error
            raise self.failed(failure)
        return ToolResult(
            prepared.call, f"tool {name} raised {type(error).__name__}: {error}", True
        )

    def add_results(self, results: list[ToolResult]) -> None:
        """Append the step's assistant turn and its tool results to the conversation."""
        step = self.steps[-1]
        step.tool_results = list(results)
        response = step.response
        thinking = [b for b in response.reasoning_blocks if b.get("type") != "reasoning"]
        # Responses: reasoning items go back as items, before the calls they led to.
        self.messages.extend(b for b in response.reasoning_blocks if b.get("type") == "reasoning")
        calls: list[dict[str, Any]] = []
        for result in results:
            call = result.call
            entry = {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_raw or "{}"},
            }
            if call.signature:
                entry["thought_signature"] = call.signature  # Gemini: it goes back with the call
            calls.append(entry)
        assistant: dict[str, Any] = {"role": "assistant", "tool_calls": calls}
        if thinking:
            # Anthropic: the thinking blocks (with their signatures) open the turn.
            text = [{"type": "text", "text": response.text}] if response.text else []
            assistant["content"] = [*thinking, *text]
        else:
            assistant["content"] = response.text or None
        self.messages.append(assistant)
        for result in results:
            message: dict[str, Any] = {
                "role": "tool",
                "tool_call_id": result.call.id,
                "content": result.output,
            }
            if result.is_error:
                message["is_error"] = True
            self.messages.append(message)
        self._number += 1

    def failed(self, error: SteerError) -> SteerError:
        """``error`` with the steps so far attached (``agent_steps``)."""
        error.agent_steps = list(self.steps)
        return error

    def result(self) -> AgentResult:
        """The finished run (after the final answer)."""
        final = self._final
        assert final is not None, "the run has not finished"
        output: Any = final.text
        if self.definition.response_format is not None:
            try:
                output = final.get_json()
            except SteerError as exc:
                raise self.failed(exc) from None
        responses = [s.response for s in self.steps]
        return AgentResult(
            output=output,
            text=final.text,
            steps=list(self.steps),
            usage=sum_usage([r.usage for r in responses]),
            cost_usd=sum_cost([r.cost_usd for r in responses]),
        )
