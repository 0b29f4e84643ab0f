"""A call, provider-neutral: :class:`CallSpec` and its parts, what every wire format's
request builder renders. This module imports nothing of the library's, so that the
provider modules and the request module can both use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = ["CallSpec", "ResponseFormat", "ToolSpec"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A function tool the model may call, provider-neutral.

    ``raw`` holds a provider-specific tool (a server tool such as web search) sent as is.
    """

    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None
    cache_control: dict[str, Any] | None = None
    raw: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    """JSON mode (``kind="json_object"``) or structured output (``kind="json_schema"``)."""

    kind: str
    name: str = "response"
    schema: dict[str, Any] | None = None
    strict: bool = True
    model: type[BaseModel] | None = None


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One request, provider-neutral: what :func:`build_request` renders per wire format."""

    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    response_format: ResponseFormat | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
