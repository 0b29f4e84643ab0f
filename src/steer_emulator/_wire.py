"""Helpers every renderer shares: SSE framing, compact JSON, deterministic ids, truncation."""

from __future__ import annotations

import json
import random
import string
import uuid
from typing import Any

from steer_emulator.script import ScriptedReply

__all__ = ["Ids", "cut", "dumps", "frame"]

_ALNUM = string.ascii_letters + string.digits


def dumps(value: Any) -> str:
    """JSON the way the providers send it: no spaces, UTF-8 text left unescaped."""
    # ensure_ascii=False: real streams carry raw UTF-8 ("Olá", "40°C"), which is what
    # exercises a client's decoding of characters split across reads.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def frame(data: str, event: str | None = None) -> bytes:
    """One SSE event: an optional ``event:`` line, one ``data:`` line, a blank line."""
    if event is None:
        return f"data: {data}\n\n".encode()
    return f"event: {event}\ndata: {data}\n\n".encode()


def cut(events: list[bytes], terminal_at: int, reply: ScriptedReply) -> list[bytes]:
    """Apply ``truncate_after_events``: at most that many events, never the terminal one."""
    limit = reply.truncate_after_events
    if limit is None:
        return events
    return events[: max(0, min(limit, terminal_at))]


class Ids:
    """Deterministic ids in each provider's shape, derived from the reply's seed."""

    __slots__ = ("_rng",)

    def __init__(self, reply: ScriptedReply, label: str) -> None:
        # random.Random seeded with a str hashes it with SHA-512: stable across runs and
        # PYTHONHASHSEED, so a script renders to the same bytes every time.
        self._rng = random.Random(f"{label}\x00{reply.id_seed}")

    def alnum(self, n: int) -> str:
        """``n`` letters and digits."""
        return "".join(self._rng.choice(_ALNUM) for _ in range(n))

    def hex(self, n: int) -> str:
        """``n`` lowercase hex digits."""
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(n))

    def digits(self, n: int) -> str:
        """``n`` decimal digits."""
        return "".join(self._rng.choice(string.digits) for _ in range(n))

    def uuid(self) -> str:
        """A UUID-shaped id (xAI's completion ids)."""
        return str(uuid.UUID(int=self._rng.getrandbits(128)))

    def b64(self, n: int) -> str:
        """``n`` base64 characters (opaque signatures)."""
        return "".join(self._rng.choice(_ALNUM + "+/") for _ in range(n))
