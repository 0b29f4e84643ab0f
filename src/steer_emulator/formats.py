"""How the emulator speaks each wire format: one :class:`Emulation` record per format.

The registry (:data:`steer_common.providers.FORMATS`) holds what the library knows of a
format (its adapter, request builder, endpoint, keys, keep-alive bytes) and knows nothing
of the emulator; :data:`EMULATIONS` holds, under the same names, what the emulator adds:
the renderer, the request reader, the error bodies, the fields and message rules a request
is checked against, the path prefix it is served under. A test keeps the two tables'
names the same. The functions below look a format up in both: :func:`render`,
:func:`keepalive`, :func:`error_body`, :func:`check_request`, :func:`read_conversation`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from steer_common.cost import known_model
from steer_common.providers import FORMATS, get_format
from steer_emulator import (
    readers,
    render_anthropic,
    render_bedrock,
    render_gemini,
    render_gemini_interactions,
    render_openai_chat,
    render_openai_responses,
    validation,
)
from steer_emulator.error_bodies import (
    anthropic_error_body,
    azure_error_body,
    bedrock_error_body,
    bedrock_error_headers,
    google_error_body,
    openai_error_body,
    xai_error_body,
)
from steer_emulator.headers import anthropic_headers, azure_headers, openai_headers
from steer_emulator.request_text import Conversation, parse_directive
from steer_emulator.script import ScriptedReply

__all__ = [
    "EMULATIONS",
    "Emulation",
    "check_request",
    "emulation",
    "error_body",
    "error_type_for",
    "fields",
    "keepalive",
    "read_conversation",
    "render",
]


@dataclass(frozen=True)
class Emulation:
    """How the loopback emulator speaks one wire format.

    Attributes:
        render: a scripted reply as the provider streams it, one ``bytes`` per event.
        read_request: a request body read as a neutral ``Conversation``.
        error_body: the JSON a provider sends with an HTTP error,
            ``(status, message, error_type) -> bytes``.
        fields: every body field the endpoint accepts, with its types and bounds.
        lenient: unknown fields pass (servers that each add their own).
        check_messages: the endpoint's rules for messages: a problem, or ``None``.
        refusal: the provider's 400 body for a problem, in its own words.
        prefix: the path prefix the emulator serves the format under (its base URL).
        claims: model-name prefixes that pick this format on a path another shares.
        request_id_header: the response header the provider puts its request id in.
        prefill: the text of a request's trailing assistant message, which the reply
            continues (``None``: the format has no prefill).
        cache_prefix: the part of a request marked for the prompt cache (``None``: no
            explicit cache marks).
        paths: more endpoint templates it is served on, whole (prefix included), with
            the query parameters each requires: Azure's deployment URLs and
            ``api-version``.
        signed: a SigV4 ``Authorization`` header is a credential (its shape is checked,
            not its signature).
        error_headers: the headers of an error reply, ``(status, error_type)``
            (Bedrock's ``x-amzn-ErrorType``).
        headers: the provider's other headers on a stream, ``(now, tokens)``: version,
            timing and rate-limit headers.
    """

    render: Callable[[Any], list[bytes]]
    read_request: Callable[[dict[str, Any]], Any]
    error_body: Callable[..., bytes]
    fields: Mapping[str, Any]
    check_messages: Callable[[Mapping[str, Any]], Any]
    refusal: Callable[..., bytes]
    prefix: str
    lenient: bool = False
    claims: tuple[str, ...] = ()
    request_id_header: str = "x-request-id"
    prefill: Callable[[Mapping[str, Any]], str] | None = None
    cache_prefix: Callable[[Mapping[str, Any]], str | None] | None = None
    paths: tuple[tuple[str, tuple[str, ...]], ...] = ()
    signed: bool = False
    error_headers: Callable[[int, str | None], dict[str, str]] | None = None
    headers: Callable[[float, int], dict[str, str]] | None = None


_CHAT = Emulation(
    render=render_openai_chat.render_openai,
    read_request=readers.read_chat,
    error_body=openai_error_body,
    fields=validation.CHAT_FIELDS,
    check_messages=validation.chat_messages,
    refusal=validation.chat_refusal,
    prefix="/v1",
    headers=openai_headers,
)
_RESPONSES = Emulation(
    render=render_openai_responses.render,
    read_request=readers.read_responses,
    error_body=openai_error_body,
    fields=validation.RESPONSES_FIELDS,
    check_messages=validation.responses_input,
    refusal=validation.responses_refusal,
    prefix="/v1",
    headers=openai_headers,
)
_MESSAGES = Emulation(
    render=render_anthropic.render,
    read_request=readers.read_messages,
    error_body=anthropic_error_body,
    fields=validation.MESSAGES_FIELDS,
    check_messages=validation.anthropic_messages,
    refusal=validation.anthropic_refusal,
    prefix="",
    headers=anthropic_headers,
    request_id_header="request-id",
    prefill=readers.read_prefill,
    cache_prefix=readers.cache_prefix,
)
_GEMINI = Emulation(
    render=render_gemini.render,
    read_request=readers.read_gemini,
    error_body=google_error_body,
    fields=validation.GEMINI_FIELDS,
    check_messages=validation.gemini_contents,
    refusal=validation.google_refusal,
    prefix="/v1beta",
)
_INTERACTIONS = Emulation(
    render=render_gemini_interactions.render,
    read_request=readers.read_interactions,
    error_body=google_error_body,
    fields=validation.INTERACTIONS_FIELDS,
    check_messages=validation.interactions_input,
    refusal=validation.google_refusal,
    prefix="/v1beta",
)
_AZURE: dict[str, Any] = {
    "error_body": azure_error_body,
    "prefix": "/azure/openai/v1",
    "request_id_header": "apim-request-id",
    "headers": azure_headers,
}
_BEDROCK: dict[str, Any] = {
    "error_body": bedrock_error_body,
    "refusal": validation.bedrock_refusal,
    "prefix": "/bedrock",
    "request_id_header": "x-amzn-requestid",
    "signed": True,
    "error_headers": bedrock_error_headers,
}

#: Every wire format the emulator speaks, by its name in the registry
#: (:data:`steer_common.providers.FORMATS`).
EMULATIONS: dict[str, Emulation] = {
    "openai": _CHAT,
    "openai_responses": _RESPONSES,
    "anthropic": _MESSAGES,
    "xai": Emulation(
        render=render_openai_chat.render_xai,
        read_request=readers.read_xai,
        error_body=xai_error_body,
        fields=validation.XAI_FIELDS,
        check_messages=validation.chat_messages,
        refusal=validation.xai_refusal,
        prefix="/xai/v1",
        claims=("grok", "xai/"),
    ),
    "openai_compatible": Emulation(
        render=render_openai_chat.render_compat,
        read_request=readers.read_chat,
        error_body=openai_error_body,
        fields=validation.COMPAT_FIELDS,
        lenient=True,
        check_messages=validation.chat_messages,
        refusal=validation.chat_refusal,
        prefix="/compat/v1",
        claims=("openai_compatible/",),
    ),
    "gemini": _GEMINI,
    "gemini_interactions": _INTERACTIONS,
    "vertex_ai": replace(
        _GEMINI, prefix="/vertex/v1/projects/emulator/locations/global/publishers/google"
    ),
    "azure": replace(
        _CHAT,
        render=render_openai_chat.render_azure,
        paths=(("/azure/openai/deployments/{model}/chat/completions", ("api-version",)),),
        **_AZURE,
    ),
    "azure_responses": replace(
        _RESPONSES, paths=(("/azure/openai/responses", ("api-version",)),), **_AZURE
    ),
    "bedrock": Emulation(
        render=render_bedrock.render_converse,
        read_request=readers.read_converse,
        fields=validation.CONVERSE_FIELDS,
        check_messages=validation.converse_messages,
        **_BEDROCK,
    ),
    "bedrock_anthropic": Emulation(
        render=render_bedrock.render_invoke,
        read_request=readers.read_invoke,
        fields=validation.INVOKE_FIELDS,
        check_messages=_MESSAGES.check_messages,
        prefill=_MESSAGES.prefill,
        **_BEDROCK,
    ),
}


def emulation(wire_format: str) -> Emulation:
    """How the emulator speaks a wire format.

    Raises:
        ConfigurationError: no format has that name (also a ``ValueError``).
    """
    return EMULATIONS[get_format(wire_format).name]


def render(wire_format: str, reply: ScriptedReply) -> list[bytes]:
    """The body a provider streams for ``reply``: one ``bytes`` per server-sent event.

    Args:
        wire_format: a registered wire format (``steer_emulator.WIRE_FORMATS``).
        reply: what to send, faults included (an in-band error ends the list; a
            truncation drops the terminal events).

    Raises:
        ConfigurationError: an unknown wire format (also a ``ValueError``).
    """
    return emulation(wire_format).render(reply)


def keepalive(wire_format: str) -> bytes:
    """What the provider sends to keep a silent stream open (Anthropic ``ping`` events;
    OpenAI-style servers SSE comment lines, which a parser must skip)."""
    return get_format(wire_format).keepalive


def error_body(
    wire_format: str,
    status: int,
    message: str | None = None,
    *,
    error_type: str | None = None,
) -> bytes:
    """The JSON body a provider sends with an HTTP error status (its format's shape).

    Args:
        wire_format: a registered wire format (``steer_common.providers.FORMATS``).
        status: the HTTP status.
        message: the error message (default: the provider's usual words for the status).
        error_type: the provider error type (default: the one the provider uses for the
            status).

    Returns:
        The UTF-8 JSON body.
    """
    return emulation(wire_format).error_body(status, message, error_type)


def error_type_for(wire_format: str, status: int) -> str:
    """The provider's error type string for an HTTP status."""
    body = json.loads(error_body(wire_format, status))
    error = body.get("error")
    if not isinstance(error, dict):
        return "api_error"
    return str(error.get("type") or error.get("status") or "api_error")


def fields() -> dict[str, Mapping[str, validation.Field]]:
    """Every wire format's table of fields (docs/testing.md shows them)."""
    return {name: EMULATIONS[name].fields for name in FORMATS}


def check_request(wire_format: str, body: Mapping[str, Any]) -> bytes | None:
    """The provider's 400 error body for a request it would refuse, else ``None``.

    Checks every field against the format's table (unknown fields, types, bounds,
    required ones) and the messages (roles, and content where the provider requires it).
    """
    spoken = emulation(wire_format)
    problem = validation.field_problem(spoken.fields, body, lenient=spoken.lenient)
    problem = problem or spoken.check_messages(body)
    if problem is None:
        return None
    refusal: bytes = spoken.refusal(*problem)
    return refusal


#: Formats whose model names are the caller's own (a deployment, any compatible server).
_ANY_MODEL = frozenset({"openai_compatible", "azure", "azure_responses"})
_NOT_FOUND = {
    "openai": ("The model `{}` does not exist or you do not have access to it.", "model_not_found"),
    "openai_responses": (
        "The model `{}` does not exist or you do not have access to it.",
        "model_not_found",
    ),
    "xai": ("The model {} does not exist or your team does not have access to it.", None),
    "anthropic": ("model: {}", "not_found_error"),
    "bedrock_anthropic": ("The provided model identifier is invalid: {}", None),
    "bedrock": ("The provided model identifier is invalid: {}", None),
}


def unknown_model(wire_format: str, model: str) -> bytes | None:
    """The provider's 404 body for a model name no provider serves (a typo such as
    ``gpt-4o-mimi``: the real API refuses it, so the emulator does), or ``None``. Names
    that are the caller's own pass: Azure deployments, OpenAI-compatible servers, OpenAI
    fine-tunes (``ft:...``). Known means known to the price snapshot
    (:func:`steer_common.cost.known_model`; :func:`steer_common.cost.register_price` adds
    a name)."""
    if wire_format in _ANY_MODEL or not model or model.startswith("ft:"):
        return None
    provider = get_format(wire_format).provider
    if known_model(model, provider):
        return None
    words, error_type = _NOT_FOUND.get(
        wire_format, ("models/{} is not found for API version v1beta, or is not supported.", None)
    )
    return error_body(wire_format, 404, words.format(model), error_type=error_type)


def read_conversation(wire_format: str, body: dict[str, Any]) -> Conversation:
    """Read a request body (see :mod:`steer_emulator.request_text`): the format's own
    reader (in :mod:`steer_emulator.readers`), then the directive and the size.

    Raises:
        ValueError: a malformed directive in the last user message.
    """
    convo: Conversation = emulation(wire_format).read_request(body)
    prompt, convo.directive = parse_directive(convo.prompt)
    convo.prompt = prompt.strip()
    keys = (
        "messages",
        "input",
        "system",
        "instructions",
        "contents",
        "systemInstruction",
        "system_instruction",
    )
    convo.size = sum(_text_size(body.get(key)) for key in keys) + len(
        json.dumps(body.get("tools") or []) if body.get("tools") else ""
    )
    return convo


# Keys whose string values are identifiers, not text the model reads.
_NOT_TEXT = frozenset(
    {"role", "type", "id", "tool_call_id", "call_id", "tool_use_id", "cache_control", "model"}
)


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_size(v) for k, v in value.items() if k not in _NOT_TEXT)
    return 0
