"""``client.batch(...)`` on threads: the driver of :class:`~steer_common.batch.BatchScheduler`.

The twin of ``steer_async/batch.py``. The scheduler decides (what starts when, what each
result says); this module runs the calls it hands out on a pool of at most
``max_concurrency`` threads sharing the client, and reports back through one queue that
only the iterating thread reads, so the scheduler is never touched by two threads.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
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
    from steer_sync.client import SteerLLMClient

__all__ = ["Batch", "BatchRun"]


class BatchRun:
    """The results of a batch as they finish: iterate it (once) for :class:`BatchResult`\\ s.
    What every blocking engine shares (this module's threads, ``steer_sync.ray_batch``'s
    actors); each drives its scheduler in ``_run``.

    Attributes:
        summary: the running totals (:class:`~steer_common.batch.BatchSummary`), final once
            the iteration ends.
    """

    def __init__(self, scheduler: BatchScheduler) -> None:
        self._scheduler = scheduler
        self.summary: BatchSummary = scheduler.summary
        self._results = self._run()

    def _run(self) -> Generator[BatchResult, None, None]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[BatchResult]:
        return self._results

    def __next__(self) -> BatchResult:
        return next(self._results)

    def close(self) -> None:
        """Stop the batch: no more items start."""
        self._results.close()

    def __enter__(self) -> BatchRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Batch(BatchRun):
    """``client.batch(...)`` on threads (see :class:`BatchRun`). Leaving the loop early
    (``break``) starts no more items; the calls running finish on their threads and are
    dropped."""

    def __init__(self, client: SteerLLMClient, scheduler: BatchScheduler) -> None:
        self._client = client
        super().__init__(scheduler)

    def _run(self) -> Generator[BatchResult, None, None]:
        scheduler, client = self._scheduler, self._client
        reports: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        clock = time.monotonic
        pool = ThreadPoolExecutor(scheduler.max_concurrency, thread_name_prefix="steer-batch")

        def work(start: Start) -> None:
            index = start.index
            try:
                session = client.prepare(start.call, "response")
                session.on_attempt = attempt_hook(
                    lambda error, retry_in: reports.put(
                        ("attempt", index, error, retry_in, clock())
                    )
                )
                response = client.helper.response(session)
            except Exception as exc:  # one item's failure is its result, never the batch's
                reports.put(("done", index, None, exc, clock()))
            else:
                reports.put(("done", index, response, None, clock()))

        try:
            while True:
                action = scheduler.poll(clock())
                if isinstance(action, Start):
                    pool.submit(work, action)
                    continue
                if isinstance(action, Done):
                    yield action.result
                    continue
                if action is None and not scheduler.running:
                    return
                timeout = None if action is None or action == math.inf else action
                try:
                    report = reports.get(timeout=timeout)
                except queue.Empty:
                    continue  # a wait ran out: poll again
                kind, index, value, detail, at = report
                if kind == "attempt":
                    scheduler.attempt_failed(index, value, detail, at)
                elif (result := scheduler.finished(index, at, value, detail)) is not None:
                    yield result
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
