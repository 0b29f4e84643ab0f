"""What the user asked for, normalized, and the HTTP request that asks the provider for it.

:func:`prepare_call` turns the public arguments (a prompt or messages, ``temperature``,
``max_tokens``, ``response_format``, ``tools``, provider extras) into a provider-neutral
:class:`CallSpec`, rejecting malformed input with a clear
:class:`~steer_common.errors.ConfigurationError`. :func:`build_request` renders a
``CallSpec`` for a :class:`~steer_common.routing.Route` as an :class:`HTTPRequest`; the body
of each wire format is written by that format's provider module (``build_body``).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from steer_common._version import __version__
from steer_common.errors import ConfigurationError, register_secret
from steer_common.providers import get_format
from steer_common.routing import Route
from steer_common.secrets import Secret
from steer_common.spec import CallSpec, HTTPRequest, ResponseFormat, ToolSpec, compact_json

__all__ = [
    "USER_AGENT",
    "CallSpec",
    "HTTPRequest",
    "ResponseFormat",
    "ToolSpec",
    "build_request",
    "prepare_call",
]

USER_AGENT = f"steer-llm-sdk/{__version__}"
_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})


def prepare_call(
    prompt_or_messages: str | Sequence[Mapping[str, Any]],
    *,
    model: str,
    temperature: float | None = None,
    max_tokens: int | None = None,
    response_format: Any = None,
    tools: Sequence[Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    system: str | None = None,
    stop: str | Sequence[str] | None = None,
) -> CallSpec:
    """Normalize and check the public arguments of a streaming call (``system``: a system
    prompt, the conversation's first message).

    Raises:
        ConfigurationError: a malformed message, tool or response format (the message
            says which and why); ``system`` given with a system message already there.
    """
    messages = _messages(prompt_or_messages)
    if system is not None:
        if not isinstance(system, str) or not system:
            raise ConfigurationError("system= takes a non-empty string (the system prompt)")
        if any(m.get("role") in ("system", "developer") for m in messages):
            raise ConfigurationError(
                "system= was given and the messages have a system message already: give one"
            )
        messages.insert(0, {"role": "system", "content": system})
    stops = [stop] if isinstance(stop, str) else list(stop or ())
    if stops and any(not isinstance(s, str) or not s for s in stops):
        raise ConfigurationError("stop= takes a string or a list of non-empty strings")
    return CallSpec(
        model=model,
        messages=messages,
        temperature=temperature,
        max_tokens=max_tokens,
        response_format=None if response_format is None else _response_format(response_format),
        tools=[_tool(t, i) for i, t in enumerate(tools)] if tools else [],
        extras=dict(extras or {}),
        stop=stops,
    )


def build_request(route: Route, call: CallSpec, *, compression: bool = True) -> HTTPRequest:
    """The HTTP request for ``call`` on ``route`` (URL, headers, JSON body)."""
    wire = get_format(route.wire_format)
    register_secret(route.api_key)
    body = wire.build_body(call, route)
    body.update(call.extras)
    if wire.stream_flag:
        body["stream"] = True
    headers = {
        "content-type": "application/json",
        "accept": wire.content_type,
        "accept-encoding": "gzip, deflate" if compression else "identity",
        "user-agent": USER_AGENT,
    }
    # Header values that carry the key hide it from every repr (a traceback's locals).
    key = route.api_key
    for name, value in wire.auth_headers(key).items():
        headers[name] = Secret(value) if key and key in value else value
    path = wire.path
    if wire.url is not None:
        url = wire.url(route)
    elif "{model}" in path:
        url = route.base_url + path.replace("{model}", quote(route.model, safe=""))
    else:
        url = route.base_url + path
    return HTTPRequest("POST", url, headers, compact_json(body).encode())


def _messages(value: str | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(value, str):
        if not value:
            raise ConfigurationError("the prompt is empty")
        return [{"role": "user", "content": value}]
    if not isinstance(value, Sequence) or not value:
        raise ConfigurationError(
            "expected a prompt string or a non-empty list of messages "
            '({"role": "user", "content": "..."})'
        )
    messages = []
    for i, message in enumerate(value):
        if not isinstance(message, Mapping):
            raise ConfigurationError(f"message {i} is {type(message).__name__}, not a dict")
        if "role" not in message and isinstance(message.get("type"), str):
            messages.append(dict(message))  # a provider-native item (Responses), sent as is
            continue
        role = message.get("role")
        if role not in _ROLES:
            raise ConfigurationError(
                f"message {i} has role {role!r}; expected one of {', '.join(sorted(_ROLES))}"
            )
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise ConfigurationError(
                f"message {i} content is {type(content).__name__}; expected a string or a "
                "list of parts"
            )
        if role == "tool" and not message.get("tool_call_id"):
            raise ConfigurationError(f"message {i} (role 'tool') needs a 'tool_call_id'")
        messages.append(dict(message))
    return messages


def _tool(value: Any, i: int) -> ToolSpec:
    if isinstance(value, type) and issubclass(value, BaseModel):
        # A model as the arguments' schema (its name the tool's, its docstring what it does),
        # as the official SDKs' pydantic_function_tool; its calls stream typed partials.
        return ToolSpec(
            name=value.__name__,
            description=inspect.cleandoc(value.__doc__ or ""),
            parameters=value.model_json_schema(),
            model=value,
        )
    spec = getattr(value, "tool_spec", None)
    if callable(spec):  # a steer Tool (the agents module) describes itself
        result = spec()
        if isinstance(result, ToolSpec):
            return result
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"tool {i} is {type(value).__name__}; expected a dict")
    if value.get("type") == "function" and isinstance(value.get("function"), Mapping):
        fn = value["function"]  # OpenAI Chat shape
        return _tool_spec(fn, fn.get("parameters"), i)
    if "input_schema" in value:  # Anthropic shape
        return _tool_spec(value, value.get("input_schema"), i)
    if value.get("type") in (None, "function"):  # flat / Responses shape
        return _tool_spec(value, value.get("parameters"), i)
    return ToolSpec(name=str(value.get("name") or value["type"]), raw=dict(value))


def _tool_spec(source: Mapping[str, Any], parameters: Any, i: int) -> ToolSpec:
    name = source.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"tool {i} has no name")
    if parameters is None:
        parameters = {"type": "object", "properties": {}}
    if not isinstance(parameters, Mapping):
        raise ConfigurationError(f"tool {name!r}: parameters must be a JSON schema object")
    strict = source.get("strict")
    return ToolSpec(
        name=name,
        description=str(source.get("description") or ""),
        parameters=dict(parameters),
        strict=strict if isinstance(strict, bool) else None,
        cache_control=source.get("cache_control"),
    )


def _response_format(value: Any) -> ResponseFormat | None:
    if value is None:
        return None
    if isinstance(value, type) and issubclass(value, BaseModel):
        return ResponseFormat(
            "json_schema", name=value.__name__, schema=value.model_json_schema(), model=value
        )
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "response_format must be {'type': 'json_object'}, a JSON schema, or a pydantic "
            f"model class; got {type(value).__name__}"
        )
    kind = value.get("type")
    if kind == "json_object":
        return ResponseFormat("json_object")
    if kind == "text":
        return None
    if kind == "json_schema":
        inner = value.get("json_schema", value)
        schema = inner.get("schema")
        if not isinstance(schema, Mapping):
            raise ConfigurationError("response_format json_schema needs a 'schema' object")
        return ResponseFormat(
            "json_schema",
            name=str(inner.get("name") or "response"),
            schema=dict(schema),
            strict=bool(inner.get("strict", True)),
        )
    if "properties" in value or kind in ("object", "array"):
        return ResponseFormat("json_schema", schema=dict(value))
    raise ConfigurationError(
        f"response_format {dict(value)!r} is not understood: use {{'type': 'json_object'}}, "
        "a JSON schema, or a pydantic model class"
    )
