"""Token estimation throughput: tiktoken (cl100k_base) against the character estimator.

    python benchmarks/tokens.py

Counts the tokens of texts from 1 KB to 1 MB (English prose built from the recorded
replies in tests/fixtures/sse) with ``steer_common.tokens``: the tiktoken path (an
encoding read from the tests' offline copy, as the library reads one from tiktoken's
cache) and the per-provider character ratio. Also the one-time cost of loading the
encoding, which the clients run in a worker thread. CPU time, best of several runs.
"""

from __future__ import annotations

import os
import platform
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(ROOT / "tests" / "fixtures" / "tiktoken"))

from steer_common import StreamParser  # noqa: E402
from steer_common.tokens import count_with_encoding, estimate_chars, load_encoding  # noqa: E402


def corpus() -> str:
    parts = []
    for path in sorted((ROOT / "tests" / "fixtures" / "sse").glob("*/*.sse")):
        if path.parent.name == "framing":
            continue
        fmt = {"anthropic": "anthropic", "xai": "xai", "compat": "openai_compatible"}.get(
            path.parent.name, "openai"
        )
        if path.name.startswith("responses-"):
            fmt = "openai_responses"
        parser = StreamParser(fmt)
        try:
            parser.feed(path.read_bytes())
            parser.close()
        except Exception:
            continue
        parts.append(parser.response.text + (parser.response.reasoning or ""))
    return "\n".join(p for p in parts if p)


def best(fn: object, repeats: int = 5) -> float:
    result = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()  # type: ignore[operator]
        result = min(result, time.process_time() - start)
    return result


def main() -> None:
    start = time.process_time()
    encoding = load_encoding("cl100k_base")
    load_seconds = time.process_time() - start
    assert encoding is not None, "cl100k_base not found: set TIKTOKEN_CACHE_DIR"
    text = corpus()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, {date.today()}"
    )
    print(
        f"loading cl100k_base from the local cache: {load_seconds * 1000:.0f} ms CPU (once per process)\n"
    )
    print(
        "| text | tiktoken cl100k_base | character ratio | tiktoken tokens | character estimate | estimate error |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    for size in (1_000, 10_000, 100_000, 1_000_000):
        sample = (text * (size // len(text) + 1))[:size]
        tokens = count_with_encoding(encoding, sample)
        t_tik = best(lambda s=sample: count_with_encoding(encoding, s))
        t_chr = best(lambda s=sample: estimate_chars(len(s), "openai"), 50)
        estimate = estimate_chars(len(sample), "openai")
        mb = size / 1e6
        print(
            f"| {size // 1000:,} KB | {mb / t_tik:,.1f} MB/s ({t_tik * 1e3:.2f} ms) | "
            f"{t_chr * 1e6:.2f} µs | {tokens:,} | {estimate:,} | {100 * (estimate - tokens) / tokens:+.0f}% |"
        )


if __name__ == "__main__":
    main()
