"""The pieces the emulator reads a request body with, whatever its wire format.

A request of any wire format is read into a :class:`Conversation` (each format's reader,
in :mod:`steer_emulator.readers`, reads its own shape with the helpers here): the last
user text (with its ``[[emulator:...]]`` directive taken out and parsed by
:func:`parse_directive`), the tool results the conversation ends with, the tools offered,
the JSON format asked for, the token cap, whether reasoning was asked for, and the amount
of text (for the prompt token estimate); :func:`steer_emulator.formats.read_conversation`
puts them together.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from steer_common.providers.base import text_of

__all__ = [
    "DIRECTIVE_PREFIX",
    "Conversation",
    "is_tool_result",
    "parse_directive",
    "positive_int",
    "read_json_format",
    "schema_of",
    "text_of",
    "trailing",
]

#: What opens a directive in a user message: ``[[emulator:{"text": "hi"}]]``.
DIRECTIVE_PREFIX = "[[emulator:"


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
