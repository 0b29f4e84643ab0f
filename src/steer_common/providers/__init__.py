"""The registry of wire formats: one :class:`~steer_common.providers.base.WireFormat` record
per format, each defined by its own module here.

A record holds everything the library knows of a format: its adapter (bytes to events,
with its terminal signal and its usage arithmetic), its request builder, auth headers and
endpoint path, its keep-alive bytes. The parser, the request builder, the router and the
docs' tables read it; nothing else in the library names a format. Adding one is adding a
module and a line below (docs/architecture/adding-a-provider.md).
"""

from __future__ import annotations

from steer_common.errors import ConfigurationError
from steer_common.providers import (
    anthropic,
    azure,
    bedrock,
    compat,
    gemini,
    gemini_interactions,
    openai_chat,
    openai_responses,
    xai,
)
from steer_common.providers.base import (
    Provider,
    ProviderAdapter,
    StreamAdapter,
    WireFormat,
)

__all__ = [
    "ADAPTERS",
    "FORMATS",
    "PROVIDERS",
    "Provider",
    "ProviderAdapter",
    "StreamAdapter",
    "WireFormat",
    "format_for",
    "get_adapter",
    "get_format",
    "markdown_table",
]

#: Every wire format, by its :class:`~steer_common.StreamParser` name.
FORMATS: dict[str, WireFormat] = {
    wire.name: wire
    for wire in (
        openai_chat.FORMAT,
        openai_responses.FORMAT,
        anthropic.FORMAT,
        xai.FORMAT,
        compat.FORMAT,
        gemini.FORMAT,
        gemini_interactions.FORMAT,
        gemini.VERTEX_FORMAT,
        azure.FORMAT,
        azure.RESPONSES_FORMAT,
        bedrock.FORMAT,
        bedrock.ANTHROPIC_FORMAT,
    )
}

#: Every provider, by name: routing, keys, base URLs, prices.
PROVIDERS: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        openai_chat.PROVIDER,
        anthropic.PROVIDER,
        xai.PROVIDER,
        compat.PROVIDER,
        gemini.PROVIDER,
        gemini.VERTEX_PROVIDER,
        azure.PROVIDER,
        bedrock.PROVIDER,
    )
}

# (provider, api) -> its format for format_for(); (provider, None): its first one.
_BY_PROVIDER_API: dict[tuple[str, str | None], WireFormat] = {}
for _wire in FORMATS.values():
    _BY_PROVIDER_API.setdefault((_wire.provider, _wire.api), _wire)
    _BY_PROVIDER_API.setdefault((_wire.provider, None), _wire)
del _wire

#: Wire-format name -> adapter class (read from :data:`FORMATS`).
ADAPTERS: dict[str, type[StreamAdapter]] = {name: w.adapter for name, w in FORMATS.items()}


def get_format(wire_format: str) -> WireFormat:
    """The record of a wire format.

    Raises:
        ConfigurationError: no format has that name.
    """
    try:
        return FORMATS[wire_format]
    except KeyError:
        names = ", ".join(repr(n) for n in FORMATS)
        raise ConfigurationError(
            f"unknown wire format {wire_format!r}; expected one of {names}"
        ) from None


def get_adapter(wire_format: str) -> type[StreamAdapter]:
    """The adapter class of a wire format (see :func:`get_format`)."""
    return get_format(wire_format).adapter


def format_for(provider: str, api: str = "chat") -> WireFormat:
    """The format a provider streams in: its ``api`` one when it has several (OpenAI's
    ``"responses"``), else its only one.

    Raises:
        ConfigurationError: no format for the provider.
    """
    wire = _BY_PROVIDER_API.get((provider, api)) or _BY_PROVIDER_API.get((provider, None))
    if wire is None:
        raise ConfigurationError(f"no wire format is known for provider {provider!r}")
    return wire


def markdown_table() -> str:
    """The registry as the docs show it (docs/providers.md and
    docs/architecture/adding-a-provider.md carry this table; a test keeps them equal)."""
    rows = [
        "| format | what it is | provider | endpoint | key | ends with | usage | keep-alive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for wire in FORMATS.values():
        lines = wire.keepalive.decode().strip().splitlines()
        keepalive = f"`{lines[0]}`" if lines else "none"
        rows.append(
            f"| `{wire.name}` | {wire.title} | `{wire.provider}` | `{wire.path}` | {wire.auth} "
            f"| {wire.adapter.terminal_signal} | {wire.usage} | {keepalive} |"
        )
    return "\n".join(rows)
