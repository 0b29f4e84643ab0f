"""Instructions per event of the sans-IO core against the minimal loop, counted by
callgrind: the figures of ``benchmarks/parser.py`` without the machine's noise.

Run ``python benchmarks/parser_instructions.py`` (valgrind must be installed; about 20 s
per cell). Each cell runs the contender under ``valgrind --tool=callgrind`` twice, with
one warm-up stream and then 0 or 2 more streams; the difference, per server-sent event,
is what one event costs. The workloads and the two contenders (``minimal_loop`` and
``steer``) are those of ``benchmarks/parser.py``.

``--workload chat|anthropic|responses|tool`` picks the workloads (all four by default),
``--feed event|64k`` the feed modes (both by default).
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import parser as core  # benchmarks/parser.py: the workloads and the contenders
from callgrind import collected

KINDS = ("chat", "anthropic", "responses", "tool")
FEEDS = {"event": "per event", "64k": "64 KiB reads"}


def workload(kind: str) -> core.Workload:
    if kind == "tool":
        return core.workloads(0, [(2_000, 100_000)])[-1]
    return next(w for w in core.workloads(10_000, []) if w.kind == kind)


def streams(contender: str, kind: str, feed: str, more: int) -> None:
    w = workload(kind)
    chunks = w.chunks(FEEDS[feed])
    run = core.minimal_loop(w.kind) if contender == "minimal" else core.steer(w.wire, w.kind)
    gc.collect()
    gc.freeze()
    for _ in range(1 + more):
        run(chunks)


def counted(contender: str, kind: str, feed: str, more: int) -> int:
    return collected(__file__, "--child", f"{contender},{kind},{feed},{more}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", action="append", choices=KINDS)
    ap.add_argument("--feed", action="append", choices=tuple(FEEDS))
    ap.add_argument(
        "--minimal",
        type=float,
        default=None,
        help="the minimal loop's count, if known (counts steer only)",
    )
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        contender, kind, feed, more = args.child.split(",")
        streams(contender, kind, feed, int(more))
        return
    print("| workload | feed | events | minimal loop instr./event | steer instr./event | ratio |")
    print("|---|---|--:|--:|--:|--:|")
    for kind in args.workload or KINDS:
        events = workload(kind).sse_events
        for feed in args.feed or tuple(FEEDS):
            per = {}
            if args.minimal is not None:
                per["minimal"] = args.minimal
            for contender in ("minimal", "steer")[args.minimal is not None :]:
                total = counted(contender, kind, feed, 2) - counted(contender, kind, feed, 0)
                per[contender] = total / 2 / events
            print(
                f"| {kind} | {FEEDS[feed]} | {events:,} | {per['minimal']:,.0f} | "
                f"{per['steer']:,.0f} | {per['steer'] / per['minimal']:.3f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
