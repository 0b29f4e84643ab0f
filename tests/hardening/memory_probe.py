"""Run one stream in a fresh process and report how much its peak RSS grew.

Used by test_memory.py: ``python -m tests.hardening.memory_probe <client> <mode> <base_url>
[max_event_size]`` prints one JSON line ``{"growth_kb", "chars", "error"}``. The baseline
is the peak RSS after the imports and a small warm-up stream, so the growth is what the
big stream itself cost.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
from typing import Any

import steer_async
import steer_sync
from steer_common import StreamingOptions
from steer_common.errors import SteerError


def peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def consume(kind: str, mode: str, base_url: str, options: StreamingOptions) -> tuple[int, str]:
    """Stream once; the number of text characters received, and the error's name."""
    kwargs: dict[str, Any] = {"api_keys": {"openai": "sk-probe"}, "base_urls": {"openai": base_url}}
    chars = 0
    error = ""
    if kind == "sync":
        client = steer_sync.SteerLLMClient(**kwargs)
        try:
            if mode == "with_usage":
                chars = len(
                    client.stream_with_usage(
                        "go", model="gpt-4o-mini", streaming_options=options
                    ).text
                )
            else:
                for chunk in client.stream("go", model="gpt-4o-mini", streaming_options=options):
                    chars += len(chunk)
        except SteerError as exc:
            error = type(exc).__name__
        client.close()
        return chars, error

    async def main() -> tuple[int, str]:
        nonlocal chars, error
        transport = "aiohttp" if kind == "aiohttp" else None
        async with steer_async.SteerLLMClient(**kwargs, transport=transport) as client:
            try:
                if mode == "with_usage":
                    response = await client.stream_with_usage(
                        "go", model="gpt-4o-mini", streaming_options=options
                    )
                    chars = len(response.text)
                else:
                    async for chunk in client.stream(
                        "go", model="gpt-4o-mini", streaming_options=options
                    ):
                        chars += len(chunk)
            except SteerError as exc:
                error = type(exc).__name__
        return chars, error

    return asyncio.run(main())


def main(argv: list[str]) -> None:
    kind, mode, base_url, *rest = argv
    options = StreamingOptions(
        max_repetitions=None,
        retry_on_connection_error=False,
        preserve_partial_response=mode != "stream_low_memory",
        **({"max_event_size": int(rest[0])} if rest else {}),
    )
    consume(kind, "stream", base_url + "/warmup", StreamingOptions())  # imports, pools, caches
    baseline = peak_kb()
    chars, error = consume(kind, mode, base_url, options)
    print(json.dumps({"growth_kb": peak_kb() - baseline, "chars": chars, "error": error}))


if __name__ == "__main__":
    main(sys.argv[1:])
