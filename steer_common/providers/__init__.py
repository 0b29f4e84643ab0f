"""Provider adapters, one module per wire format, and the registry that names them.

========================  =====================================  ===========================
name                      wire format                            module
========================  =====================================  ===========================
``openai``                OpenAI Chat Completions                :mod:`.openai_chat`
``openai_responses``      OpenAI Responses API                   :mod:`.openai_responses`
``anthropic``             Anthropic Messages                     :mod:`.anthropic`
``xai``                   xAI Chat Completions dialect           :mod:`.xai`
``openai_compatible``     OpenAI-compatible servers (OpenRouter) :mod:`.compat`
========================  =====================================  ===========================

Adding a provider touches its own module, its fixtures and this table, nothing else.
"""

from __future__ import annotations

from steer_common.errors import ConfigurationError
from steer_common.providers.anthropic import AnthropicAdapter
from steer_common.providers.base import ProviderAdapter, StreamAdapter
from steer_common.providers.compat import OpenAICompatibleAdapter
from steer_common.providers.openai_chat import OpenAIChatAdapter
from steer_common.providers.openai_responses import OpenAIResponsesAdapter
from steer_common.providers.xai import XAIAdapter

__all__ = ["ADAPTERS", "ProviderAdapter", "StreamAdapter", "get_adapter"]

#: Wire-format name -> adapter class.
ADAPTERS: dict[str, type[StreamAdapter]] = {
    "openai": OpenAIChatAdapter,
    "openai_responses": OpenAIResponsesAdapter,
    "anthropic": AnthropicAdapter,
    "xai": XAIAdapter,
    "openai_compatible": OpenAICompatibleAdapter,
}


def get_adapter(wire_format: str) -> type[StreamAdapter]:
    """The adapter class for a wire-format name (see the table above).

    Raises:
        ConfigurationError: the name is not one of :data:`ADAPTERS`.
    """
    try:
        return ADAPTERS[wire_format]
    except KeyError:
        names = ", ".join(repr(n) for n in ADAPTERS)
        raise ConfigurationError(
            f"unknown wire format {wire_format!r}; expected one of {names}"
        ) from None
