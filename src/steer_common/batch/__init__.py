"""Batches, decided sans-IO (docs/batch.md), in three modules of one job each:

- :mod:`~steer_common.batch.items`: what goes in and comes out of each item
  (:class:`BatchItem`, :class:`BatchResult` and its output record);
- :mod:`~steer_common.batch.report`: the running totals (:class:`BatchSummary`);
- :mod:`~steer_common.batch.scheduler`: every decision of which item starts when
  (:class:`BatchScheduler`: concurrency, rate budgets, pauses, the cost cap).

The front ends (threads, asyncio tasks, Ray actors) only run the calls the scheduler hands
out and report back.
"""

from steer_common.batch.items import BatchItem, BatchResult, CostLimitError, InvalidItemError
from steer_common.batch.report import BatchSummary
from steer_common.batch.scheduler import BatchScheduler, Done, Start, attempt_hook, batch_retries

__all__ = [
    "BatchItem",
    "BatchResult",
    "BatchScheduler",
    "BatchSummary",
    "CostLimitError",
    "Done",
    "InvalidItemError",
    "Start",
    "attempt_hook",
    "batch_retries",
]
