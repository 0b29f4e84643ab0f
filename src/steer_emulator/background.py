"""OpenAI's background mode for the Responses API, emulated (free of I/O).

A ``POST /responses`` with ``"background": true`` (and ``"stream": true``) makes a response
the server keeps and generates whoever listens. Its stream starts with ``response.created``
(status ``queued``) and ``response.queued``, then ``response.in_progress`` and the reply,
each event numbered by ``sequence_number``; every ``response`` object says
``"background": true``. Then, as the API documents
(https://platform.openai.com/docs/guides/background):

- ``GET /responses/{id}?stream=true&starting_after=N`` streams the kept response's events
  again, from the one after sequence number ``N`` (from the start without it);
- ``GET /responses/{id}`` (no stream) answers the response object as it stands;
- ``POST /responses/{id}/cancel`` cancels it (status ``cancelled``);
- a kept response expires after :attr:`BackgroundStore.ttl` seconds: then ``404``.

Cuts are scripted by :attr:`~steer_emulator.script.ScriptedReply.cuts`: the connection
drops after that many events of the whole stream, each cut once, in order, on the first
connection that reaches it (the ``POST`` that starts the response, or a stream picked up
again); with :attr:`~steer_emulator.script.ScriptedReply.cut_mid_event`, half of the next
event goes out first, so the client also sees an event cut in two. The response itself is
always whole: the generation goes on while the client is away.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from steer_emulator._wire import dumps, frame
from steer_emulator.script import ScriptedReply

__all__ = ["BackgroundStore", "Kept", "keep_events", "kept_path"]

#: ``.../responses/{id}`` and ``.../responses/{id}/cancel`` (any prefix: OpenAI's, Azure's).
_KEPT = re.compile(r"^(?P<base>.*/responses)/(?P<id>[A-Za-z0-9_\-]+)(?P<cancel>/cancel)?/?$")


def kept_path(path: str) -> tuple[str, bool] | None:
    """The response id a path names and whether it is a cancel, or ``None``."""
    match = _KEPT.fullmatch(path)
    if match is None:
        return None
    return match.group("id"), match.group("cancel") is not None


def keep_events(events: list[bytes]) -> tuple[str, list[bytes], dict[str, Any]]:
    """A rendered Responses stream as background mode streams it: ``background: true`` on
    every response object, ``queued`` first (``response.created`` then ``response.queued``),
    the sequence numbers renumbered. Returns the response id, the events, and the final
    response object."""
    parsed = []
    for event in events:
        data = event.decode().split("data: ", 1)[1].rstrip("\n")
        parsed.append(json.loads(data))
    created = parsed[0]
    response_id = created["response"]["id"]
    created["response"]["status"] = "queued"
    queued = {"type": "response.queued", "response": dict(created["response"])}
    parsed.insert(1, queued)
    framed = []
    final: dict[str, Any] = {}
    for number, value in enumerate(parsed):
        value.pop("sequence_number", None)
        response = value.get("response")
        if isinstance(response, dict):
            response["background"] = True
            final = response
        value["sequence_number"] = number
        framed.append(frame(dumps(value), value["type"]))
    return response_id, framed, final


@dataclass
class Kept:
    """One kept response.

    Attributes:
        wire_format: ``openai_responses`` or ``azure_responses``.
        events: every event of the response, framed; the index is the sequence number.
        final: the response object once complete.
        script: the reply (its pacing: ``event_delay``).
        cuts: the cuts still to make, in events of the whole stream.
        expires: the Unix time it expires at.
        cancelled: ``POST .../cancel`` was received.
    """

    wire_format: str
    events: list[bytes]
    final: dict[str, Any]
    script: ScriptedReply
    cuts: list[int] = field(default_factory=list)
    expires: float = 0.0
    cancelled: bool = False

    def next_cut(self, start: int) -> int | None:
        """Where the connection streaming from event ``start`` drops (the cut is used),
        or ``None``: it streams to the end. A cut at or before ``start`` is dropped: it
        was passed by a client that resumed beyond it."""
        while self.cuts and self.cuts[0] <= start:
            self.cuts.pop(0)
        if not self.cuts:
            return None
        return self.cuts.pop(0) if self.cuts[0] < len(self.events) else None

    def snapshot(self) -> dict[str, Any]:
        """The response object as ``GET /responses/{id}`` answers it."""
        status = "cancelled" if self.cancelled else self.final.get("status", "completed")
        return {**self.final, "status": status}


class BackgroundStore:
    """The kept responses by id (thread-safe), each expiring ``ttl`` seconds after it
    was made."""

    def __init__(self, ttl: float = 3600.0) -> None:
        self.ttl = ttl
        self._kept: dict[str, Kept] = {}
        self._lock = threading.Lock()
        #: The ids of the responses cancelled, in order.
        self.cancelled: list[str] = []

    def keep(
        self, wire_format: str, script: ScriptedReply, events: list[bytes], now: float
    ) -> Kept:
        """Keep the response these rendered events make; return it (its id in
        ``final["id"]``)."""
        response_id, framed, final = keep_events(events)
        kept = Kept(wire_format, framed, final, script, sorted(script.cuts), now + self.ttl)
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items() if v.expires > now}
            self._kept[response_id] = kept
        return kept

    def get(self, response_id: str, now: float) -> Kept | None:
        """The kept response, or ``None`` (never made, or expired)."""
        with self._lock:
            kept = self._kept.get(response_id)
        return kept if kept is not None and kept.expires > now else None

    def cancel(self, response_id: str, now: float) -> Kept | None:
        """Cancel the kept response; ``None`` if there is none."""
        kept = self.get(response_id, now)
        if kept is not None:
            with self._lock:
                kept.cancelled = True
                self.cancelled.append(response_id)
        return kept

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.cancelled.clear()
