"""Generic OpenAI-compatible servers: OpenRouter, vLLM, DeepSeek, LiteLLM proxies and the like.

The Chat Completions format (see :mod:`steer_common.providers.openai_chat`) as other
servers speak it (research/wire-formats.md sections 2 and 7):

- ``: keep-alive`` comment lines before and between events (OpenRouter sends
  ``: OPENROUTER PROCESSING``; fixture ``compat/openrouter-keepalive-comments-midstream-error``):
  the SSE layer turns them into ``ping`` events, which do not reset the read timeout.
- Reasoning text in ``delta.reasoning`` (OpenRouter, Groq) or ``delta.reasoning_content``
  (DeepSeek, vLLM); ``delta.content`` as a list of typed parts (Mistral's ``text`` and
  ``thinking``); usage only in Groq's ``x_groq.usage``. These are read by
  :class:`~steer_common.providers.openai_chat.ChatCompletionsAdapter` for every dialect,
  as general rules.
- A chunk with a top-level ``{"error": {"code": 400, "message": ...}}``, possibly with a
  numeric HTTP-like code and followed by ``[DONE]``: an in-band error.
- Tool-call indices that start at 1 (``compat/claude-via-openai-compatible-tool-index-1``),
  ``finish_reason`` repeated on several chunks, and no ``[DONE]`` at all.
- Usage as OpenAI counts it (OpenRouter reports reasoning *inside* ``completion_tokens``
  even for Grok, ``compat/openrouter-grok-parallel-tool-calls``); cache writes as
  ``prompt_tokens_details.cache_write_tokens``.
"""

from __future__ import annotations

from typing import ClassVar

from steer_common.providers import openai_chat
from steer_common.providers.base import Provider, WireFormat
from steer_common.providers.openai_chat import ChatCompletionsAdapter, ChatParts
from steer_common.spec import Route

__all__ = ["FORMAT", "PARTS", "PROVIDER", "OpenAICompatibleAdapter", "content_parts"]


class OpenAICompatibleAdapter(ChatCompletionsAdapter):
    """Chat Completions from any OpenAI-compatible server (see the module docstring)."""

    provider: ClassVar[str] = "openai_compatible"


#: A server of unknown kind: OpenAI's part shapes go as given, whichever it takes (vLLM,
#: Ollama, LM Studio, OpenRouter each take a different subset, per model), and so do
#: part types of its own (vLLM's ``video_url``); only other providers' native blocks and
#: malformed OpenAI parts are refused here.
PARTS = ChatParts(
    name="openai_compatible Chat Completions",
    takes=frozenset(
        ("text", "image-url", "image-data", "image-id", "audio", "file-data", "file-id", "file-url")
    ),
    others=True,
)


def content_parts(route: Route) -> ChatParts:
    """What a compatible server is sent of the content parts: :data:`PARTS`."""
    return PARTS


FORMAT = WireFormat(
    name="openai_compatible",
    title="OpenAI-compatible servers (OpenRouter, vLLM, Ollama, LiteLLM proxies)",
    provider="openai_compatible",
    adapter=OpenAICompatibleAdapter,
    path=openai_chat.PATH,
    build_body=openai_chat.body_builder(content_parts),
    auth_headers=openai_chat.auth_headers,
    auth="`Authorization: Bearer` (none for a keyless server)",
    parts=content_parts,
    usage="as OpenAI counts it, when the server reports it; else estimated",
    key_optional=True,
    usage_asked=openai_chat.usage_asked,
    keepalive=b": OPENROUTER PROCESSING\n\n",
)


PROVIDER = Provider(
    name="openai_compatible",
    key_env=("OPENAI_COMPATIBLE_API_KEY",),
    base_url_env="OPENAI_COMPATIBLE_BASE_URL",
    default_base_url=None,
    base_url_help="pass base_urls={'openai_compatible': 'https://host/v1'} or set "
    "OPENAI_COMPATIBLE_BASE_URL",
    key_optional=True,  # local servers (vLLM, llama.cpp, Ollama) often take no key at all
    price_id=None,  # "vendor/model" names, looked up alone and as OpenRouter prices them
    chars_per_token=3.9,  # a 6-character reply is no sample: the pool of every provider's
)
