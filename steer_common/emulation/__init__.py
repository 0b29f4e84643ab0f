"""The wire renderers behind the loopback emulator: a scripted reply in, provider bytes out.

The inverse of :class:`~steer_common.StreamParser`, and like it free of I/O: a
:class:`ScriptedReply` describes a reply (text, reasoning, tool calls, usage, faults),
:func:`render` turns it into the exact server-sent events a provider sends, one ``bytes``
per event, and :func:`error_body` gives the JSON a provider sends with an HTTP error. The
server (``python -m steer_sync.emulator``) only moves these bytes. Feeding the bytes of
:func:`render` to ``StreamParser`` gives back the script: that is what the tests check::

    from steer_common.emulation import ScriptedReply, render
    events = render("anthropic", ScriptedReply(text="Hello!", reasoning="Say hello."))

:func:`reply_for_request` decides what the emulator answers a request: by default an echo
of the prompt, a tool call, a JSON document or a tool-result answer, and exactly what a
``[[emulator:{...}]]`` directive in the last user message asks for (see
:mod:`steer_common.emulation.derive`).

=======================  ============================================  =========================
wire format              what it is                                    renderer module
=======================  ============================================  =========================
``openai``               OpenAI Chat Completions                       :mod:`.render_openai_chat`
``xai``                  xAI's Chat Completions dialect                :mod:`.render_openai_chat`
``openai_compatible``    OpenRouter-style Chat Completions             :mod:`.render_openai_chat`
``openai_responses``     OpenAI Responses API                          :mod:`.render_openai_responses`
``anthropic``            Anthropic Messages                            :mod:`.render_anthropic`
=======================  ============================================  =========================
"""

from __future__ import annotations

from steer_common.emulation import render_anthropic, render_openai_chat, render_openai_responses
from steer_common.emulation.derive import fit_to_request, reply_for_request
from steer_common.emulation.error_bodies import error_body, error_type_for
from steer_common.emulation.request_text import DIRECTIVE_PREFIX, parse_directive
from steer_common.emulation.script import ScriptedCall, ScriptedReply, Usage

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

#: Every wire format the renderers speak.
WIRE_FORMATS = ("openai", "openai_responses", "anthropic", "xai", "openai_compatible")


def render(wire_format: str, reply: ScriptedReply) -> list[bytes]:
    """The body a provider streams for ``reply``: one ``bytes`` per server-sent event.

    Args:
        wire_format: one of :data:`WIRE_FORMATS`.
        reply: what to send, faults included (an in-band error ends the list; a
            truncation drops the terminal events).

    Raises:
        ValueError: an unknown wire format.
    """
    if wire_format == "anthropic":
        return render_anthropic.render(reply)
    if wire_format == "openai_responses":
        return render_openai_responses.render(reply)
    if wire_format in render_openai_chat.DIALECTS:
        return render_openai_chat.render(reply, wire_format)
    raise ValueError(f"unknown wire format {wire_format!r}; expected one of {WIRE_FORMATS}")


def keepalive(wire_format: str) -> bytes:
    """What the provider sends to keep a silent stream open.

    Anthropic sends ``ping`` events; OpenAI-style servers send SSE comment lines (OpenRouter
    writes ``: OPENROUTER PROCESSING``), which a parser must skip.
    """
    if wire_format == "anthropic":
        return b'event: ping\ndata: {"type": "ping"}\n\n'
    if wire_format == "openai_compatible":
        return b": OPENROUTER PROCESSING\n\n"
    return b": keep-alive\n\n"
