"""Coverage-guided fuzzing of StreamParser with atheris (libFuzzer).

    python fuzz/fuzz_parser.py -runs=200000          # or -max_total_time=600

The input picks a wire format and cut points, then the rest is fed as the body. The
invariant (h11's): only SteerError subclasses escape, whatever the bytes.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from steer_common import StreamParser
    from steer_common.errors import SteerError
    from steer_common.providers import ADAPTERS

FORMATS = sorted(ADAPTERS)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    wire_format = FORMATS[fdp.ConsumeIntInRange(0, len(FORMATS) - 1)]
    cuts = sorted(fdp.ConsumeIntInRange(0, 4096) for _ in range(fdp.ConsumeIntInRange(0, 8)))
    body = fdp.ConsumeBytes(fdp.remaining_bytes())
    parser = StreamParser(wire_format, max_event_size=64 * 1024)
    start = 0
    try:
        for cut in [*cuts, len(body)]:
            parser.feed(body[start:cut])
            start = max(start, cut)
        parser.close()
    except SteerError:
        pass


def main(argv: list[str]) -> None:
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
