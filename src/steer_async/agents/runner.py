"""The asyncio agent runner: a driver of :meth:`steer_common.agents.AgentLoop.flow`.

The source of ``steer_sync/agents/runner.py``, which ``scripts/unasync.py`` generates
from this file: edit this one.

The loop decides everything (the steps, the limits, what a failed tool means, the
events); :func:`_drive` performs its commands: each step streamed by a
:class:`~steer_async.SteerLLMClient`, the tool calls of a step run at once by the
package's :class:`~steer_async.agents.tools.ToolPool` (hand-written for each package).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from steer_async.agents.tools import ToolPool, Tools
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
    StartTools,
    StopTools,
    StreamStep,
)
from steer_common.errors import SteerError
from steer_common.options import StreamingOptions, coerce_options

__all__ = ["AgentRunner"]


class AgentRunner:
    """Runs :class:`~steer_common.agents.AgentDefinition` agents on asyncio.

    Args:
        client: the client that streams each step (its connection pool is shared); a new
            one (keys and base URLs from the environment) when ``None``.
        max_concurrent_tools: the most tool calls of one step run at once.

    One runner can be shared, like its client. How tools run, and what leaving a run early
    does to the ones running: :class:`~steer_async.agents.tools.ToolPool`.
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
        self._tools = ToolPool(max_concurrent_tools)

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
        return _drive(self.client, self._tools.step(), loop.flow())

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
        """Stop the tool pool (running tools finish on their own) and close the client, if
        the runner made it."""
        self._tools.close()
        if self._owned:
            await self.client.aclose()

    # unasync: async only (the blocking runner's close() is aclose() above, generated)
    async def close(self) -> None:
        """Same as :meth:`aclose` (the name the blocking runner uses)."""
        await self.aclose()

    # unasync: end

    async def __aenter__(self) -> AgentRunner:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


async def _drive(
    client: SteerLLMClient, tools: Tools, flow: AgentFlow
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
