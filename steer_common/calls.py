"""From the public arguments of a streaming call to a :class:`~steer_common.session.StreamSession`.

Both clients' ``stream``, ``stream_with_usage`` and ``stream_events`` take the same
arguments; :func:`prepare_session` checks them, routes the model, resolves the key and
base URL, builds the request and creates the session. The clients add only I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from steer_common.errors import ConfigurationError
from steer_common.models.streaming import DEFAULT_OPTIONS, StreamingOptions, coerce_options
from steer_common.request import build_request, prepare_call
from steer_common.routing import Route, resolve_credentials, route_model
from steer_common.session import Consumer, StreamSession

__all__ = ["OpenAIAPI", "prepare_session", "resolve_input"]

#: Which OpenAI streaming API serves ``gpt-*``/``o*`` models: Chat Completions or Responses.
OpenAIAPI = Literal["chat", "responses"]


def resolve_input(
    prompt_or_messages: str | Sequence[Mapping[str, Any]] | None,
    prompt: str | None,
    messages: Sequence[Mapping[str, Any]] | None,
) -> str | Sequence[Mapping[str, Any]]:
    """The one input among the positional argument, ``prompt=`` and ``messages=``."""
    given = [v for v in (prompt_or_messages, prompt, messages) if v is not None]
    if len(given) != 1:
        raise ConfigurationError(
            "pass exactly one of a prompt or messages (positionally, prompt=... or messages=...)"
        )
    return given[0]


def prepare_session(
    prompt_or_messages: str | Sequence[Mapping[str, Any]],
    *,
    model: str | None,
    api_keys: Mapping[str, str | None] | None = None,
    base_urls: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
    openai_api: OpenAIAPI = "chat",
    streaming_options: StreamingOptions | Mapping[str, Any] | None = None,
    response_format: Any = None,
    tools: Sequence[Any] | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    extras: Mapping[str, Any] | None = None,
    consumer: Consumer = "events",
) -> StreamSession:
    """Everything a front end needs to drive one call (see the module docstring).

    The arguments are the clients' (``stream_with_usage``'s); ``environ`` is where keys
    and base URLs not given are looked up (pass ``os.environ``; the core reads nothing by
    itself). ``session.request`` is the HTTP request to send, ``session.wire_format`` the
    :class:`~steer_common.StreamParser` format of the reply, and ``session.flow()`` the
    generator that decides everything else (docs/bring-your-own-transport.md).

    Raises:
        ConfigurationError: an unknown model, a missing key, malformed arguments.
    """
    if model is None:
        raise ConfigurationError("model is required, for example model='gpt-4o-mini'")
    if openai_api not in ("chat", "responses"):
        raise ConfigurationError(f"openai_api must be 'chat' or 'responses', not {openai_api!r}")
    provider, name = route_model(model)
    key, base_url = resolve_credentials(
        provider, api_keys=api_keys, base_urls=base_urls, environ=environ or {}
    )
    wire_format: str = provider
    if provider == "openai" and openai_api == "responses":
        wire_format = "openai_responses"
    route = Route(provider, name, wire_format, key, base_url)
    call = prepare_call(
        prompt_or_messages,
        model=name,
        temperature=temperature,
        max_tokens=max_tokens,
        response_format=response_format,
        tools=tools,
        extras=extras or {},
    )
    options = coerce_options(streaming_options) or DEFAULT_OPTIONS
    request = build_request(route, call, compression=options.enable_compression)
    return StreamSession(
        request,
        wire_format=wire_format,
        options=options,
        consumer=consumer,
        response_format=call.response_format.model if call.response_format else None,
        model=name,
    )
