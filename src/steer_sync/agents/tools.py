"""How a blocking agent run calls its tools: each step's calls at once, on a thread pool.

Hand-written (the asyncio twin runs them as tasks: ``steer_async/agents/tools.py``); the
runner that uses it is generated for both (``scripts/unasync.py``).
"""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from steer_common.agents import PreparedCall

__all__ = ["ToolPool", "Tools"]


class ToolPool:
    """A runner's tool calls, on one thread pool (a coroutine tool on its worker thread's
    own event loop), shared by the threads that share the runner. Closing the iterator of
    a run gives up the step's calls not started; a function already running in its
    thread finishes there (threads cannot be interrupted) and its result is dropped."""

    def __init__(self, max_concurrent_tools: int) -> None:
        self.max_concurrent_tools = max_concurrent_tools
        self._pool = ThreadPoolExecutor(max_concurrent_tools, thread_name_prefix="steer-agent-tool")

    def step(self) -> Tools:
        """The tool calls of one run's steps."""
        return Tools(self._pool)

    def close(self) -> None:
        """Stop the pool (running tools finish on their own)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class Tools:
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
