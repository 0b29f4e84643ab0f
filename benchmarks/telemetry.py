"""What OpenTelemetry costs per event: off, left out per call, and on.

Run ``python benchmarks/telemetry.py``. Every contender drives the same
:class:`~steer_common.session.StreamSession` over the same bytes (a Chat Completions stream
of ``--deltas`` text deltas, one server-sent event per read, the worst case for per-read
work), with no sockets: the commands are answered in the loop below, so what is measured
is the core's own per-event cost and nothing of a transport.

Contenders, run in alternation, ``--rounds`` times each (the machine is shared and noisy:
the median and the spread of the rounds are reported, with each contender's ratio to
``off``):

- **off**: :func:`steer_common.telemetry.instrument` never called (the default);
- **left out**: instrumented, but the call says ``enable_telemetry=False``;
- **on**: instrumented with the opentelemetry-sdk's ``TracerProvider`` (a
  ``SimpleSpanProcessor`` into an in-memory exporter) and ``MeterProvider`` (an in-memory
  reader): one span, its events and every metric point, as an application would have;
- **on, chunk_timing=False**: the same without the point per read of
  ``gen_ai.client.operation.time_per_output_chunk`` (the SDK's cost per point dominates).

Compare ``off`` across two checkouts to see that the hooks cost nothing when off.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from steer_common import telemetry
from steer_common.calls import prepare_session
from steer_common.commands import Close, Compute, Connect, Deliver, Read, Sleep
from steer_common.http import ResponseHead

HEAD = ResponseHead(200, {"content-type": "text/event-stream", "x-request-id": "req_1"})


def chat_stream(deltas: int) -> list[bytes]:
    """A Chat Completions stream: role chunk, ``deltas`` text chunks, finish, usage, DONE."""

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None) -> bytes:
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [] if usage else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n".encode()

    usage = {"prompt_tokens": 10, "completion_tokens": deltas, "total_tokens": 10 + deltas}
    return [
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"content": f"w{i} "}) for i in range(deltas)),
        chunk({}, "stop"),
        chunk({}, usage=usage),
        b"data: [DONE]\n\n",
    ]


def drive(body: list[bytes], options: dict[str, Any]) -> str:
    """One whole call, its commands answered here; the reply's text."""
    session = prepare_session(
        "hi",
        model="gpt-4o-mini",
        api_keys={"openai": "sk-bench"},
        streaming_options=options,
        consumer="text",
    )
    flow = session.flow()
    reads = iter(body)
    out = []
    reply: Any = None
    try:
        while True:
            command = flow.send(reply)
            kind = type(command)
            reply = None
            if kind is Read or kind is Deliver:
                out.extend(e.delta for e in command.events if e.type == "text_delta")
                if kind is Read:
                    reply = next(reads, b"")
            elif kind is Connect:
                reply = HEAD
            elif kind is Compute:
                reply = command.function()
            elif kind not in (Close, Sleep):
                raise AssertionError(f"unexpected command {command!r}")
    except StopIteration:
        pass
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deltas", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args()

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    body = chat_stream(args.deltas)
    events = len(body)
    expected = "".join(f"w{i} " for i in range(args.deltas))

    def off() -> str:
        telemetry.uninstrument()
        return drive(body, {})

    def left_out() -> str:
        telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        return drive(body, {"enable_telemetry": False})

    def on() -> str:
        telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        spans.clear()
        return drive(body, {})

    def on_no_chunks() -> str:
        telemetry.instrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider, chunk_timing=False
        )
        spans.clear()
        return drive(body, {})

    contenders: dict[str, Callable[[], str]] = {
        "off": off,
        "left out": left_out,
        "on": on,
        "on, chunk_timing=False": on_no_chunks,
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for name, run in contenders.items():  # warm up, and check every reply
        assert run() == expected, name
    for _ in range(args.rounds):
        for name, run in contenders.items():
            gc.collect()  # each run starts from the same heap
            start = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - start) / events * 1e9)
    telemetry.uninstrument()

    base = statistics.median(times["off"])
    print(f"{args.deltas} deltas ({events} events, one per read), {args.rounds} rounds")
    print()
    print("| contender | ns per event (median) | spread (min-max) | ratio to off |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(
            f"| {name} | {median:,.0f} | {min(values):,.0f}-{max(values):,.0f} "
            f"| {median / base:.2f}x |"
        )


if __name__ == "__main__":
    main()
