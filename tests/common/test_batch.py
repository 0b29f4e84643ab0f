"""The batch scheduler, driven by hand with a fake clock: budgets over simulated minutes,
concurrency under a server that pushes back, pauses, requeues, the cost cap, bad items."""

from __future__ import annotations

import heapq
import math
import random
from typing import Any

import pytest

from steer_common.batch import BatchItem, BatchResult, BatchScheduler, CostLimitError, Done, Start
from steer_common.errors import ConfigurationError, InternalServerError, RateLimitError
from steer_common.metadata import RateLimit
from steer_common.models.response import StreamResponse


def reply(text: str = "ok", *, prompt: int = 10, completion: int = 5, cost: float = 0.0,
          rate_limit: RateLimit | None = None) -> StreamResponse:  # fmt: skip
    usage = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion}  # fmt: skip
    return StreamResponse(text=text, usage=usage, cost_usd=cost, complete=True,
                          rate_limit=rate_limit)  # fmt: skip


def rate_limited(retry_after: float | None = None) -> RateLimitError:
    return RateLimitError("slow down", status_code=429, retry_after=retry_after, retryable=True)


class Simulation:
    """A fake event loop: calls take ``duration`` seconds, give or take 20% (seeded; a
    refusal 10 ms);
    ``server(now, running)`` decides each call's outcome as it starts (a response, or an
    error)."""

    def __init__(self, scheduler: BatchScheduler, duration: float = 0.5, server: Any = None):
        self.scheduler = scheduler
        self.duration = duration
        self.server = server or (lambda now, running: reply())
        self.now = 0.0
        self.starts: list[float] = []
        self.peak = 0
        self.results: list[BatchResult] = []
        self.random = random.Random(7)
        self.jitter = 0.0
        self.ends: list[tuple[float, int, Any]] = []  # (when, index, outcome) of the calls running

    def run(self, until: float = math.inf) -> list[BatchResult]:
        """Run until ``until`` (simulated seconds) or the end; again to go on."""
        ends = self.ends
        while self.now <= until:
            action = self.scheduler.poll(self.now)
            if isinstance(action, Start):
                self.starts.append(self.now)
                outcome = self.server(self.now, len(ends) + 1)
                took = 0.01 if isinstance(outcome, BaseException) else self.duration
                took *= 1 + self.jitter * (self.random.random() - 0.5) * 0.4
                heapq.heappush(ends, (self.now + took, action.index, outcome))
                self.peak = max(self.peak, len(ends))
                continue
            if isinstance(action, Done):
                self.results.append(action.result)
                continue
            if action is None and not ends:
                break
            wake = self.now + (action if isinstance(action, float) else math.inf)
            if ends and ends[0][0] <= wake:
                self.now, index, outcome = heapq.heappop(ends)
                if isinstance(outcome, BaseException):
                    self.scheduler.attempt_failed(index, outcome, None, self.now)
                    result = self.scheduler.finished(index, self.now, error=outcome)
                else:
                    result = self.scheduler.finished(index, self.now, response=outcome)
                if result is not None:
                    self.results.append(result)
            elif wake < math.inf:
                self.now = wake
            else:
                raise AssertionError("the scheduler waits for nothing")
        return self.results


def test_every_item_comes_back_once_with_its_id() -> None:
    items = ["a", {"id": "x", "prompt": "b"}, BatchItem("y", "c"), {"prompt": "d"}]
    results = Simulation(BatchScheduler(items, defaults={"model": "gpt-4o-mini"})).run()
    assert sorted(map(str, (r.id for r in results))) == ["0", "3", "x", "y"]
    assert all(r.ok and r.attempts == 1 and r.response is not None for r in results)


