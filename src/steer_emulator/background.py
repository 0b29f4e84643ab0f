"""Background mode, emulated (free of I/O): OpenAI's (and Azure's) Responses API and
Gemini's Interactions API.

A ``POST /responses`` or ``POST /interactions`` with ``"background": true`` (and
``"stream": true``) makes a response the server keeps and generates whoever listens.

**Responses** (https://platform.openai.com/docs/guides/background): its stream starts with
``response.created`` (status ``queued``) and ``response.queued``, then
``response.in_progress`` and the reply, each event numbered by ``sequence_number``; every
``response`` object says ``"background": true``.

- ``GET /responses/{id}?stream=true&starting_after=N`` streams the kept response's events
  again, from the one after sequence number ``N`` (from the start without it);
- ``GET /responses/{id}`` (no stream) answers the response object as it stands;
- ``POST /responses/{id}/cancel`` cancels it (status ``cancelled``).

**Interactions** (the google-genai SDK's ``interactions.get(id, stream=True,
last_event_id=...)`` and ``interactions.cancel(id)``): the stream as it is rendered, each
event named by an opaque ``event_id``.

- ``GET /interactions/{id}?stream=true&last_event_id=E`` streams the kept interaction's
  events again, from the one after the event ``E`` (from the start without it; an id it
  never sent is a 400);
- ``GET /interactions/{id}`` answers the interaction as it stands;
- ``POST /interactions/{id}/cancel`` cancels it (status ``cancelled``).

Either expires after :attr:`BackgroundStore.ttl` seconds: then ``404``.

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
from typing import Any, NamedTuple

from steer_emulator._wire import dumps, frame
from steer_emulator.script import ScriptedReply

__all__ = [
    "BackgroundStore",
    "Kept",
    "KeptPath",
    "keep_events",
    "keep_interaction",
    "kept_path",
]

#: ``.../responses/{id}`` and ``.../responses/{id}/cancel`` (any prefix: OpenAI's, Azure's),
#: ``.../interactions/{id}`` and ``.../interactions/{id}/cancel`` (Gemini's).
_KEPT = re.compile(
    r"^(?P<base>.*/(?P<kind>responses|interactions))/(?P<id>[A-Za-z0-9_\-]+)"
    r"(?P<cancel>/cancel)?/?$"
)
_KINDS = {"responses": "openai_responses", "interactions": "gemini_interactions"}


class KeptPath(NamedTuple):
    """What a path about a kept response names: its id, whether it cancels it, and the
    wire format its endpoint speaks (for the errors of a response not found)."""

    response_id: str
    cancel: bool
    wire_format: str


def kept_path(path: str) -> KeptPath | None:
    """What a path about a kept response names, or ``None``."""
    match = _KEPT.fullmatch(path)
    if match is None:
        return None
    return KeptPath(match.group("id"), match.group("cancel") is not None, _KINDS[match["kind"]])


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


def keep_interaction(events: list[bytes]) -> tuple[str, list[bytes], dict[str, Any]]:
    """A rendered Interactions stream as background mode keeps it (the events as they
    are: each names itself by its ``event_id``). Returns the interaction id, the events,
    and the final interaction."""
    interaction_id, final = "", {}
    for event in events:
        data = event.decode().split("data: ", 1)[1].rstrip("\n")
        if not data.startswith("{"):
            continue  # [DONE]
        value = json.loads(data)
        interaction = value.get("interaction")
        if isinstance(interaction, dict):
            interaction_id = interaction_id or interaction["id"]
            final = interaction
    return interaction_id, list(events), final


def _event_id(event: bytes) -> str | None:
    data = event.decode().split("data: ", 1)[1]
    if not data.startswith("{"):
        return None
    value = json.loads(data)
    return value.get("event_id") if isinstance(value, dict) else None


@dataclass
class Kept:
    """One kept response.

    Attributes:
        wire_format: ``openai_responses``, ``azure_responses`` or ``gemini_interactions``.
        events: every event of the response, framed (a Responses event's index is its
            sequence number).
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

    @property
    def event_ids(self) -> list[str | None]:
        """The ``event_id`` of each event (Interactions; ``None`` where an event has none)."""
        return [_event_id(event) for event in self.events]

    def start(self, params: dict[str, str]) -> int:
        """The first event a stream picked up again sends, from its query: after
        ``starting_after=N`` (Responses) or ``last_event_id=E`` (Interactions), else 0.

        Raises:
            ValueError: a cursor that names no event of this response (the message says).
        """
        if self.wire_format == "gemini_interactions":
            after = params.get("last_event_id")
            if after is None:
                return 0
            for index, event in enumerate(self.events):
                if _event_id(event) == after:
                    return index + 1
            raise ValueError(f"last_event_id {after!r} names no event of this interaction")
        if "starting_after" not in params:
            return 0
        try:
            return int(params["starting_after"]) + 1
        except ValueError:
            raise ValueError("starting_after must be an integer") from None

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
        """The response object as ``GET /responses/{id}`` (``/interactions/{id}``)
        answers it."""
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
        keep = keep_interaction if wire_format == "gemini_interactions" else keep_events
        response_id, framed, final = keep(events)
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

    def kept(self) -> list[Kept]:
        """Every kept response not yet expired or cleared, oldest first."""
        with self._lock:
            return list(self._kept.values())

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.cancelled.clear()
