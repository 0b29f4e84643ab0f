"""Run one stream in a fresh process against a decompression bomb: report what it cost.

Used by test_attacks.py: ``python -m tests.hardening.bomb_probe <client> <model>
<base_url> <read_timeout>`` prints one JSON line ``{"growth_kb", "seconds", "error",
"loop_late_ms"}``: the growth of peak RSS over the baseline (after imports and a warm-up
stream), the time the bomb took to fail, the error's name, and (asyncio client) how late
the event loop ran a 10 ms ticker at worst while the bomb was being inflated.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
from typing import Any

import steer_async
import steer_sync
from steer_common import StreamingOptions
from steer_common.errors import SteerError
from steer_common.tokens import encoding_for, load_encoding


def peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_sync(kwargs: dict[str, Any], model: str, options: StreamingOptions) -> str:
    client = steer_sync.SteerLLMClient(**kwargs)
    try:
        for _ in client.stream("go", model=model, streaming_options=options):
            pass
    except SteerError as exc:
        return type(exc).__name__
    finally:
        client.close()
    return ""


async def run_async(
    kwargs: dict[str, Any], model: str, options: StreamingOptions, lateness: list[float]
) -> str:
    loop = asyncio.get_running_loop()

    async def ticker() -> None:
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            lateness.append(loop.time() - before - 0.01)

    tick = asyncio.create_task(ticker())
    try:
        async with steer_async.SteerLLMClient(**kwargs) as client:
            try:
                async for _ in client.stream("go", model=model, streaming_options=options):
                    pass
            except SteerError as exc:
                return type(exc).__name__
        return ""
    finally:
        tick.cancel()


def main(argv: list[str]) -> None:
    kind, model, base_url, read_timeout = argv
    kwargs: dict[str, Any] = {
        "api_keys": {"openai": "sk-probe", "anthropic": "sk-ant-probe"},
        "base_urls": {"openai": base_url + "/v1", "anthropic": base_url},
    }
    warm = {
        **kwargs,
        "base_urls": {"openai": base_url + "/warmup/v1", "anthropic": base_url + "/warmup"},
    }
    options = StreamingOptions(read_timeout=float(read_timeout), retry_on_connection_error=False)
    # The token estimator's encodings are loaded before the bomb, as a warm process has
    # them: their first load (tiktoken parsing a BPE file, seconds of GIL on a slow
    # machine, in the async client's worker thread) is not what the bomb measures.
    for model_name in ("gpt-4o-mini", "claude-sonnet-4-5"):
        provider = "anthropic" if model_name.startswith("claude") else "openai"
        load_encoding(encoding_for(model_name, provider))
    lateness: list[float] = []
    if kind == "sync":
        run_sync(warm, model, StreamingOptions())
        baseline = peak_kb()
        started = time.monotonic()
        error = run_sync(kwargs, model, options)
    else:
        if kind == "aiohttp":  # the asyncio client on its aiohttp transport
            kwargs["transport"] = warm["transport"] = "aiohttp"
        asyncio.run(run_async(warm, model, StreamingOptions(), []))
        # What the ticker measures is the library's stepping: the objects of the imports
        # and the warm-up are frozen out of the collector, whose full passes over them
        # (over 100 ms on a slow machine) would stall any asyncio program alike.
        gc.collect()
        gc.freeze()
        baseline = peak_kb()
        started = time.monotonic()
        error = asyncio.run(run_async(kwargs, model, options, lateness))
    report = {
        "growth_kb": peak_kb() - baseline,
        "seconds": time.monotonic() - started,
        "error": error,
        "loop_late_ms": max(lateness, default=0.0) * 1000,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])
