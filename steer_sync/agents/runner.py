"""The blocking agent runner: a driver of :meth:`steer_common.agents.AgentLoop.flow`.

The twin of ``steer_async/agents/runner.py``. The loop decides everything (the steps,
the limits, what a failed tool means, the events); :func:`_drive` performs its commands:
each step streamed by a :class:`~steer_sync.SteerLLMClient`, the tool calls of a step run
at once in a thread pool (a coroutine tool on its worker thread's own event loop).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

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
from steer_sync.client import SteerLLMClient

__all__ = ["AgentRunner"]


class AgentRunner:
    """Runs :class:`~steer_common.agents.AgentDefinition` agents, blocking.

    Args:
        client: the client that streams each step (its connection pool is shared); a new
            one (keys and base URLs from the environment) when ``None``.
        max_concurrent_tools: the most tool calls of one step run at once.

    One runner can be shared by threads, like its client. Closing the iterator of
    :meth:`stream` closes the step's stream at once and gives up the tool calls not
    started; a function already running in its thread finishes there (threads cannot be
    interrupted) and its result is dropped.
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
        self._pool = ThreadPoolExecutor(max_concurrent_tools, thread_name_prefix="steer-agent-tool")

    def stream(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        options: StreamingOptions | Mapping[str, Any] | None = None,
    ) -> Iterator[AgentEvent]:
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
        return _drive(self.client, _Tools(self._pool), loop.flow())

    def run(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        options: StreamingOptions | Mapping[str, Any] | None = None,
    ) -> AgentResult:
        """Run the agent to its end; the :class:`~steer_common.agents.AgentResult`."""
        for event in self.stream(definition, variables, options):
            if event.type == "complete":
                result: AgentResult = event.result
                return result
        raise AssertionError("an agent run ended without a complete event")  # pragma: no cover

    def close(self) -> None:
        """Stop the tool pool (running tools finish on their own) and close an own client."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owned:
            self.client.close()

    def __enter__(self) -> AgentRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _drive(client: SteerLLMClient, tools: _Tools, flow: AgentFlow) -> Iterator[AgentEvent]:
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
                        for event in events:
                            agent_event = translate(event)
                            if agent_event is not None:
                                yield agent_event
                    finally:
                        events.close()  # a consumer that stops closes the response at once
                    reply = session.response
                elif kind is Deliver:
                    yield from command.events
                elif kind is StartTools:
                    tools.start(command.calls, command.limit)
                elif kind is NextResult:
                    reply = tools.next()
                elif kind is StopTools:
                    tools.stop()
            except SteerError as exc:  # a step's stream failed: the loop decides
                command = flow.throw(exc)
                continue
            command = flow.send(reply)
    except StopIteration:
        return
    finally:
        flow.close()
        tools.stop()


class _Tools:
    """The tool calls of one step, on the runner's thread pool, at most ``limit`` at once."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._waiting: deque[tuple[int, PreparedCall]] = deque()
        self._running: dict[Future[Any], int] = {}
        self._limit = 1

    def start(self, calls: list[PreparedCall], limit: int) -> None:
        self._waiting = deque(enumerate(calls))
        self._limit = max(1, limit)
        self._fill()

    def next(self) -> tuple[int, Any, BaseException | None]:
        finished, _ = wait(self._running, return_when=FIRST_COMPLETED)
        future = next(iter(finished))
        index = self._running.pop(future)
        self._fill()
        error = future.exception()
        return index, None if error is not None else future.result(), error

    def stop(self) -> None:
        self._waiting.clear()
        for future in self._running:  # closed early: calls not started never start
            future.cancel()
        self._running.clear()

    def _fill(self) -> None:
        while self._waiting and len(self._running) < self._limit:
            index, prepared = self._waiting.popleft()
            self._running[self._pool.submit(_call, prepared)] = index


def _call(prepared: PreparedCall) -> Any:
    function = prepared.tool.function
    assert function is not None
    if prepared.tool.is_coroutine:
        return asyncio.run(function(**prepared.arguments))
    return function(**prepared.arguments)
