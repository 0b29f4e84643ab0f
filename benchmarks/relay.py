"""What the browser relay adds per event: provider events in, SSE bytes out, against the
client stream alone.

Run ``python benchmarks/relay.py`` (``--events`` per stream, ``--rounds``). It prints two
markdown tables.

**CPU per event** (``time.process_time`` of this process, divided by the stream's events):

- *core*: ``StreamParser("openai")`` fed a Chat Completions stream one event per chunk,
  alone and then with every event through ``encoder(protocol).feed`` (the strictest ratio:
  no HTTP in the denominator);
- *client*: the blocking client's ``stream_events()`` over loopback from an emulator in
  another process, alone and then through ``steer_sync.web.relay.relay`` as the Django
  helper runs it: ``heartbeat=None``; ``heartbeat=15``, the default (read in the server's
  thread, its reads given up for heartbeats: ``steer_sync.driver.idle_after``); and
  ``heartbeat=15`` over a stream the relay cannot ask that (an agent run's; here a
  generator around ``stream_events()``), read in a thread of its own, events through a
  queue;
- *asyncio client*: the same with ``steer_async``'s client and relay (httpx), whose
  heartbeats always read the stream in a task of its own.

Each contender runs ``--rounds`` times round-robin; the table gives the median and the
spread (min to max) of the ratio to the stream alone, round by round.

**Added latency**: for a paced stream (one event every 2 ms), the time from the client
handing an event on to the relay handing its frame on, per event; p50, p99 and max.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from steer_async import SteerLLMClient as AsyncClient
from steer_async.web.relay import relay as async_relay
from steer_common import StreamParser
from steer_common.relay import encoder
from steer_sync import SteerLLMClient
from steer_sync.web.relay import relay

ROOT = Path(__file__).resolve().parent.parent


def chat_stream(n: int) -> list[bytes]:
    """A Chat Completions stream of ``n`` text deltas, one SSE event per chunk."""

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "the",
        "lazy",
        "dog",
        "and",
        "runs",
        "away",
    ]
    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": words[i % len(words)] + " "}) for i in range(n)]
    out.append(chunk({}, "stop"))
    out.append(b"data: [DONE]\n\n")
    return out


def core_alone(chunks: list[bytes]) -> int:
    parser = StreamParser("openai")
    count = 0
    for piece in chunks:
        count += len(parser.feed(piece))
    return count + len(parser.close())


def core_relayed(protocol: str) -> Callable[[list[bytes]], int]:
    def run(chunks: list[bytes]) -> int:
        parser = StreamParser("openai")
        enc = encoder(protocol)
        out = 0
        for piece in chunks:
            for event in parser.feed(piece):
                out += sum(map(len, enc.feed(event)))
        for event in parser.close():
            out += sum(map(len, enc.feed(event)))
        return out + sum(map(len, enc.close()))

    return run


def cpu(run: Callable[[], Any]) -> float:
    started = time.process_time()
    run()
    return time.process_time() - started


def ratios(contenders: dict[str, Callable[[], Any]], rounds: int, events: int) -> list[list[str]]:
    """Round-robin CPU per event; each contender's ratio to the first, round by round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for run in contenders.values():
        run()  # warm-up
    for _ in range(rounds):
        for name, run in contenders.items():
            times[name].append(cpu(run) / events)
    base = next(iter(times.values()))
    rows = []
    for name, values in times.items():
        r = [v / b for v, b in zip(values, base, strict=True)]
        rows.append(
            [
                name,
                f"{statistics.median(values) * 1e6:.2f}",
                f"{statistics.median(r):.3f}",
                f"{min(r):.3f} to {max(r):.3f}",
            ]
        )
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "steer_emulator", "--port", "0", "--print-env"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "OPENAI_BASE_URL=" in line:
            return process, line.split("OPENAI_BASE_URL=", 1)[1].strip().strip("'\"")
    raise RuntimeError("the emulator printed no OPENAI_BASE_URL")


def prose(chars: int) -> str:
    """Text that does not repeat itself (the client stops a reply that loops)."""
    rng = random.Random(7)
    words = [
        "the",
        "of",
        "and",
        "to",
        "in",
        "is",
        "that",
        "it",
        "for",
        "on",
        "with",
        "as",
        "was",
        "at",
        "by",
        "an",
        "be",
        "this",
        "from",
        "or",
        "are",
    ]
    out: list[str] = []
    while sum(map(len, out)) < chars:
        out.append(rng.choice(words) + rng.choice(" ,.;") + " ")
    return "".join(out)[:chars]


def prompt(**script: Any) -> str:
    return f"q [[emulator:{json.dumps(script)}]]"


