"""Batches, decided sans-IO: which item starts when.

:class:`BatchScheduler` holds every decision of ``client.batch(...)`` and ``steer batch``;
the front ends (threads, asyncio tasks, Ray actors) only run the calls it hands out and
report back. Time is passed in (``now``, seconds of a monotonic clock), so a test drives a
whole minute of a rate budget in microseconds.

What it decides (docs/batch.md):

- **Concurrency**: at most ``max_concurrency`` calls at once, and fewer while the server
  pushes back, as TCP's congestion control does. The limit starts at 2 and grows by one
  per success (doubling per round of calls: slow start) until the first 429; a 429 halves
  it (at most once per round: a 429 of a call started before the last cut does not cut
  again) and remembers the level that was refused; then it grows by one per limit's worth
  of successes below that level, eight times slower across it, and forgets it once past
  (additive increase, multiplicative decrease). A batch settles just under a server's
  limit instead of storming it, and comes back up after an outage.
- **429s are the batch's to retry**: a call refused with 429 is not retried by its own
  session (:func:`batch_retries` tells the session's ``on_attempt`` hook so); it goes back
  to the front of the queue (``max_requeues`` times), behind the pause and the cut limit.
- **Rate budgets**: ``requests_per_minute`` and ``tokens_per_minute``, each a generic cell
  rate (GCRA): starts are spaced evenly, with a burst of at most one second's worth. A
  call's tokens are estimated before it starts (the prompt's characters by the provider's
  measured ratio, plus ``max_tokens`` or the mean output so far) and corrected by the
  usage it reports. A retry inside a call spends a request of the budget too.
- **Pauses**: a ``Retry-After`` (on any attempt of any call) and exhausted rate-limit
  headers (``x-ratelimit-remaining-*``, ``anthropic-ratelimit-*``: the response
  metadata's ``rate_limit``) stop every new start until the server said it would reset.
- **Cost**: with ``max_cost_usd``, once the finished calls cost that much no new item
  starts; the ones not started come back ``skipped`` (the ones running finish, so the
  total may pass the cap by what they cost).

Every item comes back exactly once, as a :class:`BatchResult`: its id, its
:class:`~steer_common.models.response.StreamResponse` or its typed error (with the partial
response), its attempts and timings. One item's failure is never raised.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from steer_common.batch.items import BatchItem, BatchResult, CostLimitError, InvalidItemError
from steer_common.batch.report import BatchSummary
from steer_common.calls import StreamCall
from steer_common.errors import APIError, ConfigurationError, RateLimitError, SteerError
from steer_common.models.response import Attempt, StreamResponse

__all__ = ["BatchScheduler", "Done", "Start", "attempt_hook", "batch_retries"]

#: The limit's first value: slow start doubles it per round of calls from here.
_INITIAL_LIMIT = 2.0
#: How much slower the limit grows at the level a 429 refused than below it.
_PROBE_SLOWDOWN = 8.0


def batch_retries(error: BaseException) -> bool:
    """The batch, not the call's session, retries this failure: a retryable 429 (the
    batch waits, lowers its concurrency and requeues the item; the session would retry
    at once, past the batch's limit)."""
    return isinstance(error, RateLimitError) and error.retryable


def attempt_hook(
    report: Callable[[SteerError, float | None], None],
) -> Callable[[Attempt, SteerError, float | None], bool]:
    """The ``on_attempt`` hook a batch gives each call's session: ``report(error,
    retry_in)`` tells the driver (which hands it to :meth:`BatchScheduler.attempt_failed`),
    and the session's own retry of a 429 is refused (:func:`batch_retries`)."""

    def on_attempt(_: Attempt, error: SteerError, retry_in: float | None) -> bool:
        report(error, retry_in)
        return not batch_retries(error)

    return on_attempt


@dataclass(frozen=True, slots=True)
class Start:
    """Start this item now: its call, and the item and index to report back with."""

    item: BatchItem
    index: int
    call: StreamCall


@dataclass(frozen=True, slots=True)
class Done:
    """An item that ends without running (invalid, or not started: ``max_cost_usd``)."""

    result: BatchResult


class _Cell:
    """A generic cell rate (GCRA): ``rate`` units per minute, a burst of one second's
    worth (at least one unit)."""

    __slots__ = ("interval", "tat", "tolerance")

    def __init__(self, per_minute: float) -> None:
        if per_minute <= 0:
            raise ConfigurationError(f"a rate budget must be positive, not {per_minute}")
        self.interval = 60.0 / per_minute  # seconds per unit
        self.tolerance = max(0.0, per_minute / 60.0 - 1.0) * self.interval
        self.tat = -math.inf  # theoretical arrival time of the next unit

    def wait(self, now: float) -> float:
        """Seconds before a start is allowed (0: now)."""
        return max(0.0, self.tat - self.tolerance - now)

    def spend(self, units: float, now: float) -> None:
        self.tat = max(self.tat, now) + units * self.interval

    def refund(self, units: float) -> None:
        """Correct an estimate (``units`` may be negative: more was spent)."""
        self.tat -= units * self.interval


