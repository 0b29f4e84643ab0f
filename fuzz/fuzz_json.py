"""Coverage-guided fuzzing of the incremental JSON machine with atheris (libFuzzer).

    python fuzz/fuzz_json.py -runs=200000            # or -max_total_time=600

The input picks the mode and cut points; the rest is the text. Invariants: only
SteerError subclasses escape; ``partial()`` never raises; a document the machine accepts
is one ``json.loads`` accepts, with the same value.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import atheris

with atheris.instrument_imports():
    from steer_common.errors import SteerError
    from steer_common.json_stream import JSONStream


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    hold = fdp.ConsumeBool()
    hold_chars = fdp.ConsumeIntInRange(1, 64)  # small batches end everywhere
    cuts = sorted(fdp.ConsumeIntInRange(0, 512) for _ in range(fdp.ConsumeIntInRange(0, 8)))
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    stream = JSONStream(hold=hold, hold_chars=hold_chars, max_depth=64, max_size=64 * 1024)
    start = 0
    try:
        for cut in [*cuts, len(text)]:
            stream.feed(text[start:cut])
            start = max(start, cut)
            stream.partial()
        stream.close()
    except SteerError:
        return
    try:
        expected = json.loads(text)
    except (ValueError, RecursionError):
        raise AssertionError(f"accepted what json.loads rejects: {text!r}") from None
    if not same(stream.value, expected):
        raise AssertionError(f"{text!r}: {stream.value!r} != {expected!r}")


def main(argv: list[str]) -> None:
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
