"""Incremental JSON: ``JSONStream`` against one ``json.loads`` and the re-parse approaches.

Run ``python benchmarks/json_stream.py``: it prints the markdown tables in
docs/streaming-performance.md. A structured-output-shaped JSON document (an object with an
array of records holding strings, numbers, booleans, null, nested objects and arrays, plus a
long string field) is split at seeded random offsets into fragments, the way a model streams
it, and every contender reads the same fragments.

Contenders:

- **json.loads, once**: the whole document parsed in one call. The reference: every other
  time is reported as a multiple of it.
- **steer, feed only**: ``JSONStream(hold=True).feed(fragment)`` per fragment, ``close()``,
  ``.value``. ``hold=True`` queues fragments and parses them together once 1,024
  characters have arrived, so an invalid character is reported up to that much later;
  ``partial()`` can be asked at any moment (it parses what is queued first).
- **steer + partial()**: the same, with ``partial()`` after every fragment (what a UI that
  renders the partial object on every fragment does).
- **steer + partial(live=True)**: the same, asking for the machine's own value, which later
  feeds grow in place, instead of a snapshot: no copy of the open containers.
- **steer + typed partial**: ``JSONStream(hold=True)`` with ``partial()`` and
  ``PartialBuilder(Report).build(...)`` after every fragment (``Report`` declares the
  document's shape): what a ``partial_output`` event per read costs.
- Both steer contenders again with ``JSONStream()``, the default, which checks every
  character in the feed that brings it.
- **streaming-json-parser** (optional: run when it and its Rust backend,
  streaming-json-parser-native, are installed): a compiled incremental parser with partial
  values, ``StreamingJsonParser().feed(piece)`` per fragment and the result's ``.value``,
  its own state (grown in place, like ``partial(live=True)``), and on the small document
  also with ``copy_value=True`` (a deep copy per fragment, quadratic).
- **naive re-parse**: ``json.loads`` of the accumulated text after every fragment, catching
  the error until the text is complete. Quadratic.
- **jiter partial re-parse**: ``jiter.from_json(prefix_bytes, partial_mode="trailing-strings")``
  on every accumulated prefix. This is what the official SDKs' helpers do (openai's
  ``ChatCompletionStreamState`` for strict tools and parsed content, anthropic's
  ``accumulate_event`` for tool input), except that they pass ``partial_mode=True``, which
  leaves out a string still arriving; ``"trailing-strings"`` keeps it, as ``partial()``
  does. Quadratic.
- **partial-json-parser**: ``partial_json_parser.loads(prefix)`` on every prefix. Worse
  than quadratic and slow (minutes on the full document): it runs on a 10x smaller document
  (20 KB, 400 fragments), and on the full one only with ``--full``. For the full size the
  table also gives two labelled estimates: the quadratic extrapolation (100x the small
  document's time, a lower bound, since its cost per character grows with the prefix) and
  the time of every 40th prefix times 40.

Every contender's final value must equal ``json.loads``' (same types, same key order): the
run stops if one differs. Times are CPU time (``time.process_time``) of the whole stream,
best of N, contenders round-robin, GC on: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jiter
from pydantic import BaseModel

from steer_common.json_stream import JSONStream
from steer_common.partial import PartialBuilder

# ---------------------------------------------------------------------------------------
# The document and its fragments
# ---------------------------------------------------------------------------------------

_WORD_LIST = (
    "the of and to in is that it for on with as was at by an be this from or are not "
    "have but all can which their will one there been has more would about if its so "
    'stream parser event token model reply: café naïve — “quoted” "JSON" back\\slash'
)
_WORDS = tuple(_WORD_LIST.split())


def _text(chars: int, rng: random.Random) -> str:
    out: list[str] = []
    size = 0
    while size < chars:
        word = rng.choice(_WORDS)
        if rng.random() < 0.05:
            word += ".\n\n" if rng.random() < 0.3 else ","
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:chars]


def _dumps(obj: Any) -> str:
    # Compact, non-ASCII as is: how structured output usually arrives.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def make_document(size: int, seed: int = 7) -> str:
    """About ``size`` characters of structured-output-shaped JSON.

    An object with a title, a count, an array of records (about 125 characters each:
    int, string, float, bool, null or int, an array of 0-2 strings, a nested object) and a
    long string field (``summary``, a sixteenth of the size, with escapes and non-ASCII).
    """
    rng = random.Random(seed)
    summary = _text(size // 16, rng)
    records: list[dict[str, Any]] = []
    total = len(summary) + 100
    while total < size:
        record = {
            "id": len(records) + 1,
            "name": _text(rng.randint(3, 10), rng),
            "score": round(rng.uniform(-50, 100), 3),
            "active": rng.random() < 0.5,
            "manager": None if rng.random() < 0.6 else rng.randint(1, len(records) + 1),
            "tags": [rng.choice(_WORDS) for _ in range(rng.randint(0, 2))],
            "address": {
                "city": _text(rng.randint(3, 6), rng),
                "zip": f"{rng.randrange(10**5):05d}",
            },
        }
        records.append(record)
        total += len(_dumps(record)) + 1
    document = {
        "title": "Quarterly customer report",
        "count": len(records),
        "records": records,
        "summary": summary,
    }
    return _dumps(document)


def split(document: str, fragments: int, seed: int = 1) -> list[str]:
    """``document`` cut at ``fragments - 1`` seeded random offsets (fragment sizes vary)."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(document)), fragments - 1))
    bounds = [0, *cuts, len(document)]
    return [document[a:b] for a, b in itertools.pairwise(bounds)]


