"""Minimal JSON instances of a JSON schema, for JSON-mode replies and tool arguments.

:func:`minimal_instance` fills a schema with fixed values (strings ``"example"``, numbers
``1``, booleans ``true``, arrays of one item, objects with every required and listed
property); :func:`arguments_for` does the same for a tool's parameters but takes the
values from the prompt where it can. ``$ref`` into ``$defs``/``definitions`` (what pydantic
generates), ``anyOf``/``oneOf`` (the first non-null branch), ``allOf``, ``enum``,
``const``, ``minItems`` and ``minimum`` are honoured; anything else gets the plain value
of its type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["arguments_for", "minimal_instance"]

_MAX_DEPTH = 12
_INTEGER = re.compile(r"(?<![\w.])-?\d+(?![\w.]|\.\d)")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_QUOTED = re.compile(r'"([^"]+)"')


@dataclass
class _Values:
    """The values parameters take: strings one phrase; integers and numbers the prompt's,
    in order, one per parameter ("add 2 and 3": ``a`` 2, ``b`` 3), the last one again
    once they run out."""

    string: str = "example"
    integers: tuple[int, ...] = (1,)
    numbers: tuple[float | int, ...] = (1,)
    _integer: int = 0
    _number: int = 0

    @property
    def integer(self) -> int:
        value = self.integers[min(self._integer, len(self.integers) - 1)]
        self._integer += 1
        return value

    @property
    def number(self) -> float | int:
        value = self.numbers[min(self._number, len(self.numbers) - 1)]
        self._number += 1
        return value


def minimal_instance(schema: dict[str, Any]) -> Any:
    """A small document that satisfies ``schema`` (see the module docstring)."""
    return _instance(schema, schema, _Values(), 0)


def arguments_for(schema: dict[str, Any], prompt: str) -> dict[str, Any]:
    """Tool arguments that satisfy ``schema``, with values taken from ``prompt``.

    The prompt's integers fill integer parameters in order, its numbers number
    parameters ("Use add on 2 and 3": ``{"a": 2, "b": 3}``), the first double-quoted phrase
    (else the first capitalized word that does not begin a sentence) string parameters.
    """
    integers = tuple(int(m.group()) for m in _INTEGER.finditer(prompt))
    numbers = tuple(_num(m.group()) for m in _NUMBER.finditer(prompt))
    values = _Values(
        string=_phrase(prompt) or "example", integers=integers or (1,), numbers=numbers or (1,)
    )
    value = _instance(schema or {"type": "object"}, schema, values, 0)
    return value if isinstance(value, dict) else {}


def _num(text: str) -> float | int:
    return float(text) if "." in text else int(text)


def _phrase(prompt: str) -> str | None:
    quoted = _QUOTED.search(prompt)
    if quoted:
        return str(quoted.group(1))
    for sentence in re.split(r"[.?!;:\n]+", prompt):
        words: list[str] = re.findall(r"[A-Za-z][\w'-]*", sentence)
        for word in words[1:]:
            if word[0].isupper() and word != "I":
                return word
    return None


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return schema
    target: Any = root
    for part in ref[2:].split("/"):
        target = (
            target.get(part.replace("~1", "/").replace("~0", "~"))
            if isinstance(target, dict)
            else None
        )
    return target if isinstance(target, dict) else {}


def _instance(schema: Any, root: dict[str, Any], values: _Values, depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return values.string
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    for key in ("anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches:
            usable = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
            return _instance((usable or branches)[0], root, values, depth + 1)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {}
        for item in all_of:
            branch = _resolve(item, root) if isinstance(item, dict) else {}
            for name, value in branch.items():
                if isinstance(value, dict) and isinstance(merged.get(name), dict):
                    merged[name] = {**merged[name], **value}
                elif isinstance(value, list) and isinstance(merged.get(name), list):
                    merged[name] = merged[name] + value
                else:
                    merged[name] = value
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return _instance({**merged, **rest}, root, values, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
    if kind == "object":
        properties = schema.get("properties")
        properties = properties if isinstance(properties, dict) else {}
        required = schema.get("required")
        names = list(properties)
        if isinstance(required, list):
            names += [r for r in required if isinstance(r, str) and r not in properties]
        return {
            name: _instance(properties.get(name, {}), root, values, depth + 1) for name in names
        }
    if kind == "array":
        count = schema.get("minItems")
        count = count if type(count) is int and count > 1 else 1
        return [_instance(schema.get("items", {}), root, values, depth + 1) for _ in range(count)]
    if kind == "integer":
        return max(values.integer, _bound(schema, int))
    if kind == "number":
        return max(values.number, _bound(schema, float))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return values.string


def _bound(schema: dict[str, Any], cast: type[int] | type[float]) -> float | int:
    minimum = schema.get("minimum")
    if isinstance(minimum, (int, float)) and not isinstance(minimum, bool):
        return cast(minimum)
    return -(2**53)
