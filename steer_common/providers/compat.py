"""Generic OpenAI-compatible servers: OpenRouter, vLLM, DeepSeek, LiteLLM proxies and the like.

The Chat Completions format (see :mod:`steer_common.providers.openai_chat`) as other
servers speak it (research/wire-formats.md sections 2 and 7):

- ``: keep-alive`` comment lines before and between events (OpenRouter sends
  ``: OPENROUTER PROCESSING``; fixture ``compat/openrouter-keepalive-comments-midstream-error``):
  the SSE layer turns them into ``ping`` events, which do not reset the read timeout.
- Reasoning text in ``delta.reasoning`` (OpenRouter) or ``delta.reasoning_content``
  (DeepSeek, vLLM).
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

from steer_common.providers.openai_chat import ChatCompletionsAdapter

__all__ = ["OpenAICompatibleAdapter"]


class OpenAICompatibleAdapter(ChatCompletionsAdapter):
    """Chat Completions from any OpenAI-compatible server (see the module docstring)."""

    provider: ClassVar[str] = "openai_compatible"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content", "reasoning")