@dataclass
class Workload:
    name: str
    document: str
    pieces: list[str]
    expected: Any = None

    def __post_init__(self) -> None:
        assert "".join(self.pieces) == self.document
        self.expected = json.loads(self.document)

    @property
    def kb(self) -> float:
        return len(self.document.encode()) / 1000


def workload(size: int, fragments: int) -> Workload:
    document = make_document(size)
    return Workload(
        f"{size // 1000} KB / {fragments:,} fragments", document, split(document, fragments)
    )


# ---------------------------------------------------------------------------------------
# Contenders: each reads a workload and returns the final value
# ---------------------------------------------------------------------------------------


def json_loads_once(w: Workload) -> Any:
    return json.loads(w.document)


def steer(*, hold: bool, partial: bool, live: bool = False) -> Callable[[Workload], Any]:
    def run(w: Workload) -> Any:
        stream = JSONStream(hold=hold)
        feed = stream.feed
        if partial and live:
            value = stream.partial
            for piece in w.pieces:
                feed(piece)
                value(live=True)
        elif partial:
            snapshot = stream.partial
            for piece in w.pieces:
                feed(piece)
                snapshot()
        else:
            for piece in w.pieces:
                feed(piece)
        stream.close()
        return stream.value

    return run


class Address(BaseModel):
    city: str
    zip: str


class Record(BaseModel):
    id: int
    name: str
    score: float
    active: bool
    manager: int | None
    tags: list[str]
    address: Address


class Report(BaseModel):
    """The document's shape, as a structured-output user would declare it."""

    title: str
    count: int
    records: list[Record]
    summary: str


def typed(w: Workload) -> Any:
    """``JSONStream(hold=True)`` + ``partial()`` + a typed partial (``PartialBuilder``) per
    fragment: what ``partial_output`` events cost; the complete value checked by the model."""
    stream = JSONStream(hold=True)
    builder = PartialBuilder(Report)
    feed, snapshot, build = stream.feed, stream.partial, builder.build
    for piece in w.pieces:
        feed(piece)
        build(snapshot())
    stream.close()
    builder.final(stream.value)
    return stream.value


def naive_reparse(w: Workload) -> Any:
    text = ""
    value = None
    for piece in w.pieces:
        text += piece
        try:
            value = json.loads(text)
        except ValueError:
            continue
    return value


