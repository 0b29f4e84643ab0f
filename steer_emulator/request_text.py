"""Read what the emulator needs from a request body, whatever its wire format.

:func:`read_conversation` turns a request of any wire format into a :class:`Conversation`
(each format's provider module reads its own shape with the helpers here): the last user text (with its ``[[emulator:...]]`` directive taken
out and parsed), the tool results the conversation ends with, the tools offered, the JSON
format asked for, the token cap, whether reasoning was asked for, and the amount of text
(for the prompt token estimate).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DIRECTIVE_PREFIX",
    "Conversation",
    "is_tool_result",
    "parse_directive",
    "positive_int",
    "read_conversation",
    "read_json_format",
    "schema_of",
    "text_of",
    "trailing",
]

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
    """Read a request body (see the module docstring): the format's own reader (its
    provider module's ``read_request``), then the directive and the size.

    Raises:
        ValueError: a malformed directive in the last user message.
    """
    from steer_common.providers import get_format  # noqa: PLC0415 - the registry imports the emulation

    convo: Conversation = get_format(wire_format).emulation.read_request(body)
    prompt, convo.directive = parse_directive(convo.prompt)
    convo.prompt = prompt.strip()
    convo.size = sum(
        _text_size(body.get(key)) for key in ("messages", "input", "system", "instructions")
    ) + len(json.dumps(body.get("tools") or []) if body.get("tools") else "")
    return convo


def read_json_format(convo: Conversation, fmt: Any, *, nested: bool) -> None:
    """Note the JSON mode ``fmt`` asks for (Chat nests the schema under ``json_schema``)."""
    if not isinstance(fmt, dict):
        return
    if fmt.get("type") == "json_object":
        convo.json_object = True
    elif fmt.get("type") == "json_schema":
        # Chat nests the schema under "json_schema"; Responses and Anthropic do not.
        holder = fmt.get("json_schema") if nested else fmt
        schema = holder.get("schema") if isinstance(holder, dict) else None
        convo.json_schema = schema if isinstance(schema, dict) else {}


def trailing(items: list[dict[str, Any]], is_result: Any) -> list[dict[str, Any]]:
    """The items the list ends with that are results."""
    out: list[dict[str, Any]] = []
    for item in reversed(items):
        if not is_result(item):
            break
        out.append(item)
    return out[::-1]


def is_tool_result(block: Any) -> bool:
    """An Anthropic ``tool_result`` block."""
    return isinstance(block, dict) and block.get("type") == "tool_result"


def text_of(content: Any) -> str:
    """The text of a message content: a string, or the text of its parts/blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(text_of(part) for part in content)
    if isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return text
        return text_of(content.get("content"))
    return ""


def _text_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list):
        return sum(_text_size(v) for v in value)
    if isinstance(value, dict):
        return sum(_text_size(v) for k, v in value.items() if k not in _NOT_TEXT)
    return 0


def schema_of(value: Any) -> dict[str, Any]:
    """A tool's schema, or ``{}``."""
    return value if isinstance(value, dict) else {}


def proto_field(holder: Any, camel: str) -> Any:
    """A protobuf JSON field (Gemini's requests), in lowerCamelCase or in its proto
    snake_case name: parsers take both, and the official SDK sends some of each."""
    if not isinstance(holder, dict):
        return None
    if camel in holder:
        return holder[camel]
    return holder.get(re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel))


def positive_int(value: Any) -> int | None:
    """A positive ``int``, else ``None``."""
    return value if type(value) is int and value > 0 else None
