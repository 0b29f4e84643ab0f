"""The wire renderers behind the loopback emulator: a scripted reply in, provider bytes out.

The inverse of :class:`~steer_common.StreamParser`, and like it free of I/O: a
:class:`ScriptedReply` describes a reply (text, reasoning, tool calls, usage, faults),
:func:`render` turns it into the exact server-sent events a provider sends, one ``bytes``
per event, and :func:`error_body` gives the JSON a provider sends with an HTTP error. The
server (``python -m steer_sync.emulator``) only moves these bytes. Feeding the bytes of
:func:`render` to ``StreamParser`` gives back the script: that is what the tests check::

    from steer_emulator import ScriptedReply, render
    events = render("anthropic", ScriptedReply(text="Hello!", reasoning="Say hello."))

:func:`reply_for_request` decides what the emulator answers a request: by default an echo
of the prompt, a tool call, a JSON document or a tool-result answer, and exactly what a
``[[emulator:{...}]]`` directive in the last user message asks for (see
:mod:`steer_emulator.derive`).

Which renderer speaks which wire format is part of each format's record in the registry
(:data:`steer_common.providers.FORMATS`); :func:`render` and :func:`keepalive` look it up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from steer_emulator.derive import fit_to_request, reply_for_request
from steer_emulator.error_bodies import error_body, error_type_for
from steer_emulator.request_text import DIRECTIVE_PREFIX, parse_directive
from steer_emulator.script import ScriptedCall, ScriptedReply, Usage

if TYPE_CHECKING:
    from steer_common.providers.base import WireFormat

__all__ = [
    "DIRECTIVE_PREFIX",
    "WIRE_FORMATS",
    "ScriptedCall",
    "ScriptedReply",
    "Usage",
    "error_body",
    "error_type_for",
    "fit_to_request",
    "keepalive",
    "parse_directive",
    "render",
    "reply_for_request",
]


def render(wire_format: str, reply: ScriptedReply) -> list[bytes]:
    """The body a provider streams for ``reply``: one ``bytes`` per server-sent event.

    Args:
        wire_format: a registered wire format (:data:`WIRE_FORMATS`).
        reply: what to send, faults included (an in-band error ends the list; a
            truncation drops the terminal events).

    Raises:
        ConfigurationError: an unknown wire format (also a ``ValueError``).
    """
    events: list[bytes] = _format(wire_format).emulation.render(reply)
    return events


def keepalive(wire_format: str) -> bytes:
    """What the provider sends to keep a silent stream open (Anthropic ``ping`` events;
    OpenAI-style servers SSE comment lines, which a parser must skip)."""
    return _format(wire_format).emulation.keepalive


def _format(wire_format: str) -> WireFormat:
    from steer_common.providers import get_format  # noqa: PLC0415 - the registry imports this package

    return get_format(wire_format)


def __getattr__(name: str) -> Any:
    if name == "WIRE_FORMATS":  # every wire format the renderers speak: the registry's
        from steer_common.providers import FORMATS  # noqa: PLC0415

        return tuple(FORMATS)
    raise AttributeError(f"module 'steer_emulator' has no attribute {name!r}")
