"""The asyncio agent runner: the core's :class:`~steer_common.agents.AgentLoop`, each step
streamed by a :class:`~steer_async.SteerLLMClient`, the tool calls of one step run at once
(coroutine tools as tasks, plain functions in worker threads, off the event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

from steer_async.client import SteerLLMClient
from steer_common.agents import (
    AgentDefinition,
    AgentEvent,
    AgentLoop,
    AgentResult,
    PreparedCall,
    ToolResult,
)
from steer_common.errors import SteerError
from steer_common.models.streaming import StreamingOptions, coerce_options

__all__ = ["AgentRunner"]


class AgentRunner:
    """Runs :class:`~steer_common.agents.AgentDefinition` agents on asyncio.

    Args:
        client: the client that streams each step (its connection pool is shared); a new
            one (keys and base URLs from the environment) when ``None``.

    Cancelling the task that iterates :meth:`stream` (or awaits :meth:`run`) cancels the
    step's coroutine tools at once; a plain-function tool already running in its thread
    finishes there, and its result is dropped.
    """

    def __init__(self, client: SteerLLMClient | None = None) -> None:
        self._owned = client is None
        self.client = client or SteerLLMClient()

    def stream(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        options: StreamingOptions | Mapping[str, Any] | None = None,
    ) -> AsyncIterator[AgentEvent]:
        """Run the agent, yielding its events as they happen (see docs/agents.md).

        An error ends the run: an ``error`` event is yielded, then the error is raised
        (with ``agent_steps``, the steps completed before it).
        """
        loop = AgentLoop(definition, variables)  # a bad template fails here, at the call
        return self._stream(loop, coerce_options(options))

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

    async def __aenter__(self) -> AgentRunner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- internals ----------------------------------------------------------------------

    async def _stream(
        self, loop: AgentLoop, options: StreamingOptions | None
    ) -> AsyncIterator[AgentEvent]:
        client = self.client
        try:
            while True:
                call = loop.call()
                session = client._session(
                    call.pop("messages"), call.pop("model"), None, None, options,
                    call.pop("response_format"), call.pop("tools"), call.pop("temperature"),
                    call.pop("max_tokens"), None, call, consumer="events",
                )  # fmt: skip
                events = client._helper.events(session)
                try:
                    async for event in events:
                        agent_event = loop.translate(event)
                        if agent_event is not None:
                            yield agent_event
                finally:
                    await events.aclose()  # a consumer that stops closes the response at once
                response = session.response
                assert response is not None
                yield loop.usage_event(response)
                calls = loop.step_finished(response)
                if calls:
                    results: list[ToolResult] = []
                    async for tool_event in _run_tools(
                        loop, [loop.prepare(c) for c in calls], results
                    ):
                        yield tool_event
                    loop.add_results(results)
                yield loop.step_event()
                if not calls:
                    break
            result = loop.result()
        except SteerError as exc:
            if not exc.agent_steps:
                loop.failed(exc)
            yield loop.error_event(exc)
            raise
        yield loop.complete_event(result)


async def _run_tools(
    loop: AgentLoop, prepared: list[PreparedCall | ToolResult], out: list[ToolResult]
) -> AsyncIterator[AgentEvent]:
    """Run the step's calls at once; yield each result as it comes; ``out`` gets them in
    the order of the calls."""
    done: dict[int, ToolResult] = {}
    running: dict[asyncio.Task[Any], int] = {}
    try:
        for i, item in enumerate(prepared):
            if isinstance(item, ToolResult):
                done[i] = item
                yield loop.result_event(item)
            else:
                running[asyncio.ensure_future(_call(item))] = i
        while running:
            finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                i = running.pop(task)
                item = prepared[i]
                assert isinstance(item, PreparedCall)
                error = task.exception()
                result = loop.tool_result(item, None if error else task.result(), error)
                done[i] = result
                yield loop.result_event(result)
    finally:
        if running:  # cancelled or closed early: cancel the calls still running
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
    out.extend(done[i] for i in range(len(prepared)))


async def _call(prepared: PreparedCall) -> Any:
    function = prepared.tool.function
    assert function is not None
    if prepared.tool.is_coroutine:
        return await function(**prepared.arguments)
    return await asyncio.to_thread(function, **prepared.arguments)
