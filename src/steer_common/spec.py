"""A call, provider-neutral: :class:`CallSpec` and its parts, what every wire format's
request builder renders. This module imports nothing of the library's, so that the
provider modules and the request module can both use it without importing each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

__all__ = [
    "Authorizer",
    "CallSpec",
    "CredentialChain",
    "HTTPRequest",
    "ResponseFormat",
    "Route",
    "ToolSpec",
]

#: What authorizes a request where a fixed key cannot: the headers for the request about
#: to be sent (an OAuth token, a SigV4 signature over the request), asked for before each
#: attempt. It may block (a token refresh): the session flow asks its front end to run it
#: off the event loop (a ``Compute`` command).
Authorizer = Callable[["HTTPRequest"], Mapping[str, str]]

#: A front end's cloud credential chains (``steer_cloud.authorizer``): the authorizer for
#: a chain name (a provider's ``credential``), a route, and the object the user gave in
#: ``api_keys`` when it is not a key (an azure-identity credential), else ``None``. It
#: builds the authorizer without I/O; the authorizer does the I/O when called.
CredentialChain = Callable[[str, "Route", Any], Authorizer]


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
    #: The pydantic model of the arguments, when the tool was given as one (typed partials).
    model: type[BaseModel] | None = None


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
    #: Stop sequences: the reply ends before the first of them.
    stop: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Route:
    """Where one call goes.

    Attributes:
        provider: the provider (``openai``, ``anthropic``, ``gemini``, ...).
        model: the model name to send (without any ``provider/`` prefix).
        wire_format: the :class:`~steer_common.StreamParser` format of the reply.
        api_key: the key or token (never printed: errors redact it).
        base_url: the base URL, without a trailing slash.
    """

    provider: str
    model: str
    wire_format: str
    api_key: str
    base_url: str

    def __repr__(self) -> str:  # the key stays out of reprs and logs
        return (
            f"Route(provider={self.provider!r}, model={self.model!r}, "
            f"wire_format={self.wire_format!r}, base_url={self.base_url!r})"
        )


#: ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, by one encoder made
#: once (``json.dumps`` with options builds one per call): request bodies, event shapes.
compact_json: Callable[[Any], str] = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":")
).encode


@dataclass(frozen=True, slots=True)
class HTTPRequest:
    """An HTTP request, ready for any transport. ``repr`` leaves the headers (the key) out."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body, parsed."""
        return json.loads(self.body)

    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of the URL: where the request goes, without
        credentials, path or query (what an error message may show)."""
        scheme, _, rest = self.url.partition("://")
        authority = rest.split("/", 1)[0].split("?", 1)[0].rpartition("@")[2]
        return f"{scheme}://{authority}"

    def __repr__(self) -> str:
        return f"HTTPRequest({self.method} {self.url}, {len(self.body)} bytes)"
