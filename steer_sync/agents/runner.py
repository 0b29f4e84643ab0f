"""The blocking agent runner: the core's :class:`~steer_common.agents.AgentLoop`, each
step streamed by a :class:`~steer_sync.SteerLLMClient`, the tool calls of one step run
at once in a thread pool (a coroutine tool runs on its worker thread's own event loop).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

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
from steer_sync.client import SteerLLMClient

__all__ = ["AgentRunner"]


class AgentRunner:
    """Runs :class:`~steer_common.agents.AgentDefinition` agents, blocking.

    Args:
        client: the client that streams each step (its connection pool is shared); a new
            one (keys and base URLs from the environment) when ``None``.
        max_workers: the most tool calls run at once.

    One runner can be shared by threads, like its client.
    """

    def __init__(self, client: SteerLLMClient | None = None, *, max_workers: int = 8) -> None:
        self._owned = client is None
        self.client = client or SteerLLMClient()
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="steer-agent-tool")

    def stream(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        options: StreamingOptions | Mapping[str, Any] | None = None,
    ) -> Iterator[AgentEvent]:
        """Run the agent, yielding its events as they happen (see docs/agents.md).

        An error ends the run: an ``error`` event is yielded, then the error is raised
        (with ``agent_steps``, the steps completed before it).
        """
        loop = AgentLoop(definition, variables)  # a bad template fails here, at the call
        return self._stream(loop, coerce_options(options))

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

    # -- internals ----------------------------------------------------------------------

    def _stream(self, loop: AgentLoop, options: StreamingOptions | None) -> Iterator[AgentEvent]:
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
                    for event in events:
                        agent_event = loop.translate(event)
                        if agent_event is not None:
                            yield agent_event
                finally:
                    events.close()  # a consumer that stops closes the step's response at once
                response = session.response
                assert response is not None
                yield loop.usage_event(response)
                calls = loop.step_finished(response)
                if calls:
                    results: list[ToolResult] = []
                    yield from self._run_tools(loop, [loop.prepare(c) for c in calls], results)
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

    def _run_tools(
        self, loop: AgentLoop, prepared: list[PreparedCall | ToolResult], out: list[ToolResult]
    ) -> Iterator[AgentEvent]:
        """Run the step's calls at once; yield each result as it comes; ``out`` gets them
        in the order of the calls."""
        done: dict[int, ToolResult] = {}
        running: dict[Future[Any], int] = {}
        try:
            for i, item in enumerate(prepared):
                if isinstance(item, ToolResult):
                    done[i] = item
                    yield loop.result_event(item)
                else:
                    running[self._pool.submit(_call, item)] = i
            while running:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = running.pop(future)
                    item = prepared[i]
                    assert isinstance(item, PreparedCall)
                    error = future.exception()
                    result = loop.tool_result(item, None if error else future.result(), error)
                    done[i] = result
                    yield loop.result_event(result)
        finally:
            for future in running:  # closed early: calls not started never start
                future.cancel()
        out.extend(done[i] for i in range(len(prepared)))


def _call(prepared: PreparedCall) -> Any:
    function = prepared.tool.function
    assert function is not None
    if prepared.tool.is_coroutine:
        return asyncio.run(function(**prepared.arguments))
    return function(**prepared.arguments)
