"""Read what the emulator needs from a request body, whatever its wire format.

:func:`read_conversation` turns a Chat Completions, Responses or Messages request into a
:class:`Conversation`: the last user text (with its ``[[emulator:...]]`` directive taken
out and parsed), the tool results the conversation ends with, the tools offered, the JSON
format asked for, the token cap, whether reasoning was asked for, and the amount of text
(for the prompt token estimate).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from steer_common.providers.anthropic import JSON_OBJECT_INSTRUCTION

__all__ = ["DIRECTIVE_PREFIX", "Conversation", "parse_directive", "read_conversation"]

#: What opens a directive in a user message: ``[[emulator:{"text": "hi"}]]``.
DIRECTIVE_PREFIX = "[[emulator:"

# Keys whose string values are identifiers, not text the model reads.
_NOT_TEXT = frozenset(
    {"role", "type", "id", "tool_call_id", "call_id", "tool_use_id", "cache_control", "model"}
)


@dataclass
class Conversation:
    """What a request asks, independent of its wire format."""

    prompt: str = ""
    directive: dict[str, Any] | None = None
    tool_results: list[str] = field(default_factory=list)
    tools: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    max_tokens: int | None = None
    wants_reasoning: bool = False
    size: int = 0


def parse_directive(text: str) -> tuple[str, dict[str, Any] | None]:
    """Split ``text`` into the text without its directive and the directive's JSON object.

    Raises:
        ValueError: a directive whose JSON is invalid, not an object, or not closed by ``]]``.
    """
    start = text.find(DIRECTIVE_PREFIX)
    if start < 0:
        return text, None
    begin = start + len(DIRECTIVE_PREFIX)
    try:
        # raw_decode, not a regex: the JSON may itself contain "]]".
        value, end = json.JSONDecoder().raw_decode(text, begin)
    except ValueError as exc:
        raise ValueError(f"emulator directive: invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("emulator directive: the JSON must be an object")
    close = text.find("]]", end)
    if close < 0 or text[end:close].strip():
        raise ValueError("emulator directive: expected ']]' after the JSON object")
    return text[:start] + text[close + 2 :], value


def read_conversation(wire_format: str, body: dict[str, Any]) -> Conversation:
    """Read a request body (see the module docstring).

    Raises:
        ValueError: a malformed directive in the last user message.
    """
    if wire_format == "anthropic":
        convo = _anthropic(body)
    elif wire_format == "openai_responses":
        convo = _responses(body)
    else:
        convo = _chat(body)
    prompt, convo.directive = parse_directive(convo.prompt)
    convo.prompt = prompt.strip()
    model = body.get("model")
    if wire_format == "xai" and isinstance(model, str):
        convo.wants_reasoning = model.startswith(("grok-3-mini", "grok-code-fast"))
    convo.size = sum(
        _text_size(body.get(key)) for key in ("messages", "input", "system", "instructions")
    ) + len(json.dumps(body.get("tools") or []) if body.get("tools") else "")
    return convo


def _chat(body: dict[str, Any]) -> Conversation:
    convo = Conversation()
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    for message in messages:
        if message.get("role") == "user":
            convo.prompt = _text(message.get("content"))
    trailing = _trailing(messages, lambda m: m.get("role") == "tool")
    convo.tool_results = [_text(m.get("content")) for m in trailing]
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            convo.tools.append((function["name"], _schema(function.get("parameters"))))
    _json_format(convo, body.get("response_format"), nested=True)
    convo.max_tokens = _int(body.get("max_completion_tokens")) or _int(body.get("max_tokens"))
    return convo


def _responses(body: dict[str, Any]) -> Conversation:
    convo = Conversation()
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    items = [i for i in items or [] if isinstance(i, dict)]
    for item in items:
        if item.get("role") == "user":
            convo.prompt = _text(item.get("content"))
    trailing = _trailing(items, lambda i: i.get("type") == "function_call_output")
    convo.tool_results = [_text(i.get("output")) for i in trailing]
    for tool in body.get("tools") or []:
        if (
            isinstance(tool, dict)
            and tool.get("type") == "function"
            and isinstance(tool.get("name"), str)
        ):
            convo.tools.append((tool["name"], _schema(tool.get("parameters"))))
    text = body.get("text")
    _json_format(convo, text.get("format") if isinstance(text, dict) else None, nested=False)
    convo.max_tokens = _int(body.get("max_output_tokens"))
    reasoning = body.get("reasoning")
    convo.wants_reasoning = isinstance(reasoning, dict) and bool(reasoning.get("summary"))
    return convo


def _anthropic(body: dict[str, Any]) -> Conversation:
    convo = Conversation()
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        blocks = content if isinstance(content, list) else [content]
        text = "".join(_text(b) for b in blocks if not _is_tool_result(b))
        if text:
            convo.prompt = text
    last = messages[-1] if messages else {}
    if last.get("role") == "user" and isinstance(last.get("content"), list):
        convo.tool_results = [
            _text(b.get("content")) for b in last["content"] if _is_tool_result(b)
        ]
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            convo.tools.append((tool["name"], _schema(tool.get("input_schema"))))
    output = body.get("output_config")
    _json_format(convo, output.get("format") if isinstance(output, dict) else None, nested=False)
    convo.json_object = JSON_OBJECT_INSTRUCTION in _text(body.get("system"))
    convo.max_tokens = _int(body.get("max_tokens"))
    thinking = body.get("thinking")
    convo.wants_reasoning = isinstance(thinking, dict) and thinking.get("type") in (
        "enabled",
        "adaptive",
    )
    return convo


def _json_format(convo: Conversation, fmt: Any, *, nested: bool) -> None:
    if not isinstance(fmt, dict):
        return
    if fmt.get("type") == "json_object":
        convo.json_object = True
    elif fmt.get("type") == "json_schema":
        # Chat nests the schema under "json_schema"; Responses and Anthropic do not.
        holder = fmt.get("json_schema") if nested else fmt
        schema = holder.get("schema") if isinstance(holder, dict) else None
        convo.json_schema = schema if isinstance(schema, dict) else {}


def _trailing(items: list[dict[str, Any]], is_result: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for item in reversed(items):
        if not is_result(item):
            break
        out.append(item)
    return out[::-1]


def _is_tool_result(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_result"


def _text(content: Any) -> str:
    """The text of a message content: a string, or the text of its parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_text(part) for part in content)
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return text
        return _text(content.get("content"))
    return ""


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_size(v) for k, v in value.items() if k not in _NOT_TEXT)
    return 0


def _schema(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if type(value) is int and value > 0 else None
