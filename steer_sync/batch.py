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
    batch_retries,
)
from steer_common.errors import SteerError
from steer_common.models.response import Attempt

if TYPE_CHECKING:
    from steer_sync.client import SteerLLMClient

__all__ = ["Batch"]


class Batch:
    """The results of a batch as they finish: iterate it (once) for :class:`BatchResult`\\ s.

    Attributes:
        summary: the running totals (:class:`~steer_common.batch.BatchSummary`), final once
            the iteration ends.

    Leaving the loop early (``break``) starts no more items; the calls running finish on
    their threads and are dropped.
    """

    def __init__(self, client: SteerLLMClient, scheduler: BatchScheduler) -> None:
        self._client = client
        self._scheduler = scheduler
        self.summary: BatchSummary = scheduler.summary
        self._results = self._run()

    def __iter__(self) -> Iterator[BatchResult]:
        return self._results

    def __next__(self) -> BatchResult:
        return next(self._results)

    def close(self) -> None:
        """Stop the batch: no more items start."""
        self._results.close()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> Generator[BatchResult, None, None]:
        scheduler, client = self._scheduler, self._client
        reports: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        clock = time.monotonic
        pool = ThreadPoolExecutor(scheduler.max_concurrency, thread_name_prefix="steer-batch")

        def work(start: Start) -> None:
            index = start.index
            try:
                session = client.prepare(start.call, "response")

                def on_attempt(_: Attempt, error: SteerError, retry_in: float | None) -> bool:
                    reports.put(("attempt", index, error, retry_in, clock()))
                    return not batch_retries(error)  # a 429 is the batch's to retry

                session.on_attempt = on_attempt
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