def jiter_reparse(w: Workload) -> Any:
    # As openai's ChatCompletionStreamState does: the accumulated str, encoded, re-parsed
    # (the SDK passes partial_mode=True; "trailing-strings" also keeps an open string).
    text = ""
    value = None
    for piece in w.pieces:
        text += piece
        value = jiter.from_json(text.encode(), partial_mode="trailing-strings")
    return value


def pjp_reparse(w: Workload) -> Any:
    import partial_json_parser

    text = ""
    value = None
    for piece in w.pieces:
        text += piece
        value = partial_json_parser.loads(text)
    return value


def sjp(*, copy: bool) -> Callable[[Workload], Any]:
    """streaming-json-parser's ``StreamingJsonParser`` (with its Rust backend,
    streaming-json-parser-native): ``feed(piece)`` and the result's ``.value`` per fragment,
    its own state (``copy=False``, like ``partial(live=True)``) or a copy (``copy_value``)."""

    def run(w: Workload) -> Any:
        from streaming_json_parser import StreamingJsonParser

        parser = StreamingJsonParser()
        feed = parser.feed
        result = None
        for piece in w.pieces:
            result = feed(piece, copy_value=copy)
            _ = result.value
        return None if result is None else result.value

    return run


def _sjp_versions() -> str | None:
    """The versions of streaming-json-parser and its native backend, if both are installed."""
    from importlib import metadata

    try:
        import streaming_json_parser_native  # noqa: F401  (the Rust backend it runs on)

        return ", ".join(
            f"{name} {metadata.version(name)}"
            for name in ("streaming-json-parser", "streaming-json-parser-native")
        )
    except (ImportError, metadata.PackageNotFoundError):
        return None


#: partial_json_parser on the full document: time every PJP_STEP-th prefix only.
PJP_STEP = 40

#: The steer contenders: (mode, feed only key, + partial() key, + partial(live=True) key).
STEER_MODES = (
    ("JSONStream(hold=True)", "hfeed", "hpartial", "hlive"),
    ("JSONStream()", "feed", "partial", "live"),
)
STEER = (*(key for _, *keys in STEER_MODES for key in keys), "typed")

CONTENDERS: dict[str, tuple[str, Callable[[Workload], Any]]] = {
    "loads": ("json.loads, once (reference)", json_loads_once),
    "hfeed": ("steer JSONStream(hold=True), feed only", steer(hold=True, partial=False)),
    "hpartial": (
        "steer JSONStream(hold=True) + partial() per fragment",
        steer(hold=True, partial=True),
    ),
    "hlive": (
        "steer JSONStream(hold=True) + partial(live=True) per fragment",
        steer(hold=True, partial=True, live=True),
    ),
    "feed": ("steer JSONStream(), feed only", steer(hold=False, partial=False)),
    "partial": ("steer JSONStream() + partial() per fragment", steer(hold=False, partial=True)),
    "live": (
        "steer JSONStream() + partial(live=True) per fragment",
        steer(hold=False, partial=True, live=True),
    ),
    "typed": (
        "steer JSONStream(hold=True) + partial() + typed partial (PartialBuilder) per fragment",
        typed,
    ),
    "sjp": (
        "streaming-json-parser (Rust backend): feed() + its live .value per fragment",
        sjp(copy=False),
    ),
    "sjpcopy": (
        "streaming-json-parser (Rust backend): feed(copy_value=True) per fragment",
        sjp(copy=True),
    ),
    "naive": ("naive: json.loads of each prefix", naive_reparse),
    "jiter": ('jiter.from_json(prefix, partial_mode="trailing-strings")', jiter_reparse),
    "pjp": ("partial_json_parser.loads(prefix)", pjp_reparse),
}


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------


@dataclass
class Timing:
    key: str
    runs: int  # best of this many
    times: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.times)


