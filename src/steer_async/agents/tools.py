"""How an asyncio agent run calls its tools: each step's calls at once, as tasks.

Hand-written (the blocking twin runs them on threads: ``steer_sync/agents/tools.py``);
the runner that uses it is generated for both (``scripts/unasync.py``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from steer_common.agents import PreparedCall

__all__ = ["ToolPool", "Tools"]


class ToolPool:
    """A runner's tool calls: coroutine tools as tasks, plain functions in worker threads
    (off the event loop). Cancelling the task that iterates a run cancels the step's
    coroutine tools at once; a plain function already running in its thread finishes
    there, and its result is dropped."""

    def __init__(self, max_concurrent_tools: int) -> None:
        self.max_concurrent_tools = max_concurrent_tools

    def step(self) -> Tools:
        """The tool calls of one run's steps."""
        return Tools()

    def close(self) -> None:
        """Nothing to stop: each run's tasks end with it."""


class Tools:
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
