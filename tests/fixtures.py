"""The recorded SSE fixtures (copied from the team's shared corpus, provenance kept).

Each ``tests/fixtures/sse/<group>/<name>.sse`` is a raw ``text/event-stream`` body and
``<name>.json`` says where it came from and what a correct parser must produce
(``tests/fixtures/sse/README.md``).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steer_common import StreamEvent, StreamParser, StreamResponse
from steer_common.errors import SteerError

FIXTURES = Path(__file__).parent / "fixtures" / "sse"


@dataclass(frozen=True)
class Fixture:
    name: str  # "<group>/<name>"
    body: bytes
    meta: dict[str, Any]

    @property
    def expected(self) -> dict[str, Any]:
        return self.meta["expected"]  # type: ignore[no-any-return]

    @property
    def group(self) -> str:
        return self.name.split("/")[0]

    @property
    def wire_format(self) -> str:
        """The StreamParser wire format this recording is in."""
        base = self.name.split("/")[1]
        if self.group == "gemini":
            # The Gemini API and Vertex AI send the same chunks (one adapter).
            return "vertex_ai" if base.startswith("vertex-") else "gemini"
        if self.group == "azure":
            # OpenAI's formats: StreamParser("openai"/"openai_responses") reads them too.
            return "azure_responses" if base.startswith("responses-") else "azure"
        if self.group == "bedrock":
            return "bedrock_anthropic" if base.startswith("invoke-") else "bedrock"
        if self.group == "anthropic":
            return "anthropic"
        if self.group == "xai":
            return "xai"
        if self.group == "compat":
            return "openai_compatible"
        if base.startswith("responses-"):
            return "openai_responses"
        return "openai"

    @property
    def is_http_error(self) -> bool:
        """A recorded HTTP error reply: a JSON body, not a stream."""
        return self.expected.get("terminated_by") == "http_error" or "http_status" in self.expected

    @property
    def is_sse_vector(self) -> bool:
        """A synthetic WHATWG conformance vector, checked at the SSE layer only."""
        return "events" in self.expected


def load_fixtures() -> list[Fixture]:
    """Every recording: ``.sse`` bodies, Bedrock's binary ``.eventstream`` bodies, and the
    recorded HTTP error bodies (``.json.body`` beside Bedrock's)."""
    out = []
    bodies = [*FIXTURES.glob("*/*.sse"), *FIXTURES.glob("*/*.eventstream")]
    bodies += FIXTURES.glob("*/*.json.body")
    for path in sorted(bodies):
        stem = path.name.removesuffix(".body").rsplit(".", 1)[0]
        meta = json.loads((path.parent / f"{stem}.json").read_text(encoding="utf-8"))
        out.append(Fixture(f"{path.parent.name}/{stem}", path.read_bytes(), meta))
    return out


ALL = load_fixtures()
STREAMS = [f for f in ALL if not f.is_sse_vector and not f.is_http_error]
SSE_VECTORS = [f for f in ALL if f.is_sse_vector]
HTTP_ERRORS = [f for f in ALL if f.is_http_error]


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any order, duplicates allowed)."""
    points = sorted({min(max(c, 0), len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def byte_at_a_time(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def by_name(name: str) -> Fixture:
    """The recording ``<group>/<name>``."""
    return next(f for f in ALL if f.name == name)


def parse(
    fixture: Fixture, pieces: list[bytes] | None = None, *, wire_format: str | None = None
) -> tuple[list[StreamEvent], StreamResponse, SteerError | None]:
    """A recording through StreamParser (in its own format, or ``wire_format``): its
    events, its (partial) response, its error."""
    parser = StreamParser(wire_format or fixture.wire_format)
    events: list[StreamEvent] = []
    try:
        for piece in [fixture.body] if pieces is None else pieces:
            events += parser.feed(piece)
        events += parser.close()
    except SteerError as exc:
        events += exc.events
        assert exc.partial_response is not None
        return events, exc.partial_response, exc
    return events, parser.response, None
