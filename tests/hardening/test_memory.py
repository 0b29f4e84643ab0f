"""Memory stays bounded: a 200 MB line with no newline, a 50 MB reply through stream(),
and stream_with_usage growing only with the text. Each stream runs in a fresh process
(tests/hardening/memory_probe.py) whose peak RSS is measured; the server runs here and
sends the same few buffers again and again, so it costs next to nothing itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.faultserver import FaultServer, Play, Request, head

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def chat_event(i: int) -> bytes:
    words = " ".join(f"w{i}x{j}" for j in range(150))  # ~1 KB of distinct text per event
    chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": words + " "}}]}
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


EVENTS = [chat_event(i) for i in range(512)]
TEXT_PER_CYCLE = sum(len(json.loads(e[6:])["choices"][0]["delta"]["content"]) for e in EVENTS)
END = (
    b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b"data: [DONE]\n\n"
)


def valid_stream(megabytes: int) -> Play:
    """A Chat Completions reply of about ``megabytes`` MB, in 64-event HTTP chunks."""
    blocks = [b"".join(EVENTS[i : i + 64]) for i in range(0, len(EVENTS), 64)]
    cycle = sum(map(len, blocks))
    steps: list[tuple[Any, ...]] = [("send", head())]
    for _ in range(megabytes * MB // cycle + 1):
        steps += [("chunk", block) for block in blocks]
    return Play([*steps, ("chunk", END), ("end",)])


def endless_line(megabytes: int) -> Play:
    block = b"x" * (64 * 1024)
    steps: list[tuple[Any, ...]] = [("send", head()), ("chunk", b"data: ")]
    steps += [("chunk", block)] * (megabytes * 16)
    return Play([*steps, ("end",)])


def probe(server: FaultServer, kind: str, mode: str, *extra: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.hardening.memory_probe",
            kind,
            mode,
            f"{server.base_url}/v1",
            *extra,
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(kind, mode, result)  # the figures, for the closing note (pytest -s)
    return result


@pytest.fixture
def server() -> Any:
    with FaultServer(lifetime=300) as s:
        yield s


def handler(big: Play):  # type: ignore[no-untyped-def]
    small = valid_stream(0)

    def handle(request: Request) -> Play:
        return small if request.path.startswith("/v1/warmup") else big

    return handle


@pytest.mark.parametrize("kind", ["sync", "async", "aiohttp"])
def test_a_200_mb_line_without_a_newline_stays_bounded(server: FaultServer, kind: str) -> None:
    server.handler = handler(endless_line(200))
    result = probe(server, kind, "stream")
    assert result["error"] == "ProtocolError"  # stopped at max_event_size (16 MiB)
    assert result["growth_kb"] < 64 * 1024, result  # not 200 MB
    server.handler = handler(endless_line(200))
    small_cap = probe(server, kind, "stream", str(1 * MB))
    assert small_cap["error"] == "ProtocolError"
    assert small_cap["growth_kb"] < 16 * 1024, small_cap


@pytest.mark.parametrize("kind", ["sync", "async", "aiohttp"])
def test_50_mb_through_stream_keeps_memory_flat(server: FaultServer, kind: str) -> None:
    server.handler = handler(valid_stream(50))
    low = probe(server, kind, "stream_low_memory")
    assert low["error"] == "" and low["chars"] > 40 * MB
    assert low["growth_kb"] < 16 * 1024, low  # flat: nothing kept that was not returned


@pytest.mark.parametrize("kind", ["sync", "async", "aiohttp"])
def test_stream_with_usage_grows_only_with_the_text(server: FaultServer, kind: str) -> None:
    server.handler = handler(valid_stream(50))
    full = probe(server, kind, "with_usage")
    assert full["error"] == "" and full["chars"] > 40 * MB
    text_kb = full["chars"] // 1024
    # The text itself (once, as str) and the list of its parts while it streams.
    assert full["growth_kb"] < 3 * text_kb + 16 * 1024, full