def _same(got: Any, expected: Any) -> bool:
    # == alone takes True for 1 and 1 for 1.0; the dump also compares types and key order.
    return got == expected and _dumps(got) == _dumps(expected)


def measure(w: Workload, runs: dict[str, int], budget: float) -> dict[str, Timing]:
    """Best CPU time of each contender on ``w``, round-robin. Each runs ``runs[key]`` times;
    then json.loads and the steer contenders go on round-robin while ``budget`` CPU seconds
    last. The first run of each is also the correctness check."""
    timings = {key: Timing(key, n) for key, n in runs.items()}

    def timed(t: Timing) -> None:
        run = CONTENDERS[t.key][1]
        gc.collect()
        t0 = time.process_time()
        got = run(w)
        t.times.append(time.process_time() - t0)
        if len(t.times) == 1 and not _same(got, w.expected):
            sys.exit(f"{w.name}: {CONTENDERS[t.key][0]} disagrees with json.loads; stopping")

    for round_ in range(max(runs.values())):
        for t in timings.values():
            if round_ < t.runs:
                timed(t)
    cheap = [t for t in timings.values() if t.key in ("loads", "sjp", *STEER)]
    spent = sum(sum(t.times) for t in cheap)
    deadline = time.process_time() + max(0.0, budget - spent)
    while cheap and time.process_time() < deadline:
        for t in cheap:
            timed(t)
    # json.loads is quick: give it many more runs for a steady reference.
    loads = timings.get("loads")
    if loads:
        for _ in range(50):
            timed(loads)
    return timings


def ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def us(seconds: float) -> str:
    value = seconds * 1e6
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def ratio(a: float, b: float) -> str:
    r = a / b
    return f"{r:.2f}x" if r < 10 else f"{r:.1f}x" if r < 100 else f"{r:,.0f}x"


