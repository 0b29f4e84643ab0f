"""Instructions per event for one asyncio contender, counted by callgrind: a figure the
machine's noise does not move, for comparing contenders whose times differ by less than
the spread of ``benchmarks/clients.py``.

Run ``python benchmarks/instructions.py minimal text usage`` (valgrind must be installed;
each contender takes about a minute and a half). For each contender the client runs under
``valgrind --tool=callgrind`` twice, with one warm-up stream and then 0 or 2 more streams;
the difference, per event, is what one event costs the client. The server is the one
``benchmarks/clients.py`` uses, in its own process, which callgrind does not follow.

Contenders: ``raw`` and ``minimal`` (the loops over httpx of ``clients.py``), ``text`` and
``usage`` (steer async ``stream()`` and ``stream_with_usage()`` on httpx); ``aio-raw``,
``aio-minimal``, ``aio-text`` and ``aio-usage``: the same on aiohttp (the loops over an
``aiohttp.ClientSession`` of ``clients.py``, steer on its aiohttp transport).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
from pathlib import Path
from typing import Any

import httpx

import steer_async

sys.path.insert(0, str(Path(__file__).parent))

import clients  # the benchmark's own server and loops
from callgrind import collected

CONTENDERS = (
    "raw",
    "minimal",
    "text",
    "usage",
    "aio-raw",
    "aio-minimal",
    "aio-text",
    "aio-usage",
)


def streams(contender: str, fmt: str, key: str, more: int) -> None:
    """One warm-up stream, then ``more`` streams (what callgrind counts)."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=clients._server_main, args=(child,), daemon=True)
    server.start()
    base = f"http://127.0.0.1:{parent.recv()}"

    async def run() -> None:
        hx = httpx.AsyncClient(timeout=httpx.Timeout(60.0))
        loops: Any = clients.HttpxLoops(base, hx)
        session = None
        if contender.startswith("aio-"):
            import aiohttp  # the aiohttp extra, only for its contenders

            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
            )
            loops = clients.AiohttpLoops(base, session)
        kw: dict[str, Any] = {
            "api_keys": {"openai": "k", "anthropic": "k"},
            "base_urls": {"openai": f"{base}/v1", "anthropic": base},
        }
        if contender.startswith("aio-"):
            kw["transport"] = "aiohttp"
        steer = steer_async.SteerLLMClient(**kw)
        fn = {
            "raw": loops.raw,
            "minimal": loops.minimal,
            "text": clients.steer_async_text(steer),
            "usage": clients.steer_async_usage(steer),
        }.get(contender.removeprefix("aio-"))
        assert fn is not None, contender
        for _ in range(1 + more):
            await fn(fmt, key)
        await hx.aclose()
        await steer.aclose()
        if session is not None:
            await session.close()

    try:
        asyncio.run(run())
    finally:
        server.kill()


def counted(contender: str, fmt: str, key: str, more: int) -> int:
    return collected(__file__, "--child", str(more), "--fmt", fmt, "--key", key, contender)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("contenders", nargs="+", choices=CONTENDERS)
    ap.add_argument("--fmt", default="chat", choices=clients.FORMATS)
    ap.add_argument("--key", default="d5x10000", help="the workload (clients.parse_key)")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        streams(args.contenders[0], args.fmt, args.key, args.child)
        return
    events = clients.sse_events(args.fmt, clients.parse_key(args.key)[2])
    print(f"| contender | {args.fmt} {args.key}: instructions per event |")
    print("|---|--:|")
    for contender in args.contenders:
        per_stream = (
            counted(contender, args.fmt, args.key, 2) - counted(contender, args.fmt, args.key, 0)
        ) / 2
        print(f"| {contender} | {per_stream / events:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
