"""``python -m steer_sync``: replay a bundled recorded stream through the sans-IO core.

A real Anthropic stream (tests/fixtures/sse/anthropic/text.sse, recorded from the API)
is fed to :class:`~steer_common.StreamParser` in small pieces, as a socket would deliver
it; the text is printed as it decodes, then the usage and the finish reason.
"""

from __future__ import annotations

import sys
import time
from importlib.resources import files

from steer_common import StreamParser


def main(argv: list[str] | None = None) -> int:
    body = files("steer_sync").joinpath("_demo/anthropic-text.sse").read_bytes()
    parser = StreamParser("anthropic")
    for start in range(0, len(body), 64):
        for event in parser.feed(body[start : start + 64]):
            if event.type == "text_delta":
                sys.stdout.write(event.delta or "")
                sys.stdout.flush()
        time.sleep(0.002)
    parser.close()
    response = parser.response
    usage = response.usage or {}
    sys.stdout.write("\n")
    sys.stdout.flush()
    sys.stderr.write(
        f"[{response.provider} {response.model}] finish={response.finish_reason} "
        f"prompt_tokens={usage.get('prompt_tokens')} completion_tokens={usage.get('completion_tokens')} "
        f"events={response.metrics.events}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
