"""xAI (``https://api.x.ai/v1/chat/completions``): the Chat Completions dialect of Grok.

Same chunks and ``[DONE]`` as OpenAI (research/wire-formats.md section 5), with two
differences that matter here:

- Reasoning text streams as ``delta.reasoning_content`` before any ``content`` (only
  some models send it: ``grok-3-mini``, ``grok-code-fast-1``; ``grok-4`` bills reasoning
  tokens without streaming them).
- ``completion_tokens`` does **not** include ``completion_tokens_details.reasoning_tokens``:
  xAI's ``total_tokens`` is prompt + completion + reasoning (fixtures ``xai/*``:
  165 + 2 + 129 = 296). The normalized ``completion_tokens`` adds the reasoning tokens
  so that it means what it means for every other provider; ``raw`` keeps xAI's numbers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from steer_common.providers import openai_chat
from steer_common.providers.base import Provider, WireFormat
from steer_common.providers.openai_chat import ChatCompletionsAdapter, ChatParts
from steer_common.spec import Route
from steer_common.usage import as_int, make_usage

__all__ = ["FORMAT", "PARTS", "PROVIDER", "XAIAdapter", "content_parts"]


class XAIAdapter(ChatCompletionsAdapter):
    """Grok's Chat Completions stream (see the module docstring)."""

    provider: ClassVar[str] = "xai"
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content",)

    def normalize_usage(self, raw: dict[str, Any]) -> dict[str, Any]:
        """xAI arithmetic: cached inside prompt, reasoning *outside* completion."""
        prompt_details = raw.get("prompt_tokens_details") or {}
        completion_details = raw.get("completion_tokens_details") or {}
        cached = prompt_details.get("cached_tokens")
        reasoning = completion_details.get("reasoning_tokens")
        return make_usage(
            as_int(raw.get("prompt_tokens")),
            as_int(raw.get("completion_tokens")) + as_int(reasoning),
            cached_tokens=as_int(cached) if cached is not None else None,
            reasoning_tokens=as_int(reasoning) if reasoning is not None else None,
            raw=raw,
        )


#: xAI's Chat Completions content parts (its OpenAPI document, ``ContentPart``: ``text``,
#: ``image_url`` with a URL, a data URL or a Files API ``file_id``, ``text_file``, and
#: ``file`` with a ``file_id`` or a public ``url``): no audio, no file as bytes.
PARTS = ChatParts(
    name="xai Chat Completions",
    takes=frozenset(("text", "image-url", "image-data", "image-id", "file-id", "file-url")),
    own=frozenset(("text_file",)),
)


def content_parts(route: Route) -> ChatParts:
    """What xAI's Chat Completions takes of the content parts: :data:`PARTS`."""
    return PARTS


FORMAT = WireFormat(
    name="xai",
    title="xAI Chat Completions dialect",
    provider="xai",
    adapter=XAIAdapter,
    path=openai_chat.PATH,
    build_body=openai_chat.body_builder(content_parts),
    auth_headers=openai_chat.auth_headers,
    auth="`Authorization: Bearer`",
    usage="reasoning tokens are reported outside `completion_tokens`: added in",
    parts=content_parts,
    usage_asked=openai_chat.usage_asked,
    keepalive=b": keep-alive\n\n",
)


PROVIDER = Provider(
    name="xai",
    key_env=("XAI_API_KEY",),
    base_url_env="XAI_BASE_URL",
    default_base_url="https://api.x.ai/v1",
    model_prefixes=("grok-",),
    price_id="x-ai",  # genai-prices' name
    chars_per_token=3.25,  # 4 replies, 52 / 16
    telemetry_name="x_ai",
)
