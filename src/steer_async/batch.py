"""``client.batch(...)`` on asyncio tasks: the driver of :class:`~steer_common.batch.BatchScheduler`.

The twin of ``steer_sync/batch.py``. The scheduler decides (what starts when, what each
result says); this module runs the calls it hands out as tasks sharing the client, at
most ``max_concurrency`` at once, and reports back through one queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from steer_common.batch import (
    BatchResult,
    BatchScheduler,
    BatchSummary,
    Done,
    Start,
    attempt_hook,
)

if TYPE_CHECKING:
    from steer_async.client import SteerLLMClient

__all__ = ["Batch"]


class Batch:
    """The results of a batch as they finish: ``async for`` it (once) for
    :class:`BatchResult`\\ s.

    Attributes:
        summary: the running totals (:class:`~steer_common.batch.BatchSummary`), final once
            the iteration ends.

    Leaving the loop early (``break``, then :meth:`aclose` or ``async with``) starts no
    more items and cancels the calls running (their connections close).
    """

    def __init__(self, client: SteerLLMClient, scheduler: BatchScheduler) -> None:
        self._client = client
        self._scheduler = scheduler
        self.summary: BatchSummary = scheduler.summary
        self._results = self._run()

    def __aiter__(self) -> AsyncIterator[BatchResult]:
        return self._results

    async def __anext__(self) -> BatchResult:
        return await self._results.__anext__()

    async def aclose(self) -> None:
        """Stop the batch: no more items start, the running ones are cancelled."""
        await self._results.aclose()

    async def __aenter__(self) -> Batch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run(self) -> AsyncGenerator[BatchResult, None]:
        scheduler, client = self._scheduler, self._client
        reports: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        clock = time.monotonic
        tasks: set[asyncio.Task[None]] = set()

        async def work(start: Start) -> None:
            index = start.index
            try:
                session = client.prepare(start.call, "response")
                session.on_attempt = attempt_hook(
                    lambda error, retry_in: reports.put_nowait(
                        ("attempt", index, error, retry_in, clock())
                    )
                )
                response = await client.helper.response(session)
            except Exception as exc:  # one item's failure is its result, never the batch's
                reports.put_nowait(("done", index, None, exc, clock()))
            else:
                reports.put_nowait(("done", index, response, None, clock()))

        try:
            while True:
                action = scheduler.poll(clock())
                if isinstance(action, Start):
                    task = asyncio.create_task(work(action), name=f"steer-batch:{action.index}")
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    continue
                if isinstance(action, Done):
                    yield action.result
                    continue
                if action is None and not scheduler.running:
                    return
                timeout = None if action is None or action == math.inf else action
                try:
                    report = await asyncio.wait_for(reports.get(), timeout)
                except asyncio.TimeoutError:
                    continue  # a wait ran out: poll again
                kind, index, value, detail, at = report
                if kind == "attempt":
                    scheduler.attempt_failed(index, value, detail, at)
                elif (result := scheduler.finished(index, at, value, detail)) is not None:
                    yield result
        finally:
            for task in tasks:
                task.cancel()
            for task in list(tasks):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
