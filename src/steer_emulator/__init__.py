"""The loopback emulator: a server that streams like the providers, and its sans-IO parts.

:class:`Emulator` (:mod:`steer_emulator.server`, ``python -m steer_emulator``) serves
every wire format on a loopback port, from a thread of its own and without an HTTP client
library, so blocking and asyncio tests use it alike; the ``steer_emulator`` pytest fixture
(:mod:`steer_emulator.pytest_plugin`) runs one per test. The core (``steer_common``) never
imports this package.

The wire renderers behind it are the inverse of :class:`~steer_common.StreamParser`, and
like it free of I/O: a :class:`ScriptedReply` describes a reply (text, reasoning, tool
calls, usage, faults), :func:`render` turns it into the exact server-sent events a
provider sends, one ``bytes`` per event, and :func:`error_body` gives the JSON a provider
sends with an HTTP error. The server only moves these bytes. Feeding the bytes of
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

The names below are loaded when first used, so that importing the pytest plugin (which
every pytest run of a project with this package installed does) loads nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from steer_emulator.derive import fit_to_request, reply_for_request
    from steer_emulator.formats import error_body, error_type_for, keepalive, render
    from steer_emulator.request_text import DIRECTIVE_PREFIX, parse_directive
    from steer_emulator.script import ScriptedCall, ScriptedReply, Usage
    from steer_emulator.server import TOKEN_PATH, Emulator, RecordedRequest

    WIRE_FORMATS: tuple[str, ...]

__all__ = [
    "DIRECTIVE_PREFIX",
    "TOKEN_PATH",
    "WIRE_FORMATS",
    "Emulator",
    "RecordedRequest",
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

_WHERE = {
    "Emulator": "steer_emulator.server",
    "RecordedRequest": "steer_emulator.server",
    "TOKEN_PATH": "steer_emulator.server",
    "ScriptedCall": "steer_emulator.script",
    "ScriptedReply": "steer_emulator.script",
    "Usage": "steer_emulator.script",
    "DIRECTIVE_PREFIX": "steer_emulator.request_text",
    "parse_directive": "steer_emulator.request_text",
    "fit_to_request": "steer_emulator.derive",
    "reply_for_request": "steer_emulator.derive",
    "error_body": "steer_emulator.formats",
    "error_type_for": "steer_emulator.formats",
    "keepalive": "steer_emulator.formats",
    "render": "steer_emulator.formats",
}


def __getattr__(name: str) -> Any:
    if name == "WIRE_FORMATS":  # every wire format the renderers speak: the registry's
        value: Any = tuple(import_module("steer_common.providers").FORMATS)
    elif name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module 'steer_emulator' has no attribute {name!r}")
    globals()[name] = value  # loaded once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
