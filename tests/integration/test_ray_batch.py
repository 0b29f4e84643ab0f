"""The Ray engine of batches on a local Ray cluster (2 CPUs): the same results as the local
engine, one rate budget for every worker, a worker killed mid-batch loses no item, and
``steer batch --engine ray``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import steer_sync
from steer_sync.emulator import Emulator

ray = pytest.importorskip("ray")
from steer_sync.ray_batch import ray_batch  # noqa: E402

STEER = str(Path(sys.executable).parent / "steer")


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(lifetime=300) as emulator:
        yield emulator


def settings(emu: Emulator) -> dict[str, Any]:
    return {"api_keys": dict.fromkeys(emu.base_urls, "test-key"), "base_urls": emu.base_urls}


def directive(**fields: object) -> str:
    return f"[[emulator:{json.dumps(fields)}]]"


SCRIPTS = [
    {"text": "clean reply"},
    {"text": "after a 503", "status": 503},
    {"text": "after a 429", "status": 429, "retry_after": 0.01},
    {"status": 400, "fail_times": 1000},
]


def items(tag: str, count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "prompt": f"{tag} {i} {directive(**SCRIPTS[i % len(SCRIPTS)])}"}
        for i in range(count)
    ]


def outcome(result: Any) -> tuple[Any, ...]:
    text = result.response.text if result.response is not None else None
    return (result.id, text, type(result.error).__name__, result.attempts)


def test_the_same_batch_gives_the_same_results_on_ray(emu: Emulator) -> None:
    options = {"reconnect_delay": 0.001}
    with steer_sync.SteerLLMClient(**settings(emu)) as client:
        local = sorted(map(outcome, client.batch(items("local", 40), "gpt-4o-mini",
                                                 streaming_options=options)))  # fmt: skip
    on_ray = ray_batch(items("ray", 40), "gpt-4o-mini", workers=2,
                       client_settings=settings(emu), streaming_options=options)  # fmt: skip
    with on_ray:
        remote = sorted(map(outcome, on_ray))
    assert remote == local
    assert {o[2] for o in remote} == {"NoneType", "BadRequestError"}
    assert set(on_ray.ran_on.values()) == {0, 1}  # both workers ran items
    assert on_ray.summary.requeues == 10 and on_ray.summary.failed == 10


def test_one_rate_budget_holds_across_the_workers(emu: Emulator) -> None:
    # 1,200 RPM: 20 a second after a burst of 20, whatever the number of workers.
    batch = ray_batch([f"budget {i}" for i in range(70)], "gpt-4o-mini", workers=3,
                      per_worker=8, max_concurrency=24, requests_per_minute=1200,
                      client_settings=settings(emu))  # fmt: skip
    with batch:
        results = list(batch)
    assert len(results) == 70 and all(r.ok for r in results)
    assert len(set(batch.ran_on.values())) >= 2
    starts = sorted(batch.started_at.values())
    assert starts[-1] - starts[0] >= (70 - 20) / 20 - 0.1  # never faster than the budget
    busiest = max(sum(1 for t in starts if s <= t < s + 1.0) for s in starts)
    assert busiest <= 20 + 20 + 1  # the burst and one second's worth, on all workers together


def test_a_worker_killed_mid_batch_loses_no_item(emu: Emulator) -> None:
    slow = directive(text="slow reply", chunk_chars=2, event_delay=0.01)
    batch = ray_batch([{"id": f"k{i}", "prompt": f"kill {i} {slow}"} for i in range(60)],
                      "gpt-4o-mini", workers=2, max_concurrency=6,
                      client_settings=settings(emu))  # fmt: skip
    results = []
    with batch:
        for result in batch:
            results.append(result)
            if len(results) == 10:
                pid = ray.get(batch.workers[0].pid.remote())
                os.kill(pid, signal.SIGKILL)
    assert sorted(r.id for r in results) == sorted(f"k{i}" for i in range(60))
    assert all(r.ok and r.response.text == "slow reply" for r in results), [
        r.error for r in results if not r.ok
    ]
    assert ray.get(batch.workers[0].pid.remote()) != pid  # Ray restarted it


def test_steer_batch_engine_ray_from_the_command_line(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps({"id": i, "prompt": f"p{i}"}) + "\n"
                              for i in range(30)), encoding="utf-8")  # fmt: skip
    argv = [STEER, "batch", str(source), "-o", str(out), "--emulate", "--engine", "ray",
            "--workers", "2", "-c", "4"]  # fmt: skip
    env = {**os.environ, "RAY_ADDRESS": ""}  # its own local cluster, not this module's
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env, check=False)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in records) == list(range(30))
    assert all(r["text"] == f"Echo: p{r['id']}" for r in records)
    assert "30 items in" in result.stderr and "30 succeeded" in result.stderr