def test_an_rpm_budget_holds_over_a_simulated_minute() -> None:
    scheduler = BatchScheduler(
        ({"prompt": f"p{i}"} for i in range(5000)),
        defaults={"model": "gpt-4o-mini"},
        max_concurrency=64,
        requests_per_minute=600,
    )
    sim = Simulation(scheduler, duration=0.3)
    sim.run(until=120.0)
    first_minute = sum(1 for t in sim.starts if t < 60.0)
    second_minute = sum(1 for t in sim.starts if 60.0 <= t < 120.0)
    assert 600 <= first_minute <= 612  # a burst of one second's worth at most: +1.7%
    assert 598 <= second_minute <= 602
    # Evenly spaced once slow start and the burst are over.
    gaps = [b - a for a, b in zip(sim.starts[40:], sim.starts[41:], strict=False)]
    assert min(gaps) == pytest.approx(0.1)


def test_a_tpm_budget_counts_estimates_and_corrects_them_by_usage() -> None:
    # 400-character prompts (about 100 tokens each), max_tokens 50: ~150 tokens estimated,
    # 60 spent (usage); a 6,000 TPM budget starts ~100 calls a minute, not 40.
    scheduler = BatchScheduler(
        ({"prompt": "x" * 400, "max_tokens": 50} for _ in range(1000)),
        defaults={"model": "gpt-4o-mini"},
        max_concurrency=4,
        tokens_per_minute=6000,
    )
    sim = Simulation(scheduler, duration=0.2, server=lambda now, n: reply(prompt=50, completion=10))
    sim.run(until=300.0)
    per_minute = [sum(1 for t in sim.starts if m * 60 <= t < (m + 1) * 60) for m in range(5)]
    assert all(95 <= n <= 105 for n in per_minute[1:]), per_minute


def test_retry_after_pauses_every_start_and_429s_are_requeued() -> None:
    refused: list[float] = []

    def server(now: float, running: int) -> Any:
        if 0.25 <= now < 0.35 and not refused:
            refused.append(now)
            return rate_limited(retry_after=5.0)
        return reply()

    scheduler = BatchScheduler([f"p{i}" for i in range(40)], defaults={"model": "gpt-4o-mini"})
    sim = Simulation(scheduler, duration=0.1, server=server)
    results = sim.run()
    assert len(results) == 40 and all(r.ok for r in results)
    (t429,) = refused
    assert not [t for t in sim.starts if t429 < t < t429 + 0.01 + 5.0]
    requeued = [r for r in results if r.requeues]
    assert len(requeued) == 1 and requeued[0].attempts == 2


def test_concurrency_settles_under_a_server_limit_with_few_429s() -> None:
    def server(now: float, running: int) -> Any:
        return rate_limited(retry_after=0.05) if running > 5 else reply()

    scheduler = BatchScheduler(
        [f"p{i}" for i in range(2000)], defaults={"model": "gpt-4o-mini"}, max_concurrency=50
    )
    sim = Simulation(scheduler, duration=0.2, server=server)
    sim.jitter = 1.0
    results = sim.run()
    assert len(results) == 2000 and all(r.ok for r in results)
    assert scheduler.summary.rate_limited < 2000 / 20  # one 429 per tens of items
    assert scheduler.limit <= 6


def test_a_server_that_starts_refusing_is_met_with_backoff_then_recovery() -> None:
    def server(now: float, running: int) -> Any:
        return rate_limited(retry_after=1.0) if 5.0 <= now < 8.0 else reply()

    scheduler = BatchScheduler(
        [f"p{i}" for i in range(3000)], defaults={"model": "gpt-4o-mini"}, max_concurrency=32
    )
    sim = Simulation(scheduler, duration=0.1, server=server)
    sim.jitter = 1.0
    limits: dict[str, float] = {}
    while sim.now < 4.9:
        sim.run(until=sim.now + 0.1)
        limits["before"] = scheduler.limit
    results = sim.run()
    assert len(results) == 3000 and all(r.ok for r in results)
    assert limits["before"] == 32  # at full speed before the refusals
    refused = scheduler.summary.rate_limited
    assert refused < 3000 / 50  # it backed off: a few 429s a pause, not one per item
    assert not [t for t in sim.starts if 5.05 < t < 8.0 and (t - 5.0) % 1.0 > 0.1]
    recovered = [t for t in sim.starts if t >= 8.0]
    assert len(recovered) > 1000 and scheduler.limit > 16  # and it came back up


