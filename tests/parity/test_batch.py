"""``client.batch(...)`` in both clients, over loopback against the emulator: every item
back exactly once with its id, the concurrency bound held (the emulator counts the streams
at once), a server at its limit met with few 429s, the cost cap, leaving early."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest

from steer_common.batch import CostLimitError
from steer_common.errors import (
    BadRequestError,
    ConfigurationError,
    InternalServerError,
    UnknownModelError,
)
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt

FAST_RETRIES = {"reconnect_delay": 0.001}

# What each kind of item is scripted to do, and how it must end.
KINDS: dict[str, tuple[dict[str, Any], str, int]] = {
    # kind: (script, outcome, attempts)
    "clean": ({}, "ok", 1),
    "503 once": ({"status": 503}, "ok", 2),
    "429 once": ({"status": 429, "retry_after": 0.01}, "ok", 2),
    "cut once": ({"truncate_after_events": 2}, "ok", 2),
    "in-band error": ({"error_after_chars": 3, "fail_times": 1000}, "InternalServerError", 4),
    "400": ({"status": 400, "fail_times": 1000}, "BadRequestError", 1),
}


def mixed_items(count: int) -> list[dict[str, Any]]:
    names = list(KINDS)
    items = []
    for i in range(count):
        kind = names[i % len(names)]
        # Events 2 ms apart: each stream lasts long enough for the next ones to overlap it.
        script = {"text": f"reply {i}", "chunk_chars": 3, "event_delay": 0.002, **KINDS[kind][0]}
        items.append({"id": f"item-{i}", "prompt": emulator_prompt(f"q{i}", **script)})
    return items


def test_500_items_with_mixed_faults_come_back_once_each(make_runner: Any) -> None:
    with Emulator(lifetime=120) as emu:
        runner = make_runner(**emulator_kwargs(emu))
        items = mixed_items(500)
        results, summary = runner.batch(
            items, "gpt-4o-mini", max_concurrency=8, streaming_options=FAST_RETRIES
        )
        peak = emu.peak_streams
    assert len(results) == 500
    assert sorted(r.id for r in results) == sorted(item["id"] for item in items)
    names = list(KINDS)
    for result in results:
        i = int(result.id.split("-")[1])
        _, outcome, attempts = KINDS[names[i % len(names)]]
        if outcome == "ok":
            assert result.ok, (result.id, result.error)
            assert result.response is not None and result.response.text == f"reply {i}"
        else:
            assert type(result.error).__name__ == outcome, (result.id, result.error)
        assert result.attempts == attempts, result.id
        assert result.index == i and result.duration > 0
    in_band = next(r for r in results if isinstance(r.error, InternalServerError))
    assert in_band.error.partial_response.text == "rep"  # what arrived is kept
    assert isinstance(
        next(r.error for r in results if r.error and r.attempts == 1), BadRequestError
    )
    assert 2 <= peak <= 8  # concurrent, never past the bound
    count = Counter(names[i % len(names)] for i in range(500))
    assert summary.done == 500 and summary.failed == count["in-band error"] + count["400"]
    assert summary.errors == {"InternalServerError": count["in-band error"],
                              "BadRequestError": count["400"]}  # fmt: skip
    assert summary.requeues == summary.rate_limited == count["429 once"]


def test_bad_items_are_results_and_never_stop_the_batch(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    items = [
        {"id": "good", "prompt": "hello"},
        {"id": "no input"},
        {"id": "unknown model", "prompt": "hi", "model": "no-such-model-xyz"},
        {"id": "good", "prompt": "the same id again"},
        {"id": "last", "prompt": "bye"},
    ]
    results, summary = runner.batch(items, "gpt-4o-mini")
    by_id = {r.id: r for r in results if r.index != 3}
    assert [r.id for r in results if r.index == 3] == ["good"]
    assert by_id["good"].response.text == "Echo: hello"
    assert by_id["last"].response.text == "Echo: bye"
    assert isinstance(by_id["no input"].error, ConfigurationError)
    assert isinstance(by_id["unknown model"].error, UnknownModelError)
    assert "repeats" in str(next(r.error for r in results if r.index == 3))
    assert summary.succeeded == 2 and summary.failed == 3


def test_a_server_at_its_concurrency_limit_gets_few_429s(make_runner: Any) -> None:
    script = {"text": "abcdefghij", "chunk_chars": 2, "event_delay": 0.005}
    with Emulator(lifetime=120, max_streams=3, busy_retry_after=0.05) as emu:
        runner = make_runner(**emulator_kwargs(emu))
        items = [emulator_prompt(f"n{i}", **script) for i in range(150)]
        results, summary = runner.batch(items, "gpt-4o-mini", max_concurrency=24)
        refused, peak = emu.busy_refusals, emu.peak_streams
    assert len(results) == 150 and all(r.ok for r in results)
    assert peak == 3
    assert refused == summary.rate_limited == summary.requeues
    assert refused < 150 / 5  # the batch settles under the limit instead of storming it


def test_max_cost_usd_stops_new_items(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    items = [f"cost {i}" for i in range(30)]
    one = runner.response("cost x", "gpt-4o-mini").cost_usd
    results, summary = runner.batch(items, "gpt-4o-mini", max_concurrency=1, max_cost_usd=one * 4.5)
    ran = [r for r in results if not r.skipped]
    assert len(results) == 30 and len(ran) == 5
    assert all(isinstance(r.error, CostLimitError) for r in results if r.skipped)
    assert summary.skipped == 25 and summary.cost_usd == pytest.approx(one * 5)


def test_leaving_early_starts_no_more_items(make_runner: Any) -> None:
    with Emulator(lifetime=60) as emu:
        runner = make_runner(**emulator_kwargs(emu))
        script = {"text": "slow", "event_delay": 0.02}
        items = [emulator_prompt(f"s{i}", **script) for i in range(100)]
        results, _ = runner.batch(items, "gpt-4o-mini", max_concurrency=2, take=3)
        sent = len(emu.requests)
        time.sleep(0.3)
        assert len(emu.requests) == sent  # nothing started after the loop was left
    assert len(results) == 3 and sent <= 3 + 2


def test_an_item_takes_every_call_argument(make_runner: Any) -> None:
    # Items named six call arguments by hand; system=, stop=, timeout= went in as extras.
    with Emulator(lifetime=60) as emu:
        runner = make_runner(**emulator_kwargs(emu))
        item = {"id": "a", "prompt": "hi", "system": "Be brief.", "stop": ["END"], "timeout": 30}
        (result,), _ = runner.batch([item], "claude-sonnet-4-5")
        body = emu.requests[-1].body
    assert result.ok and result.response.text == "Echo: hi"
    assert body["system"] == [{"type": "text", "text": "Be brief."}]
    assert body["stop_sequences"] == ["END"] and "timeout" not in body
