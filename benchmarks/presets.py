"""What the presets and buffers buy: a busy consumer, the latency of a burst, compression.

Run ``python benchmarks/presets.py`` (about 2 minutes; ``--quick`` for a smoke run). It
prints the markdown tables of the "Presets and buffers" section of
docs/streaming-performance.md.

The server runs in its own process (it does not take the client's GIL) and writes one
HTTP chunk per server-sent event, Chat Completions chunks as in ``benchmarks/clients.py``.
Both clients run each workload with ``StreamingOptions()`` (the defaults),
``HIGH_THROUGHPUT_OPTIONS`` and ``LOW_LATENCY_OPTIONS``, in alternation, N times; the
tables give the median and, in brackets, the fastest and slowest run.

- **Busy consumer**: 2,000 deltas of 5 characters, sent as fast as the server can; the
  consumer spends 1 ms of CPU on each chunk it receives (rendering, a database write).
  With ``buffer_size`` the deltas that piled up meanwhile arrive as one chunk.
- **Burst latency**: 20 bursts of 200 events, 30 ms apart, each event stamped with the
  time the server wrote it; the latency of an event is the time from that stamp to the
  moment its text reaches the consumer. Small reads hand the first events of a burst on
  before the rest is parsed; the table gives the first event of each burst and every
  event.
- **Compression**: 10,000 deltas with ``enable_compression`` on (the server sends gzip,
  flushed after every event, as a compressing proxy does) and off: the bytes on the wire,
  the client's CPU time per stream, and the peak of Python memory allocated while
  streaming (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import time
import tracemalloc
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clients import _HEAD, Renderer, _chunk, make_deltas

STAMP = "@" * 17


def _server_main(conn: Any) -> None:
    """Serve until killed; send the port through ``conn`` first."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            # The prompt names the workload: "busy n=2000 size=5 gzip=1", "burst bursts=20 ...".
            kind, *pairs = body["messages"][-1]["content"].split()
            query = dict(pair.split("=") for pair in pairs)
            renderer = Renderer("chat")
            gzip = query.get("gzip") == "1" and "gzip" in self.headers.get("accept-encoding", "")
            compressor = zlib.compressobj(wbits=31) if gzip else None
            head = (
                _HEAD.replace(b"\r\n\r\n", b"\r\nContent-Encoding: gzip\r\n\r\n") if gzip else _HEAD
            )

            def frame(event: bytes) -> bytes:
                if compressor is not None:
                    event = compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH)
                return _chunk(event)

            write = self.wfile.write
            try:
                write(head + b"".join(frame(e) for e in renderer.head()))
                if kind == "burst":
                    template = renderer.delta(STAMP)
                    for _ in range(int(query["bursts"])):
                        time.sleep(float(query["gap"]))
                        for _ in range(int(query["size"])):
                            write(frame(template.replace(STAMP.encode(), b"%.6f" % time.time())))
                    n = int(query["bursts"]) * int(query["size"])
                else:
                    n = int(query["n"])
                    for text in make_deltas(n, int(query["size"])):
                        write(frame(renderer.delta(text)))
                tail = b"".join(frame(e) for e in renderer.tail(n))
                if compressor is not None:
                    tail += _chunk(compressor.flush())
                write(tail + b"0\r\n\r\n")
            except OSError:
                self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    conn.send(server.server_address[1])
    conn.close()
    server.serve_forever(poll_interval=0.5)


def work(seconds: float) -> None:
    """Spend ``seconds`` of CPU, as a consumer that renders or stores each chunk."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class Contender:
    """One client (sync or async) against the server: ``run(workload, options, on_chunk)``."""

    def __init__(self, kind: str, base: str) -> None:
        self.kind = kind
        keys, urls = {"openai": "k"}, {"openai": base + "/v1"}
        if kind == "sync":
            from steer_sync import SteerLLMClient

            self.client: Any = SteerLLMClient(api_keys=keys, base_urls=urls)
        else:
            from steer_async import SteerLLMClient as AsyncClient

            self.loop = asyncio.new_event_loop()
            self.client = AsyncClient(api_keys=keys, base_urls=urls)

    def run(self, workload: str, options: Any, on_chunk: Callable[[str], None]) -> None:
        """Stream ``workload`` with ``stream()``, handing each chunk to ``on_chunk``."""
        client = self.client
        if self.kind == "sync":
            for chunk in client.stream(workload, model="gpt-4o-mini", streaming_options=options):
                on_chunk(chunk)
            return

        async def main() -> None:
            async for chunk in client.stream(
                workload, model="gpt-4o-mini", streaming_options=options
            ):
                on_chunk(chunk)

        self.loop.run_until_complete(main())

    def response(self, workload: str, options: Any) -> Any:
        """``stream_with_usage(workload)``."""
        call = self.client.stream_with_usage(
            workload, model="gpt-4o-mini", streaming_options=options
        )
        return call if self.kind == "sync" else self.loop.run_until_complete(call)

    def close(self) -> None:
        if self.kind == "sync":
            self.client.close()
        else:
            self.loop.run_until_complete(self.client.aclose())
            self.loop.close()


def busy(contender: Contender, options: Any, n: int) -> float:
    """Wall seconds for one stream of ``n`` deltas with a 1 ms consumer."""
    started = time.perf_counter()
    contender.run(f"busy n={n} size=5", options, lambda chunk: work(0.001))
    return time.perf_counter() - started


def burst(contender: Contender, options: Any, bursts: int) -> list[tuple[float, float]]:
    """``(written, latency)`` in seconds for every event of ``bursts`` bursts of 200 events.
    A chunk's text is the stamps of the events it holds, 17 characters each."""
    seen: list[tuple[float, float]] = []

    def on_chunk(text: str) -> None:
        now = time.time()
        for i in range(0, len(text), 17):
            written = float(text[i : i + 17])
            seen.append((written, now - written))

    contender.run(f"burst bursts={bursts} size=200 gap=0.03", options, on_chunk)
    return seen


