"""Batches: ``client.batch(...)`` against the loops a user would write by hand, and Ray.

    python benchmarks/batch.py                 # 10,000 items, 3 rounds (about 4 minutes)
    python benchmarks/batch.py --items 2000 --rounds 2 --no-ray   # a quick look

Every contender sends the same short items (a Chat Completions stream of 10 deltas of 5
characters: 14 server-sent events) to the same loopback server, which runs in its own
process (``benchmarks/clients.py``'s server: pre-rendered bodies, keep-alive, one chunk
per event). Concurrency is the same for all (``--concurrency``, 16 by default):

- **async bare**: ``asyncio.gather`` over an ``asyncio.Semaphore``, each item a
  ``stream_with_usage`` call on one ``steer_async`` client: the loop a user writes today;
- **async batch**: ``client.batch(items, max_concurrency=C)`` on the same client;
- **sync bare**: a ``ThreadPoolExecutor(C)`` mapping ``stream_with_usage`` over one
  ``steer_sync`` client;
- **sync batch**: the blocking ``client.batch``;
- **ray batch**: ``steer_sync.ray_batch.ray_batch`` on a local cluster, 2 workers with
  C/2 calls each. Ray's start-up (``ray.init`` and the actors) is timed apart.

The rounds alternate the contenders. Each row gives the median of the rounds and their
spread (min-max), items per second, wall and CPU time per item (the CPU of this process:
the server's is not counted), and the ratio to the bare loop of the same client in the
same round. The library's overhead per item is its time per item minus the bare loop's.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from clients import _server_main

import steer_async
import steer_sync

PROMPT = "wl:d5x10"  # 10 deltas of 5 characters
TEXT = "".join(f"t{i:03d}" for i in range(10))  # what clients.py's server sends for it


def start_server() -> tuple[multiprocessing.Process, str]:
    parent, child = multiprocessing.Pipe()
    process = multiprocessing.Process(target=_server_main, args=(child,), daemon=True)
    process.start()
    port = parent.recv()
    return process, f"http://127.0.0.1:{port}/v1"


def check(texts: list[str], n: int) -> None:
    if len(texts) != n or any(t != texts[0] for t in texts) or not texts[0]:
        raise SystemExit(f"wrong results: {len(texts)} of {n}, first {texts[:1]!r}")


def timed(run: Callable[[], list[str]], n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    texts = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    check(texts, n)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    n, c = args.items, args.concurrency
    server, base = start_server()
    keys = {"openai": "k"}
    urls = {"openai": base}
    prompts = [PROMPT] * n
    model = "gpt-4o-mini"
    loop = asyncio.new_event_loop()
    aclient = steer_async.SteerLLMClient(keys, urls, max_connections=c)
    sclient = steer_sync.SteerLLMClient(keys, urls, max_connections=c)

    def async_bare() -> list[str]:
        async def go() -> list[str]:
            gate = asyncio.Semaphore(c)

            async def one(prompt: str) -> str:
                async with gate:
                    return (await aclient.stream_with_usage(prompt, model)).text

            return await asyncio.gather(*(one(p) for p in prompts))

        return loop.run_until_complete(go())

    def async_batch() -> list[str]:
        async def go() -> list[str]:
            batch = aclient.batch(prompts, model, max_concurrency=c)
            return [r.response.text async for r in batch]  # type: ignore[union-attr]

        return loop.run_until_complete(go())

    def sync_bare() -> list[str]:
        with ThreadPoolExecutor(c) as pool:
            return [
                r.text for r in pool.map(lambda p: sclient.stream_with_usage(p, model), prompts)
            ]

    def sync_batch() -> list[str]:
        return [r.response.text for r in sclient.batch(prompts, model, max_concurrency=c)]  # type: ignore[union-attr]

    contenders: dict[str, Callable[[], list[str]]] = {
        "async bare (gather + semaphore)": async_bare,
        "async client.batch": async_batch,
        "sync bare (thread pool)": sync_bare,
        "sync client.batch": sync_batch,
    }
    bare_of = {
        "async client.batch": "async bare (gather + semaphore)",
        "sync client.batch": "sync bare (thread pool)",
    }
    ray_note = ""
    if not args.no_ray:
        import ray

        from steer_sync.ray_batch import ray_batch

        began = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        up = time.perf_counter() - began
        warm = ray_batch([PROMPT] * 4, model, workers=2, max_concurrency=c,
                         client_settings={"api_keys": keys, "base_urls": urls})  # fmt: skip
        began = time.perf_counter()
        list(warm)
        first = time.perf_counter() - began
        ray_note = (
            f"Ray start-up: ray.init() of a local 2-CPU cluster {up:.2f} s; 2 actors and a "
            f"first batch of 4 items {first:.2f} s."
        )

        def ray_run() -> list[str]:
            batch = ray_batch(prompts, model, workers=2, max_concurrency=c,
                              client_settings={"api_keys": keys, "base_urls": urls})  # fmt: skip
            return [r.response.text for r in batch]  # type: ignore[union-attr]

        contenders["ray batch (2 workers, actors started each round)"] = ray_run
        bare_of["ray batch (2 workers, actors started each round)"] = "sync bare (thread pool)"

    for run in contenders.values():  # warm the connections and the imports
        saved = prompts[:]
        prompts[:] = [PROMPT] * min(n, 200)
        timed(run, len(prompts))
        prompts[:] = saved
    walls: dict[str, list[float]] = {k: [] for k in contenders}
    cpus: dict[str, list[float]] = {k: [] for k in contenders}
    ratios: dict[str, list[float]] = {k: [] for k in bare_of}
    for round_ in range(args.rounds):
        order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
        this: dict[str, float] = {}
        for name in order:
            wall, cpu = timed(contenders[name], n)
            walls[name].append(wall)
            cpus[name].append(cpu)
            this[name] = wall
            print(f"round {round_ + 1}: {name}: {wall:.2f} s", file=sys.stderr)
        for name, bare in bare_of.items():
            ratios[name].append(this[name] / this[bare])

    print(f"{n:,} items, concurrency {c}, {args.rounds} rounds; CPython "
          f"{sys.version.split()[0]}, {os.cpu_count()} cores\n")  # fmt: skip
    print(
        "| contender | items/s | wall µs/item | CPU µs/item | ÷ bare loop (median, min-max) | overhead µs/item |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    for name in contenders:
        wall = statistics.median(walls[name])
        cpu = statistics.median(cpus[name])
        if name in bare_of:
            r = ratios[name]
            ratio = f"{statistics.median(r):.2f}x ({min(r):.2f}-{max(r):.2f})"
            extra = (wall - statistics.median(walls[bare_of[name]])) / n * 1e6
            overhead = f"{extra:+.0f}"
        else:
            ratio, overhead = "1.00x", "-"
        print(f"| {name} | {n / wall:,.0f} | {wall / n * 1e6:,.0f} | {cpu / n * 1e6:,.0f} | "
              f"{ratio} | {overhead} |")  # fmt: skip
    if ray_note:
        print(f"\n{ray_note}")
    loop.run_until_complete(aclient.aclose())
    sclient.close()
    server.terminate()


if __name__ == "__main__":
    main()
