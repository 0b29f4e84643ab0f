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

Which renderer speaks which wire format is part of each format's record in the emulator's
table (:data:`steer_emulator.formats.EMULATIONS`, keyed by the names of the registry,
:data:`steer_common.providers.FORMATS`); :func:`render` and :func:`error_body` look it up.
"""

from __future__ import annotations

from steer_common.providers import FORMATS
from steer_emulator.derive import fit_to_request, reply_for_request
from steer_emulator.formats import error_body, error_type_for, keepalive, render
from steer_emulator.request_text import DIRECTIVE_PREFIX, parse_directive
from steer_emulator.script import ScriptedCall, ScriptedReply, Usage

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

#: Every wire format the renderers speak: the registry's.
WIRE_FORMATS = tuple(FORMATS)