def first_of_each_burst(seen: list[tuple[float, float]]) -> list[float]:
    """The latency of the first event of each burst (bursts are 30 ms apart)."""
    firsts = []
    last = -1.0
    for written, latency in sorted(seen):
        if written - last > 0.01:
            firsts.append(latency)
        last = written
    return firsts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 2 if args.quick else 7
    n_busy = 500 if args.quick else 2000

    from steer_common import HIGH_THROUGHPUT_OPTIONS, LOW_LATENCY_OPTIONS, StreamingOptions

    presets = {
        "defaults": StreamingOptions(),
        "HIGH_THROUGHPUT_OPTIONS": HIGH_THROUGHPUT_OPTIONS,
        "LOW_LATENCY_OPTIONS": LOW_LATENCY_OPTIONS,
    }
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_server_main, args=(child,), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{parent.recv()}"
    contenders = {kind: Contender(kind, base) for kind in ("sync", "async")}
    try:
        busy_times: dict[tuple[str, str], list[float]] = {}
        latencies: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for rep in range(reps):
            for kind, contender in contenders.items():
                for name, options in presets.items():
                    busy_times.setdefault((kind, name), []).append(busy(contender, options, n_busy))
                    latencies.setdefault((kind, name), []).extend(
                        burst(contender, options, 4 if args.quick else 20)
                    )
            print(f"round {rep + 1}/{reps}", file=sys.stderr)
        compression = measure_compression(contenders, reps, 2000 if args.quick else 10_000)
    finally:
        for contender in contenders.values():
            contender.close()
        server.kill()
    report(busy_times, latencies, compression, n_busy)


def measure_compression(
    contenders: dict[str, Contender], reps: int, n: int
) -> dict[tuple[str, bool], dict[str, float]]:
    from steer_common import StreamingOptions

    out: dict[tuple[str, bool], dict[str, list[float]]] = {}
    for _ in range(reps):
        for kind, contender in contenders.items():
            for compressed in (False, True):
                options = StreamingOptions(enable_compression=compressed)
                tracemalloc.start()
                cpu = time.process_time()
                response = contender.response(f"busy n={n} size=5 gzip=1", options)
                cpu = time.process_time() - cpu
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                row = out.setdefault((kind, compressed), {"cpu": [], "bytes": [], "peak": []})
                row["cpu"].append(cpu)
                row["bytes"].append(response.metrics.bytes)
                row["peak"].append(peak)
    return {k: {m: statistics.median(v) for m, v in row.items()} for k, row in out.items()}


def _spread(values: list[float], scale: float, digits: int = 0) -> str:
    median = statistics.median(values) * scale
    return f"{median:,.{digits}f} ({min(values) * scale:,.{digits}f}-{max(values) * scale:,.{digits}f})"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    busy_times: dict[tuple[str, str], list[float]],
    latencies: dict[tuple[str, str], list[tuple[float, float]]],
    compression: dict[tuple[str, bool], dict[str, float]],
    n_busy: int,
) -> None:
    print(
        f"**Busy consumer** ({n_busy:,} deltas x 5 characters, 1 ms of work per chunk received; ms per stream, median (fastest-slowest))\n"
    )
    print("| client | defaults | HIGH_THROUGHPUT_OPTIONS | LOW_LATENCY_OPTIONS |")
    print("|---|---:|---:|---:|")
    for kind in ("sync", "async"):
        cells = [
            _spread(busy_times[kind, p], 1000)
            for p in ("defaults", "HIGH_THROUGHPUT_OPTIONS", "LOW_LATENCY_OPTIONS")
        ]
        print(f"| {kind} | {' | '.join(cells)} |")
    print(
        "\n**Burst latency** (bursts of 200 events, 30 ms apart; µs from the server's write "
        "of an event to its text reaching the consumer: the first event of each burst, "
        "median; every event, median / p90)\n"
    )
    print("| client | preset | first of a burst | every event: median / p90 |")
    print("|---|---|---:|---:|")
    for kind in ("sync", "async"):
        for p in ("defaults", "HIGH_THROUGHPUT_OPTIONS", "LOW_LATENCY_OPTIONS"):
            seen = latencies[kind, p]
            every = [latency for _, latency in seen]
            firsts = first_of_each_burst(seen)
            print(
                f"| {kind} | {p} | {statistics.median(firsts) * 1e6:,.0f} | "
                f"{statistics.median(every) * 1e6:,.0f} / {_pct(every, 0.9) * 1e6:,.0f} |"
            )
    print("\n**Compression** (stream_with_usage; median)\n")
    print(
        "| client | enable_compression | bytes on the wire | client CPU ms per stream | peak Python memory while streaming |"
    )
    print("|---|---|---:|---:|---:|")
    for kind in ("sync", "async"):
        for compressed in (False, True):
            row = compression[kind, compressed]
            print(
                f"| {kind} | {compressed} | {row['bytes'] / 1024:,.0f} KB | {row['cpu'] * 1000:,.1f} | {row['peak'] / 1024:,.0f} KB |"
            )


if __name__ == "__main__":
    main()