@dataclass(slots=True)
class _Running:
    item: BatchItem
    index: int
    first_start: float
    start: float  # this run's
    serial: int = 0  # this run's place among every start of the batch
    estimate: int = 0
    attempts: int = 0
    requeues: int = 0


class BatchScheduler:
    """The decisions of one batch (see the module docstring).

    Args:
        items: the requests, in order: prompts, mappings or :class:`BatchItem`; read
            lazily (one at a time, as each is about to start), so a generator over a
            million lines stays a generator.
        defaults: call arguments for every item (``model``, ``temperature``...); an
            item's own win.
        max_concurrency: the most calls at once.
        requests_per_minute: the request budget (``None``: none).
        tokens_per_minute: the token budget, input and output (``None``: none).
        max_cost_usd: start no item once the finished ones cost this much.
        max_requeues: times an item refused with 429 goes back to the queue (then its
            429 is its result).
        total: the number of items, when known (``len(items)`` when it has one).

    Drive it (the front ends' loop)::

        while True:
            action = scheduler.poll(now)
            # Start: run action.call, then report with attempt_failed()/finished()
            # Done: a result to hand on at once
            # a float: nothing to start for that many seconds (math.inf: until one finishes)
            # None: nothing left to start; the batch ends when scheduler.running is 0
    """

    def __init__(
        self,
        items: Iterable[Any],
        *,
        defaults: Mapping[str, Any] | None = None,
        max_concurrency: int = 8,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_cost_usd: float | None = None,
        max_requeues: int = 8,
        total: int | None = None,
    ) -> None:
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise ConfigurationError("max_concurrency must be an integer")
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be at least 1, not {max_concurrency}")
        if max_cost_usd is not None and max_cost_usd < 0:
            raise ConfigurationError(f"max_cost_usd must not be negative, not {max_cost_usd}")
        self.defaults = dict(defaults or {})
        self.max_concurrency = max_concurrency
        self.max_cost_usd = max_cost_usd
        self.max_requeues = max_requeues
        if total is None and hasattr(items, "__len__"):
            total = len(items)  # type: ignore[arg-type]
        self.summary = BatchSummary(total=total)
        self._items: Iterator[Any] = iter(items)
        self._index = 0
        self._exhausted = False
        self._queue: deque[tuple[BatchItem, int, StreamCall, _Running | None]] = deque()
        self._requests = None if requests_per_minute is None else _Cell(requests_per_minute)
        self._tokens = None if tokens_per_minute is None else _Cell(tokens_per_minute)
        self._seen: set[Any] = set()
        self._invalid: deque[BatchResult] = deque()  # items that end without running
        self._running: dict[int, _Running] = {}
        #: The concurrency limit now (AIMD); at most ``max_concurrency``.
        self.limit = min(float(max_concurrency), _INITIAL_LIMIT)
        self._slow_start = True  # until the first 429
        self._ceiling = math.inf  # the level the last 429 refused
        self._starts = 0  # runs started so far
        self._cut_at = -1  # the runs started before the last cut (by serial) saw the old limit
        self._paused_until = -math.inf
        self._output_mean = 0.0
        self._outputs = 0
        self._began: float | None = None

    # -- what the driver asks -------------------------------------------------------------

    @property
    def running(self) -> int:
        """Calls started and not finished."""
        return len(self._running)

    def poll(self, now: float) -> Start | Done | float | None:
        """What to do now (see the class docstring); a :class:`Start` counts as started."""
        if self._began is None:
            self._began = now
        self.summary.elapsed = now - self._began
        if self._invalid:
            return Done(self._invalid.popleft())
        if not self._queue and not self._pull():
            return Done(self._invalid.popleft()) if self._invalid else None
        item, index, call, rerun = self._queue[0]
        if self.max_cost_usd is not None and self.summary.cost_usd >= self.max_cost_usd:
            self._queue.popleft()
            spent = self.summary.cost_usd
            error = CostLimitError(
                f"not started: the batch reached max_cost_usd={self.max_cost_usd} "
                f"(${spent:.6f} spent)"
            )
            return Done(self._result(item, index, rerun, error=error))
        if len(self._running) >= max(1, int(self.limit)):
            return math.inf
        waits = [self._paused_until - now]
        if self._requests is not None:
            waits.append(self._requests.wait(now))
        estimate = 0
        if self._tokens is not None:
            estimate = item.estimated_tokens(call.model, self._output_mean)
            waits.append(self._tokens.wait(now))
        wait = max(waits)
        if wait > 0:
            return wait
        self._queue.popleft()
        if self._requests is not None:
            self._requests.spend(1, now)
        if self._tokens is not None:
            self._tokens.spend(estimate, now)
        running = rerun or _Running(item, index, now, now)
        running.start, running.estimate, running.serial = now, estimate, self._starts
        self._starts += 1
        self._running[index] = running
        return Start(item, index, call)

    def attempt_failed(
        self, index: int, error: BaseException, retry_in: float | None, now: float
    ) -> None:
        """An attempt of a running call failed (``retry_in``: it will be retried after that
        many seconds; ``None``: it is the call's last). The session's ``on_attempt`` hook."""
        running = self._running.get(index)
        if running is not None:
            running.attempts += 1
        if retry_in is not None and self._requests is not None and not batch_retries(error):
            self._requests.spend(1, now + retry_in)  # the session's retry is a request too
        if isinstance(error, APIError):
            self._pushed_back(error, running, now)

    def finished(
        self,
        index: int,
        now: float,
        response: StreamResponse | None = None,
        error: BaseException | None = None,
    ) -> BatchResult | None:
        """A call ended; its result, or ``None`` when the item went back to the queue (a
        429 that outlasted its retries)."""
        running = self._running.pop(index)
        if error is None:
            running.attempts += 1  # the attempt that succeeded (failed ones were reported)
            self._grow()
        reply = response if error is None else getattr(error, "partial_response", None)
        if reply is not None:
            self._account(running, reply, now)
        if error is not None and batch_retries(error) and running.requeues < self.max_requeues:
            running.requeues += 1
            call = running.item.call(self.defaults)
            self._queue.appendleft((running.item, index, call, running))
            return None
        return self._result(running.item, index, running, response=response, error=error, now=now)

    # -- inside ---------------------------------------------------------------------------

    def _pull(self) -> bool:
        """Queue the next item of the input; ``False`` when there is none."""
        while not self._exhausted:
            try:
                value = next(self._items)
            except StopIteration:
                self._exhausted = True
                return False
            index = self._index
            self._index += 1
            try:
                if isinstance(value, InvalidItemError):
                    raise value
                item = BatchItem.of(value, index)
                if item.id in self._seen:
                    raise ConfigurationError(f"batch item {index}: the id {item.id!r} repeats")
                self._seen.add(item.id)
                call = item.call(self.defaults)
            except ConfigurationError as exc:  # the item ends here, as a result
                item_id = value.get("id", index) if isinstance(value, Mapping) else index
                item_id = getattr(exc, "item_id", item_id)
                self._invalid.append(self._result(BatchItem(item_id, None), index, None, error=exc))
                continue
            self._queue.append((item, index, call, None))
            return True
        return False

    def _pushed_back(self, error: APIError, running: _Running | None, now: float) -> None:
        """A 429, a 529 or a ``Retry-After``: pause new starts, halve the limit."""
        if error.retry_after is not None:
            self._paused_until = max(self._paused_until, now + float(error.retry_after))
        if error.status_code == 429:
            self.summary.rate_limited += 1
            # One cut per round: a call started before the last cut saw the old limit.
            if running is None or running.serial > self._cut_at:
                self._ceiling = max(1.0, math.floor(self.limit) - 1.0)
                self.limit = max(1.0, self.limit / 2)
                self._slow_start = False
                self._cut_at = self._starts - 1

    def _grow(self) -> None:
        """A success: slow start, then additive increase (slower at the refused level)."""
        limit = self.limit
        if self._slow_start:
            limit += 1.0
        elif limit < self._ceiling:
            limit += 1.0 / limit
        else:
            limit += 1.0 / (_PROBE_SLOWDOWN * limit)
            if limit >= self._ceiling + 1.0:  # past the refused level unrefused: forget it
                self._ceiling = math.inf
        self.limit = min(float(self.max_concurrency), limit)

    def _account(self, running: _Running, reply: StreamResponse, now: float) -> None:
        """Correct the token estimate by the usage; pause on exhausted rate-limit headers."""
        usage = reply.usage or {}
        if self._tokens is not None and usage:
            self._tokens.refund(running.estimate - (usage.get("total_tokens") or 0))
            running.estimate = 0
        if usage:
            self._outputs += 1
            output = usage.get("completion_tokens") or 0
            self._output_mean += (output - self._output_mean) / self._outputs
        limits = reply.rate_limit
        if limits is None:
            return
        if limits.requests_remaining == 0 and limits.requests_reset:
            self._paused_until = max(self._paused_until, now + limits.requests_reset)
        tokens_left = limits.tokens_remaining
        if tokens_left is not None and limits.tokens_reset and tokens_left < self._output_mean + 1:
            self._paused_until = max(self._paused_until, now + limits.tokens_reset)

    def _result(
        self,
        item: BatchItem,
        index: int,
        running: _Running | None,
        *,
        response: StreamResponse | None = None,
        error: BaseException | None = None,
        now: float | None = None,
    ) -> BatchResult:
        began = self._began or 0.0
        result = BatchResult(
            item.id,
            index,
            response,
            error,
            json_mode=item.arguments.get("response_format", self.defaults.get("response_format"))
            is not None,
            attempts=0 if running is None else running.attempts,
            started=None if running is None else running.first_start - began,
            duration=0.0 if running is None or now is None else now - running.first_start,
            requeues=0 if running is None else running.requeues,
        )
        self.summary.add(result)
        return result
