"""The JSON object the emulator answers when a prompt asks for JSON without a schema.

A real model given "a product listing with name, price, and description" and JSON mode
answers an object with those three keys. :func:`object_for_prompt` does the same,
deterministically: the keys the prompt lists after "with" (or the usual keys of a thing it
names, such as a product), each with a plausible value for its name (a price is a number,
a description a sentence). With nothing to go on it answers ``{"answer": "Echo: ..."}``.
:func:`asks_for_json` tells whether a prompt asks for JSON in words ("Generate JSON data").
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["asks_for_json", "keys_for_prompt", "object_for_prompt"]

_JSON_WORD = re.compile(r"\bjson\b", re.IGNORECASE)
# "... with name, price, and description", "with the fields a, b and c: ..."
_WITH_LIST = re.compile(
    r"\bwith\s+(?:(?:the|these|its)\s+)?(?:(?:fields?|keys?|properties|attributes)\s*:?\s+)?"
    r"([a-z][\w ,'-]*?)\s*(?:[.;:!?(]|$)",
    re.IGNORECASE,
)
_KEY = re.compile(r"^[a-z][a-z0-9_]*(?: [a-z][a-z0-9_]*){0,2}$")
_STOP = frozenset({"a", "an", "the", "some", "its", "their", "plausible", "realistic", "values"})

# The usual keys of things a prompt may name without listing keys.
_THINGS: dict[str, tuple[str, ...]] = {
    "product": ("name", "price", "description"),
    "user": ("name", "email", "age"),
    "person": ("name", "email", "age"),
    "book": ("title", "author", "year"),
    "city": ("name", "country", "population"),
    "address": ("street", "city", "postal_code", "country"),
    "event": ("title", "date", "location"),
}

# Plausible values by key name; the first rule whose words the key contains wins.
_VALUES: tuple[tuple[tuple[str, ...], Any], ...] = (
    (("available", "active", "enabled", "in_stock", "valid"), True),
    (("price", "cost", "amount", "total"), 19.99),
    (("rating", "score"), 4.5),
    (("age",), 36),
    (("year",), 2024),
    (("population",), 2_100_000),
    (("count", "quantity", "stock", "number"), 3),
    (("id",), 1),
    (("email",), "ada@example.com"),
    (("url", "link", "website"), "https://example.com"),
    (("date", "time"), "2026-01-01"),
    (("description", "summary", "bio"), "A sturdy, well-made example, described by the emulator."),
    (("title",), "An Example Title"),
    (("author",), "Ada Lovelace"),
    (("name",), "Steer Widget"),
    (("currency",), "USD"),
    (("country",), "France"),
    (("city", "location"), "Paris"),
    (("street",), "1 Example Street"),
    (("postal", "zip"), "75001"),
    (("tags", "keywords", "categories", "features", "items"), ["example", "emulated"]),
    (("category", "type", "kind"), "examples"),
)


def asks_for_json(prompt: str) -> bool:
    """The prompt asks for JSON in words ("Generate JSON data", "answer in json")."""
    return _JSON_WORD.search(prompt) is not None


def keys_for_prompt(prompt: str) -> list[str]:
    """The keys a prompt asks for: listed after "with", else a named thing's usual keys."""
    match = _WITH_LIST.search(prompt)
    if match:
        keys = []
        for piece in re.split(r",|\band\b|\bor\b", match.group(1)):
            words = [w for w in piece.strip().lower().split() if w not in _STOP]
            key = " ".join(words)
            if key and _KEY.match(key):
                keys.append(key.replace(" ", "_"))
        if keys:
            return list(dict.fromkeys(keys))
    lowered = prompt.lower()
    for thing, keys_of_thing in _THINGS.items():
        if re.search(rf"\b{thing}s?\b", lowered):
            return list(keys_of_thing)
    return []


def object_for_prompt(prompt: str) -> dict[str, Any]:
    """The JSON object that answers ``prompt`` (see the module docstring)."""
    keys = keys_for_prompt(prompt)
    if not keys:
        return {"answer": "Echo: " + prompt}
    return {key: _value_for(key) for key in keys}


def _value_for(key: str) -> Any:
    words = set(key.split("_")) | {key}
    for names, value in _VALUES:
        if words & set(names):
            return value
    return f"example {key.replace('_', ' ')}"