def _revision() -> str:
    """The commit, and whether steer_common/json_stream.py differs from it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--", "src/steer_common/json_stream.py"],
            cwd=root,
            check=False,
        ).returncode
    except OSError:
        return "an unknown commit"
    if not head:
        return "an unknown commit"
    return f"commit {head}" + (" (json_stream.py modified)" if dirty else "")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------


def pjp_sampled(w: Workload, step: int) -> float:
    """CPU time of partial_json_parser.loads on every ``step``-th prefix (the last prefix,
    the whole document, included), times ``step``: an estimate of the full run."""
    import partial_json_parser

    prefixes = []
    text = ""
    for k, piece in enumerate(w.pieces, 1):
        text += piece
        if k % step == 0 or k == len(w.pieces):
            prefixes.append(text)
    gc.collect()
    t0 = time.process_time()
    for prefix in prefixes:
        value = partial_json_parser.loads(prefix)
    seconds = time.process_time() - t0
    if not _same(value, w.expected):
        sys.exit(f"{w.name}: partial_json_parser disagrees with json.loads; stopping")
    return seconds * len(w.pieces) / len(prefixes)


def contender_table(
    w: Workload, res: dict[str, Timing], estimates: list[tuple[str, float]]
) -> None:
    ref = res["loads"].best
    n = len(w.pieces)
    print(f"**{w.name}** ({w.kb:.0f} KB UTF-8, {len(w.document):,} characters)")
    print()
    print("| contender | best of | CPU ms | ÷ one json.loads | µs per fragment |")
    print("|---|--:|--:|--:|--:|")
    for key, t in res.items():
        print(
            f"| {CONTENDERS[key][0]} | {len(t.times)} | {ms(t.best)} | {ratio(t.best, ref)} "
            f"| {us(t.best / n)} |"
        )
    for label, seconds in estimates:
        print(f"| {label} | - | ~{ms(seconds)} | ~{ratio(seconds, ref)} | ~{us(seconds / n)} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--full",
        action="store_true",
        help="also run partial-json-parser on the full 200 KB document (about 4 minutes)",
    )
    ap.add_argument(
        "--budget",
        type=float,
        default=3.0,
        help="CPU seconds per workload for extra json.loads / steer repeats",
    )
    ap.add_argument("--slow-runs", type=int, default=3, help="runs of the quadratic contenders")
    args = ap.parse_args()

    import partial_json_parser  # noqa: F401  (imported before timing starts)
    from partial_json_parser.version import __version__ as pjp_version

    started = time.perf_counter()

    def progress(what: str) -> None:
        print(f"  {what}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)

    main_w = workload(200_000, 4_000)
    small_w = workload(20_000, 400)
    linear = [workload(100_000, 2_000), main_w, workload(400_000, 8_000)]
    sweep = [workload(200_000, 400), main_w, workload(200_000, 40_000)]
    gc.collect()
    gc.freeze()  # the documents live for the whole run: keep them out of the collector's way

    slow = args.slow_runs
    steer_runs = dict.fromkeys(STEER, 5)
    # The compiled incremental parser, when it is installed: its live value is as cheap as
    # steer's to ask for, its copies are deep (quadratic: the small document only).
    sjp_version = _sjp_versions()
    sjp_runs = {"sjp": 5} if sjp_version else {}
    main_runs = {"loads": 20, **steer_runs, **sjp_runs, "naive": slow, "jiter": slow}
    if args.full:
        main_runs["pjp"] = 1
    main_res = measure(main_w, main_runs, args.budget)
    progress(main_w.name)
    pjp_estimate = pjp_sampled(main_w, PJP_STEP)
    progress(f"{main_w.name}: partial_json_parser on every {PJP_STEP}th prefix")
    if sjp_version:
        sjp_runs["sjpcopy"] = slow
    small_runs = {"loads": 20, **steer_runs, **sjp_runs, "naive": 5, "jiter": 5, "pjp": slow}
    small_res = measure(small_w, small_runs, args.budget / 3)
    progress(small_w.name)
    scaled: dict[str, dict[str, Timing]] = {main_w.name: main_res}
    for w in [*linear, *sweep]:
        if w.name not in scaled:
            scaled[w.name] = measure(w, {"loads": 20, **steer_runs}, args.budget)
            progress(w.name)

    print(
        f"Measured {datetime.date.today().isoformat()}: CPython {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}, {_cpu_model()}, {os.cpu_count()} CPUs; "
        f"jiter {jiter.__version__}, "
        f"partial-json-parser {pjp_version}"
        f"{'; ' + sjp_version if sjp_version else ' (streaming-json-parser not installed)'}. "
        "CPU time (time.process_time), best of N, "
        f"contenders round-robin, GC on. steer at {_revision()}."
    )
    print()
    # If each prefix cost time proportional to its length, the total would grow with
    # fragments x size, both 10x larger here: 100x the small document's time. It is a lower
    # bound: partial_json_parser's cost per character grows with the prefix.
    factor = (len(main_w.pieces) / len(small_w.pieces)) * (
        len(main_w.document) / len(small_w.document)
    )
    pjp = CONTENDERS["pjp"][0]
    estimates = [
        (
            f"{pjp}, **extrapolated** {factor:.0f}x from 20 KB (quadratic, not measured)",
            small_res["pjp"].best * factor,
        ),
        (
            f"{pjp}, **estimated** from every {PJP_STEP}th prefix x {PJP_STEP} (not a full run)",
            pjp_estimate,
        ),
    ]
    contender_table(main_w, main_res, estimates)
    contender_table(small_w, small_res, [])

    print("Linearity of steer: document size and fragment count grow together.")
    print()
    print(
        "| document | steer | json.loads ms | feed only ms | feed µs per KB | + partial() ms "
        "| + partial() µs per KB | + partial(live=True) ms | + live µs per KB "
        "| feed ÷ json.loads | + partial() ÷ json.loads | + live ÷ json.loads |"
    )
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for mode, feed_key, part_key, live_key in STEER_MODES:
        for w in linear:
            r = scaled[w.name]
            ref, feed, part = r["loads"].best, r[feed_key].best, r[part_key].best
            live = r[live_key].best
            print(
                f"| {w.name} | {mode} | {ms(ref)} | {ms(feed)} | {us(feed / w.kb)} "
                f"| {ms(part)} | {us(part / w.kb)} | {ms(live)} | {us(live / w.kb)} "
                f"| {ratio(feed, ref)} | {ratio(part, ref)} | {ratio(live, ref)} |"
            )
    print()
    print("Fragment size: the 200 KB document in 400, 4,000 and 40,000 fragments.")
    print()
    print(
        "| fragments | mean fragment (chars) | steer | feed only ms | feed µs per fragment "
        "| + partial() ms | + partial() µs per fragment | feed ÷ json.loads "
        "| + partial() ÷ json.loads |"
    )
    print("|--:|--:|---|--:|--:|--:|--:|--:|--:|")
    for mode, feed_key, part_key, _ in STEER_MODES:
        for w in sweep:
            r = scaled[w.name]
            ref, feed, part = r["loads"].best, r[feed_key].best, r[part_key].best
            n = len(w.pieces)
            print(
                f"| {n:,} | {len(w.document) / n:.0f} | {mode} | {ms(feed)} | {us(feed / n)} "
                f"| {ms(part)} | {us(part / n)} | {ratio(feed, ref)} | {ratio(part, ref)} |"
            )
    print()
    ref = main_res["loads"].best
    feed = main_res["hfeed"].best
    verdict = "met" if feed <= 5 * ref else f"missed by {feed / (5 * ref):.1f}x"
    print(
        f"Target: validation with partial values available within 5x of one json.loads "
        f"({main_w.name}): JSONStream(hold=True), partial() at any moment: "
        f"{ratio(feed, ref)}, {verdict}."
    )
    for mode, feed_key, part_key, live_key in STEER_MODES:
        print(
            f"{mode}: feed only {ratio(main_res[feed_key].best, ref)}, "
            f"partial() after every fragment {ratio(main_res[part_key].best, ref)}, "
            f"partial(live=True) after every fragment {ratio(main_res[live_key].best, ref)}."
        )
    part, typed_best = main_res["hpartial"].best, main_res["typed"].best
    live = main_res["hlive"].best
    verdict = "met" if part <= 5 * ref else f"missed by {part / (5 * ref):.2f}x"
    live_verdict = "met" if live <= 5 * ref else f"missed by {live / (5 * ref):.2f}x"
    print(
        f"Target: partial() after every fragment within 5x of one json.loads: "
        f"{ratio(part, ref)}, {verdict} (partial(live=True): {ratio(live, ref)}, "
        f"{live_verdict}). Typed partials on top within 2x of partial(): "
        f"{ratio(typed_best, part)} ({ratio(typed_best, ref)} of json.loads), "
        f"{'met' if typed_best <= 2 * part else 'missed'}."
    )
    if "sjp" in main_res:
        print(
            f"A compiled incremental parser for comparison: streaming-json-parser's live value "
            f"after every fragment {ratio(main_res['sjp'].best, ref)} of json.loads, "
            f"{ratio(main_res['sjp'].best, live)} of partial(live=True)."
        )
    print()
    print("Linearity of typed partials (a PartialBuilder per fragment):")
    print()
    print("| document | json.loads ms | typed ms | typed µs per KB | typed ÷ json.loads |")
    print("|---|--:|--:|--:|--:|")
    for w in linear:
        r = scaled[w.name]
        ref_w, typed_w = r["loads"].best, r["typed"].best
        print(
            f"| {w.name} | {ms(ref_w)} | {ms(typed_w)} | {us(typed_w / w.kb)} "
            f"| {ratio(typed_w, ref_w)} |"
        )
    progress("done")


if __name__ == "__main__":
    main()
