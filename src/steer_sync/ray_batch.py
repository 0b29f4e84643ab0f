"""A batch on a Ray cluster: ``steer batch --engine ray`` and :func:`ray_batch` (the
``[ray]`` extra; docs/batch.md).

The driver (this process) keeps the batch's one :class:`~steer_common.batch.BatchScheduler`,
so the rate budget, the concurrency limit and the cost cap are shared by every worker by
construction: only the driver starts items, however many machines run them. The workers
are Ray actors, each holding one blocking client (its connections pooled) and running up
to ``per_worker`` calls at once on its threads. Ray places the actors, restarts one that
dies and retries the calls it had (``max_restarts``, ``max_task_retries``); results come
back to the driver, which hands them on (the CLI writes them with the same resume
guarantee as the local engine).
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Iterable, Mapping
from typing import Any

import ray

from steer_common.batch import (
    BatchResult,
    BatchScheduler,
    Done,
    Start,
    attempt_hook,
)
from steer_common.calls import StreamCall
from steer_sync.batch import BatchRun

__all__ = ["RayBatch", "ray_batch"]

#: Times Ray restarts a worker that died, and retries a call it was running.
MAX_RESTARTS = 4
MAX_TASK_RETRIES = 3


class _Worker:
    """One Ray actor: one blocking client, shared by the actor's threads."""

    def __init__(self, client_settings: Mapping[str, Any]) -> None:
        from steer_sync.client import SteerLLMClient  # noqa: PLC0415 - in the worker

        self._client = SteerLLMClient(**client_settings)

    def pid(self) -> int:
        import os  # noqa: PLC0415

        return os.getpid()

    def run(self, call: StreamCall) -> tuple[Any, BaseException | None, list[Any], float]:
        """The call's response or error, its failed attempts ``(error, retry_in)`` in
        order, and the wall-clock time it started (for the driver's records)."""
        failed: list[tuple[BaseException, float | None]] = []
        began = time.time()
        try:
            session = self._client.prepare(call, "response")
            session.on_attempt = attempt_hook(
                lambda error, retry_in: failed.append((error, retry_in))
            )
            return self._client.helper.response(session), None, failed, began
        except Exception as exc:  # one item's failure is its result, never the batch's
            return None, exc, failed, began


class RayBatch(BatchRun):
    """The results of a batch run on Ray, as they finish (see
    :class:`~steer_sync.batch.BatchRun`); leaving early cancels the calls running.

    Attributes:
        workers: the Ray actor handles (one client each).
        started_at: for each item index, the wall-clock time its last run started on a
            worker, and ``ran_on`` the worker it ran on (what shows the budget shared).
    """

    def __init__(self, scheduler: BatchScheduler, workers: list[Any]) -> None:
        self.workers = workers
        self.started_at: dict[int, float] = {}
        self.ran_on: dict[int, int] = {}
        super().__init__(scheduler)

    def _run(self) -> Generator[BatchResult, None, None]:
        scheduler = self._scheduler
        clock = time.monotonic
        load = dict.fromkeys(range(len(self.workers)), 0)  # calls running per worker
        running: dict[Any, tuple[int, int]] = {}  # object ref -> (item index, worker)
        try:
            while True:
                action = scheduler.poll(clock())
                if isinstance(action, Start):
                    worker = min(load, key=load.__getitem__)
                    ref = self.workers[worker].run.remote(action.call)
                    running[ref] = (action.index, worker)
                    load[worker] += 1
                    continue
                if isinstance(action, Done):
                    yield action.result
                    continue
                if action is None and not running:
                    return
                timeout = None if action is None or action == math.inf else action
                ready, _ = ray.wait(list(running), num_returns=1, timeout=timeout)
                for ref in ready:
                    index, worker = running.pop(ref)
                    load[worker] -= 1
                    self.ran_on[index] = worker
                    result = self._finish(ref, index)
                    if result is not None:
                        yield result
        finally:
            for ref in running:
                ray.cancel(ref)

    def _finish(self, ref: Any, index: int) -> BatchResult | None:
        scheduler, now = self._scheduler, time.monotonic()
        try:
            response, error, failed, began = ray.get(ref)
        except Exception as exc:  # the worker died more often than Ray retries: the item's error
            scheduler.attempt_failed(index, exc, None, now)
            return scheduler.finished(index, now, error=exc)
        self.started_at[index] = began
        for attempt_error, retry_in in failed:
            scheduler.attempt_failed(index, attempt_error, retry_in, now)
        return scheduler.finished(index, now, response, error)


def ray_batch(
    items: Iterable[Any],
    model: str | None = None,
    *,
    workers: int = 2,
    per_worker: int | None = None,
    address: str | None = None,
    client_settings: Mapping[str, Any] | None = None,
    max_concurrency: int = 8,
    requests_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
    max_cost_usd: float | None = None,
    max_requeues: int = 8,
    total: int | None = None,
    **defaults: Any,
) -> RayBatch:
    """:meth:`SteerLLMClient.batch <steer_sync.client.SteerLLMClient.batch>` on a Ray
    cluster: the same items, settings and results (docs/batch.md).

    Args:
        workers: Ray actors to start, each holding one client.
        per_worker: calls each actor runs at once (default: ``max_concurrency`` spread
            over the workers).
        address: the cluster to join (``"auto"``, ``"ray://host:10001"``); ``None``: the
            one this process is connected to, or a new local one (``ray.init()``).
        client_settings: the workers' :class:`~steer_sync.client.SteerLLMClient` arguments
            (``base_urls``...). Keys given here travel to every worker through Ray; on a
            cluster, set each provider's key variable in the workers' environment instead.

    The rest is :meth:`SteerLLMClient.batch`'s. The scheduler runs here, in the driver:
    ``max_concurrency``, the budgets and the cost cap hold for the whole cluster.
    """
    if model is not None:
        defaults["model"] = model
    scheduler = BatchScheduler(
        items,
        defaults=defaults,
        max_concurrency=max_concurrency,
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
        max_cost_usd=max_cost_usd,
        max_requeues=max_requeues,
        total=total,
    )
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    per_worker = per_worker or max(1, math.ceil(max_concurrency / workers))
    actor = ray.remote(_Worker).options(
        num_cpus=0,  # the calls wait on sockets: place them by count, not by CPU
        max_concurrency=per_worker,
        max_restarts=MAX_RESTARTS,
        max_task_retries=MAX_TASK_RETRIES,
    )
    settings = dict(client_settings or {})
    handles = [actor.remote(settings) for _ in range(workers)]
    return RayBatch(scheduler, handles)
