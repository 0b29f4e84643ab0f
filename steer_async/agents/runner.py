"""The asyncio agent runner: a driver of :meth:`steer_common.agents.AgentLoop.flow`.

The twin of ``steer_sync/agents/runner.py``. The loop decides everything (the steps,
the limits, what a failed tool means, the events); :func:`_drive` performs its commands:
each step streamed by a :class:`~steer_async.SteerLLMClient`, the tool calls of a step run
at once (coroutine tools as tasks, plain functions in worker threads, off the event loop).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from typing import Any

from steer_async.client import SteerLLMClient
from steer_common.agents import (
    DEFAULT_MAX_CONCURRENT_TOOLS,
    AgentDefinition,
    AgentEvent,
    AgentFlow,
    AgentLoop,
    AgentResult,
    Deliver,
    NextResult,
    PreparedCall,
    StartTools,
    StopTools,
    StreamStep,
)
from steer_common.errors import SteerError
from steer_common.models.streaming import StreamingOptions, coerce_options

__all__ = ["AgentRunner"]


class AgentRunner:
    """Runs :class:`~steer_common.agents.AgentDefinition` agents on asyncio.

    Args:
        client: the client that streams each step (its connection pool is shared); a new
            one (keys and base URLs from the environment) when ``None``.
        max_concurrent_tools: the most tool calls of one step run at once.

    Cancelling the task that iterates :meth:`stream` (or awaits :meth:`run`) cancels the
    step's coroutine tools at once; a plain-function tool already running in its thread
    finishes there, and its result is dropped.
    """

    def __init__(
        self,
        client: SteerLLMClient | None = None,
        *,
        max_concurrent_tools: int = DEFAULT_MAX_CONCURRENT_TOOLS,
    ) -> None:
        self._owned = client is None
        self.client = client or SteerLLMClient()
        self.max_concurrent_tools = max_concurrent_tools

    def stream(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        options: StreamingOptions | Mapping[str, Any] | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Run the agent, yielding its events as they happen (see docs/agents.md).

        An error ends the run: an ``error`` event is yielded, then the error is raised
        (with ``agent_steps``, the steps completed before it).

        Raises:
            ConfigurationError: a template variable is missing, or the options are wrong
                (at the call, before anything runs).
        """
        loop = AgentLoop(
            definition,
            variables,
            options=coerce_options(options),
            max_concurrent_tools=self.max_concurrent_tools,
        )
        return _drive(self.client, _Tools(), loop.flow())

    async def run(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        options: StreamingOptions | Mapping[str, Any] | None = None,
    ) -> AgentResult:
        """Run the agent to its end; the :class:`~steer_common.agents.AgentResult`."""
        async for event in self.stream(definition, variables, options):
            if event.type == "complete":
                result: AgentResult = event.result
                return result
        raise AssertionError("an agent run ended without a complete event")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the client, if the runner made it."""
        if self._owned:
            await self.client.aclose()

    async def close(self) -> None:
        """Same as :meth:`aclose` (the name the blocking runner uses)."""
        await self.aclose()

    async def __aenter__(self) -> AgentRunner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _drive(
    client: SteerLLMClient, tools: _Tools, flow: AgentFlow
) -> AsyncIterator[AgentEvent]:
    """Perform the commands of the agent flow; yield the events it hands on."""
    try:
        command: Any = next(flow)
        while True:
            kind = type(command)
            reply: Any = None
            try:
                if kind is StreamStep:
                    session = client.prepare(command.call, "events")
                    events = client.helper.events(session)
                    translate = command.translate
                    try:
                        async for event in events:
                            agent_event = translate(event)
                            if agent_event is not None:
                                yield agent_event
                    finally:
                        await events.aclose()  # a consumer that stops closes the response at once
                    reply = session.response
                elif kind is Deliver:
                    for agent_event in command.events:
                        yield agent_event
                elif kind is StartTools:
                    tools.start(command.calls, command.limit)
                elif kind is NextResult:
                    reply = await tools.next()
                elif kind is StopTools:
                    await tools.stop()
            except SteerError as exc:  # a step's stream failed: the loop decides
                command = flow.throw(exc)
                continue
            command = flow.send(reply)
    except StopIteration:
        return
    finally:
        flow.close()
        await tools.stop()


class _Tools:
    """The tool calls of one step, as tasks, at most ``limit`` at once."""

    def __init__(self) -> None:
        self._waiting: deque[tuple[int, PreparedCall]] = deque()
        self._running: dict[asyncio.Task[Any], int] = {}
        self._limit = 1

    def start(self, calls: list[PreparedCall], limit: int) -> None:
        self._waiting = deque(enumerate(calls))
        self._limit = max(1, limit)
        self._fill()

    async def next(self) -> tuple[int, Any, BaseException | None]:
        finished, _ = await asyncio.wait(self._running, return_when=asyncio.FIRST_COMPLETED)
        task = next(iter(finished))
        index = self._running.pop(task)
        self._fill()
        error = task.exception()
        return index, None if error is not None else task.result(), error

    async def stop(self) -> None:
        self._waiting.clear()
        running, self._running = list(self._running), {}
        for task in running:  # cancelled or closed early: cancel the calls still running
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    def _fill(self) -> None:
        while self._waiting and len(self._running) < self._limit:
            index, prepared = self._waiting.popleft()
            self._running[asyncio.ensure_future(_call(prepared))] = index


async def _call(prepared: PreparedCall) -> Any:
    function = prepared.tool.function
    assert function is not None
    if prepared.tool.is_coroutine:
        return await function(**prepared.arguments)
    return await asyncio.to_thread(function, **prepared.arguments)
