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
  helper runs it: ``heartbeat=None`` (read in the server's thread) and ``heartbeat=15``
  (read in a thread of its own, events through a queue).

Each contender runs ``--rounds`` times round-robin; the table gives the median and the
spread (min to max) of the ratio to the stream alone, round by round.

**Added latency**: for a paced stream (one event every 2 ms), the time from the client
handing an event on to the relay handing its frame on, per event; p50, p99 and max.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


def latencies(client: SteerLLMClient, q: str, heartbeat: float | None) -> list[float]:
    """Per event: from the client handing it on to the relay handing its frame on."""
    handed: list[float] = []

    def stamped() -> Iterator[Any]:
        for event in client.stream_events(q, model="gpt-4o-mini"):
            handed.append(time.perf_counter())
            yield event

    out = []
    seen = 0
    for _frame in relay(stamped(), encoder("sse"), heartbeat):
        now = time.perf_counter()
        # The events handed on since the last frame: the last of them made this frame.
        if len(handed) > seen:
            out.append(now - handed[-1])
            seen = len(handed)
    return out


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

        def relayed(heartbeat: float | None) -> Callable[[], None]:
            def run() -> None:
                for _ in relay(
                    client.stream_events(q, model="gpt-4o-mini"), encoder("sse"), heartbeat
                ):
                    pass

            return run

        n = sum(1 for _ in client.stream_events(q, model="gpt-4o-mini"))
        contenders = {
            "stream_events() alone": alone,
            "relay, sse, heartbeat=None": relayed(None),
            "relay, sse, heartbeat=15 (reader thread)": relayed(15.0),
        }
        print(f"\n## CPU per event, blocking client over loopback ({n} events a stream)\n")
        print(
            table(["contender", "µs/event", "ratio", "spread"], ratios(contenders, args.rounds, n))
        )

        paced = prompt(text=prose(2500), chunk_chars=5, event_delay=0.002)
        rows = []
        for name, heartbeat in (("heartbeat=None", None), ("heartbeat=15 (reader thread)", 15.0)):
            got: list[float] = []
            for _ in range(3):
                got += latencies(client, paced, heartbeat)
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