class _Stamped:
    """An encoder that notes when each event reached it (read in the relay's thread)."""

    def __init__(self, inner: Any, handed: list[float]) -> None:
        self._inner, self._handed = inner, handed

    def feed(self, event: Any) -> list[bytes]:
        self._handed.append(time.perf_counter())
        frames: list[bytes] = self._inner.feed(event)
        return frames

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def latencies(client: SteerLLMClient, q: str, heartbeat: float | None, thread: bool) -> list[float]:
    """Per event: from the client handing it on to the relay handing its frame on."""
    handed: list[float] = []
    sse: Any = encoder("sse")

    def stamped() -> Iterator[Any]:  # not the client's own stream: read in a thread
        for event in client.stream_events(q, model="gpt-4o-mini"):
            handed.append(time.perf_counter())
            yield event

    if thread:
        events: Any = stamped()
    else:  # the client's stream, read in the relay's thread: stamped as it is encoded
        events, sse = client.stream_events(q, model="gpt-4o-mini"), _Stamped(sse, handed)
    out = []
    seen = 0
    for _frame in relay(events, sse, heartbeat):
        now = time.perf_counter()
        # The events handed on since the last frame: the last of them made this frame.
        if len(handed) > seen:
            out.append(now - handed[-1])
            seen = len(handed)
    return out


def async_ratios(base_url: str, q: str, args: argparse.Namespace) -> list[list[str]]:
    """The asyncio client alone, and through ``steer_async.web.relay.relay``: with
    ``heartbeat=None``, and with the default heartbeats (read in a task of its own)."""
    loop = asyncio.new_event_loop()
    client = AsyncClient(api_keys={"openai": "bench"}, base_urls={"openai": base_url})

    async def alone() -> None:
        async for _ in client.stream_events(q, model="gpt-4o-mini"):
            pass

    async def relayed(heartbeat: float | None) -> None:
        frames = async_relay(
            client.stream_events(q, model="gpt-4o-mini"), encoder("sse"), heartbeat
        )
        async for _ in frames:
            pass

    n = loop.run_until_complete(_count(client, q))
    contenders: dict[str, Callable[[], Any]] = {
        "stream_events() alone": lambda: loop.run_until_complete(alone()),
        "relay, sse, heartbeat=None": lambda: loop.run_until_complete(relayed(None)),
        "relay, sse, heartbeat=15 (reader task)": lambda: loop.run_until_complete(relayed(15.0)),
    }
    try:
        return ratios(contenders, args.rounds, n)
    finally:
        loop.run_until_complete(client.close())
        loop.close()


async def _count(client: AsyncClient, q: str) -> int:
    return sum([1 async for _ in client.stream_events(q, model="gpt-4o-mini")])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="text deltas per stream")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    chunks = chat_stream(args.events)
    events = core_alone(chunks)
    core = {"parser alone": lambda: core_alone(chunks)}
    for protocol in ("sse", "ai-sdk", "ag-ui"):
        core[f"parser + {protocol} encoder"] = lambda p=protocol: core_relayed(p)(chunks)
    print(f"## CPU per event, core ({events} events a stream, {args.rounds} rounds)\n")
    print(table(["contender", "µs/event", "ratio", "spread"], ratios(core, args.rounds, events)))

    emulator, base_url = start_emulator()
    try:
        client = SteerLLMClient(api_keys={"openai": "bench"}, base_urls={"openai": base_url})
        q = prompt(text=prose(args.events * 5), chunk_chars=5)

        def alone() -> None:
            for _ in client.stream_events(q, model="gpt-4o-mini"):
                pass

        def relayed(heartbeat: float | None, thread: bool = False) -> Callable[[], None]:
            def run() -> None:
                events: Any = client.stream_events(q, model="gpt-4o-mini")
                if thread:  # a stream the relay cannot give reads up on: its reader thread
                    events = (event for event in events)
                for _ in relay(events, encoder("sse"), heartbeat):
                    pass

            return run

        n = sum(1 for _ in client.stream_events(q, model="gpt-4o-mini"))
        contenders = {
            "stream_events() alone": alone,
            "relay, sse, heartbeat=None": relayed(None),
            "relay, sse, heartbeat=15 (idle reads, the default)": relayed(15.0),
            "relay, sse, heartbeat=15 (another stream: reader thread)": relayed(15.0, True),
        }
        print(f"\n## CPU per event, blocking client over loopback ({n} events a stream)\n")
        print(
            table(["contender", "µs/event", "ratio", "spread"], ratios(contenders, args.rounds, n))
        )

        print(f"\n## CPU per event, asyncio client (httpx) over loopback ({n} events a stream)\n")
        print(table(["contender", "µs/event", "ratio", "spread"], async_ratios(base_url, q, args)))

        paced = prompt(text=prose(2500), chunk_chars=5, event_delay=0.002)
        rows = []
        for name, heartbeat, thread in (
            ("heartbeat=None", None, False),
            ("heartbeat=15 (idle reads, the default)", 15.0, False),
            ("heartbeat=15 (another stream: reader thread)", 15.0, True),
        ):
            got: list[float] = []
            for _ in range(3):
                got += latencies(client, paced, heartbeat, thread)
            got.sort()
            p50, p99 = (got[min(len(got) - 1, int(q * len(got)))] * 1e3 for q in (0.5, 0.99))
            rows.append([name, str(len(got)), f"{p50:.3f}", f"{p99:.3f}", f"{got[-1] * 1e3:.3f}"])
        print("\n## Added latency per event, paced stream (one event every 2 ms)\n")
        print(table(["relay", "events", "p50 ms", "p99 ms", "max ms"], rows))
        client.close()
    finally:
        emulator.terminate()
        emulator.wait(10)


if __name__ == "__main__":
    main()