def test_rate_limit_headers_at_zero_pause_until_the_reset() -> None:
    spent = RateLimit(requests_limit=100, requests_remaining=0, requests_reset=3.0)
    calls = {"n": 0}

    def server(now: float, running: int) -> Any:
        calls["n"] += 1
        return reply(rate_limit=spent if calls["n"] == 5 else None)

    scheduler = BatchScheduler(
        [f"p{i}" for i in range(20)], defaults={"model": "gpt-4o-mini"}, max_concurrency=1
    )
    sim = Simulation(scheduler, duration=0.1, server=server)
    sim.run()
    gaps = [b - a for a, b in zip(sim.starts, sim.starts[1:], strict=False)]
    # The fifth call ends at its start + 0.1 with the headers: the sixth waits 3 s more.
    assert max(gaps) == pytest.approx(3.1) and gaps.index(max(gaps)) == 4


def test_the_cost_cap_stops_new_items_and_says_so() -> None:
    scheduler = BatchScheduler(
        [f"p{i}" for i in range(50)],
        defaults={"model": "gpt-4o-mini"},
        max_concurrency=2,
        max_cost_usd=0.01,
    )
    sim = Simulation(scheduler, duration=0.1, server=lambda now, n: reply(cost=0.001))
    results = sim.run()
    assert len(results) == 50
    ran = [r for r in results if not r.skipped]
    skipped = [r for r in results if r.skipped]
    assert 10 <= len(ran) <= 11  # the cap, plus what was running when it was reached
    assert all(isinstance(r.error, CostLimitError) and r.attempts == 0 for r in skipped)
    assert "max_cost_usd=0.01" in str(skipped[0].error)
    assert scheduler.summary.skipped == len(skipped)


def test_bad_items_are_results_and_the_rest_runs() -> None:
    items = [{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "again"}, {"id": "b"},
             42, {"id": "c", "prompt": "y", "model": "no-such-model"}, "z"]  # fmt: skip
    results = Simulation(BatchScheduler(items, defaults={"model": "gpt-4o-mini"})).run()
    by_index = {r.index: r for r in results}
    assert len(results) == 6
    assert by_index[0].ok and by_index[5].ok and by_index[4].ok  # the route is the client's
    assert "repeats" in str(by_index[1].error)
    assert "exactly one of 'prompt' or 'messages'" in str(by_index[2].error)
    assert "got int" in str(by_index[3].error)
    assert all(isinstance(by_index[i].error, ConfigurationError) for i in (1, 2, 3))


def test_other_failures_are_results_not_requeued() -> None:
    boom = InternalServerError("down", status_code=500, retryable=True)
    results = Simulation(
        BatchScheduler(["a", "b"], defaults={"model": "gpt-4o-mini"}),
        server=lambda now, n: boom,
    ).run()
    assert [r.error for r in results] == [boom, boom]
    assert all(r.requeues == 0 and r.attempts == 1 for r in results)


def test_the_record_is_one_json_line() -> None:
    result = BatchResult("q1", 0, reply("hi"), attempts=1, duration=0.25)
    record = result.record()
    assert record["id"] == "q1" and record["text"] == "hi"
    assert record["usage"]["total_tokens"] == 15 and record["error"] is None
    failed = BatchResult("q2", 1, None, rate_limited(), attempts=3).record()
    assert failed["error"] == {"type": "RateLimitError", "message": "slow down"}
    assert failed["usage"] is None and failed["attempts"] == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_concurrency": 0}, "at least 1"),
        ({"requests_per_minute": 0}, "positive"),
        ({"max_cost_usd": -1}, "negative"),
    ],
)
def test_bad_settings_are_refused_at_once(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BatchScheduler([], **kwargs)
