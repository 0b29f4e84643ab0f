"""The emulator checks a request body the way the real endpoint does.

A misspelt field (``temprature``), a value of the wrong type, a number out of range or a
message without content gets the provider's own 400 error body, with its own wording, as
the real API would send it, so a test that passes against the emulator means the request
is one the provider accepts. Each wire format's record in the emulator's table
(:data:`steer_emulator.formats.EMULATIONS`) names its table of fields, its rules for
messages and its refusal wording, all defined here;
:func:`steer_emulator.formats.check_request` applies them and
:func:`steer_emulator.formats.fields` gathers the tables (docs/testing.md shows them).
OpenAI-compatible servers differ in what they add, so there only the known fields are
checked and unknown ones pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from steer_emulator._wire import dumps
from steer_emulator.request_text import proto_field

__all__ = [
    "CHAT_FIELDS",
    "COMPAT_FIELDS",
    "CONVERSE_FIELDS",
    "GEMINI_FIELDS",
    "INTERACTIONS_FIELDS",
    "INVOKE_FIELDS",
    "MESSAGES_FIELDS",
    "RESPONSES_FIELDS",
    "XAI_FIELDS",
    "Field",
    "Problem",
    "anthropic_messages",
    "anthropic_refusal",
    "bedrock_refusal",
    "chat_messages",
    "chat_refusal",
    "converse_messages",
    "field_problem",
    "gemini_contents",
    "google_refusal",
    "interactions_input",
    "responses_input",
    "responses_refusal",
    "xai_refusal",
]


@dataclass(frozen=True, slots=True)
class Field:
    """One body field: its JSON types and, for numbers, its bounds."""

    types: tuple[str, ...]
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False


_S, _N, _I, _B, _O, _A = (
    ("string",),
    ("number",),
    ("integer",),
    ("boolean",),
    ("object",),
    ("array",),
)

CHAT_FIELDS: dict[str, Field] = {
    "model": Field(_S, required=True),
    "messages": Field(_A, required=True),
    "stream": Field(_B),
    "stream_options": Field(_O),
    "temperature": Field(_N, 0, 2),
    "top_p": Field(_N, 0, 1),
    "n": Field(_I, 1, 128),
    "stop": Field(("string", "array", "null")),
    "max_tokens": Field(_I, 1),
    "max_completion_tokens": Field(_I, 1),
    "presence_penalty": Field(_N, -2, 2),
    "frequency_penalty": Field(_N, -2, 2),
    "logit_bias": Field(_O),
    "logprobs": Field(_B),
    "top_logprobs": Field(_I, 0, 20),
    "user": Field(_S),
    "tools": Field(_A),
    "tool_choice": Field(("string", "object")),
    "parallel_tool_calls": Field(_B),
    "response_format": Field(_O),
    "seed": Field(_I),
    "service_tier": Field(_S),
    "store": Field(_B),
    "metadata": Field(_O),
    "reasoning_effort": Field(_S),
    "modalities": Field(_A),
    "audio": Field(_O),
    "prediction": Field(_O),
    "web_search_options": Field(_O),
    "verbosity": Field(_S),
    "prompt_cache_key": Field(_S),
    "safety_identifier": Field(_S),
}

#: The fields of each endpoint, with their types and bounds (each wire format's record in
#: ``steer_common.providers`` names its table).
XAI_FIELDS: dict[str, Field] = {
    **{k: v for k, v in CHAT_FIELDS.items() if k not in ("modalities", "audio", "prediction")},
    "search_parameters": Field(_O),
}
COMPAT_FIELDS: dict[str, Field] = {
    **CHAT_FIELDS,
    "top_k": Field(_I),
    "min_p": Field(_N, 0, 1),
    "repetition_penalty": Field(_N, 0),
    "reasoning": Field(_O),
    "include_reasoning": Field(_B),
    "provider": Field(_O),
    "transforms": Field(_A),
    "models": Field(_A),
    "usage": Field(_O),
}
RESPONSES_FIELDS: dict[str, Field] = {
    "model": Field(_S, required=True),
    "input": Field(("string", "array")),
    "instructions": Field(("string", "null")),
    "stream": Field(_B),
    "stream_options": Field(_O),
    "temperature": Field(_N, 0, 2),
    "top_p": Field(_N, 0, 1),
    "max_output_tokens": Field(_I, 16),
    "max_tool_calls": Field(_I, 1),
    "tools": Field(_A),
    "tool_choice": Field(("string", "object")),
    "parallel_tool_calls": Field(_B),
    "text": Field(_O),
    "reasoning": Field(_O),
    "store": Field(_B),
    "metadata": Field(_O),
    "previous_response_id": Field(("string", "null")),
    "conversation": Field(("string", "object")),
    "include": Field(_A),
    "truncation": Field(_S),
    "user": Field(_S),
    "service_tier": Field(_S),
    "background": Field(_B),
    "prompt": Field(_O),
    "prompt_cache_key": Field(_S),
    "safety_identifier": Field(_S),
    "top_logprobs": Field(_I, 0, 20),
}
MESSAGES_FIELDS: dict[str, Field] = {
    "model": Field(_S, required=True),
    "messages": Field(_A, required=True),
    "max_tokens": Field(_I, 1, required=True),
    "system": Field(("string", "array")),
    "stream": Field(_B),
    "temperature": Field(_N, 0, 1),
    "top_p": Field(_N, 0, 1),
    "top_k": Field(_I, 0),
    "stop_sequences": Field(_A),
    "metadata": Field(_O),
    "tools": Field(_A),
    "tool_choice": Field(_O),
    "thinking": Field(_O),
    "service_tier": Field(_S),
    "container": Field(("string", "null")),
    "mcp_servers": Field(_A),
    "context_management": Field(_O),
    "output_config": Field(_O),
}

#: ``generateContent`` (the Gemini API; Vertex AI adds ``labels``). Protobuf JSON takes
#: each field in lowerCamelCase or in its proto snake_case name.
GEMINI_FIELDS: dict[str, Field] = {
    "contents": Field(_A, required=True),
    "systemInstruction": Field(_O),
    "system_instruction": Field(_O),
    "tools": Field(_A),
    "toolConfig": Field(_O),
    "tool_config": Field(_O),
    "safetySettings": Field(_A),
    "safety_settings": Field(_A),
    "generationConfig": Field(_O),
    "generation_config": Field(_O),
    "cachedContent": Field(_S),
    "cached_content": Field(_S),
    "labels": Field(_O),
}

#: ``interactions.create`` for a model (the google-genai SDK's ``CreateModelInteraction``).
INTERACTIONS_FIELDS: dict[str, Field] = {
    "model": Field(_S, required=True),
    "input": Field(("string", "array", "object")),
    "stream": Field(_B),
    "background": Field(_B),
    "store": Field(_B),
    "system_instruction": Field(_S),
    "tools": Field(_A),
    "generation_config": Field(_O),
    "response_format": Field(("object", "array")),
    "response_modalities": Field(_A),
    "previous_interaction_id": Field(_S),
    "continuation_token": Field(_S),
    "cached_content": Field(_S),
    "safety_settings": Field(_A),
    "service_tier": Field(_S),
    "labels": Field(_O),
    "environment": Field(("string", "object")),
    "webhook_config": Field(_O),
}


_OPENAI_TYPE_WORDS = {
    "string": "a string",
    "number": "a decimal",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "null": "null",
}
_ANTHROPIC_TYPE_WORDS = {
    "string": "a valid string",
    "number": "a valid number",
    "integer": "a valid integer",
    "boolean": "a valid boolean",
    "object": "a valid dictionary",
    "array": "a valid list",
    "null": "None",
}


#: A problem: (kind, the field's path, details for the message).
Problem = tuple[str, str, dict[str, Any]]


def field_problem(
    fields: Mapping[str, Field], body: Mapping[str, Any], *, lenient: bool
) -> Problem | None:
    """The first field of ``body`` its format's table refuses (unknown, of the wrong type, out
    of range, or a required one missing), else ``None``; ``lenient``: unknown fields pass."""
    for name, value in body.items():
        field = fields.get(name)
        if field is None:
            if lenient:
                continue  # servers add their own fields; unknown ones are theirs
            return ("unknown", name, {})
        kinds = [_kind(value)]
        if kinds[0] == "integer":
            kinds.append("number")
        if not any(k in field.types for k in kinds):
            return ("type", name, {"expected": field.types[0], "got": kinds[0]})
        if kinds[0] in ("integer", "number"):
            bound = {
                "got": value,
                "int": "integer" in field.types,
            }  # the field's type, not the value's
            if field.minimum is not None and value < field.minimum:
                return ("below", name, {**bound, "bound": field.minimum})
            if field.maximum is not None and value > field.maximum:
                return ("above", name, {**bound, "bound": field.maximum})
    for name, field in fields.items():
        if field.required and name not in body:
            return ("missing", name, {})
    return None


def responses_input(body: Mapping[str, Any]) -> Problem | None:
    """The Responses API: an input item with a role needs content."""
    items = body.get("input")
    for i, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict) and "role" in item and item.get("content") is None:
            return ("missing", f"input[{i}].content", {})
    return None


def anthropic_messages(body: Mapping[str, Any]) -> Problem | None:
    """The Messages API: roles user and assistant only, content required and not empty."""
    for i, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict):
            return ("type", f"messages.{i}", {"expected": "object", "got": _kind(message)})
        content = message.get("content")
        if message.get("role") not in ("user", "assistant"):
            return ("role", f"messages.{i}.role", {"got": message.get("role")})
        if content is None:
            return ("missing", f"messages.{i}.content", {})
        if content in ("", []):
            return ("empty", f"messages.{i}.content", {})
    return None


def chat_messages(body: Mapping[str, Any]) -> Problem | None:
    """Chat Completions: a known role, and content (but an assistant turn of tool calls)."""
    for i, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict):
            return ("type", f"messages[{i}]", {"expected": "object", "got": _kind(message)})
        role = message.get("role")
        if role not in ("system", "developer", "user", "assistant", "tool", "function"):
            return ("role", f"messages[{i}].role", {"got": role})
        if message.get("content") is None and not (
            role == "assistant" and message.get("tool_calls")
        ):
            return ("missing", f"messages[{i}].content", {})
    return None


#: What the Gemini API says when a model turn's first function call lacks its signature.
MISSING_SIGNATURE = (
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `{name}` , position {position}. Please "
    "refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


def gemini_contents(body: Mapping[str, Any]) -> Problem | None:
    """``generateContent``: roles ``user`` and ``model``, parts in every turn, the first
    function call of a model turn signed (Gemini 3's rule, held for every model), and as
    many function responses as the turn before made calls."""
    calls = 0
    for i, turn in enumerate(body.get("contents") or []):
        if not isinstance(turn, dict):
            return ("type", f"contents[{i}]", {"expected": "object", "got": _kind(turn)})
        role = turn.get("role", "user")
        if role not in ("user", "model"):
            return ("role", f"contents[{i}].role", {"got": role})
        parts = turn.get("parts")
        if not isinstance(parts, list) or not parts:
            return ("empty", f"contents[{i}].parts", {})
        called = [p for p in parts if proto_field(p, "functionCall")]
        if role == "model" and called and not proto_field(called[0], "thoughtSignature"):
            name = proto_field(called[0], "functionCall").get("name")
            return ("signature", f"contents[{i}]", {"name": name, "position": i + 1})
        answered = sum(1 for p in parts if proto_field(p, "functionResponse"))
        if answered and answered != calls:
            return ("responses", f"contents[{i}]", {"calls": calls, "answered": answered})
        calls = len(called)
    return None


_STEPS = frozenset({"user_input", "model_output", "thought", "function_call", "function_result"})


def interactions_input(body: Mapping[str, Any]) -> Problem | None:
    """``interactions.create``: ``input`` steps of a known type, a ``user_input`` step with
    content, a ``function_result`` naming its call."""
    steps = body.get("input")
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        if not isinstance(step, dict):
            return ("type", f"input[{i}]", {"expected": "object", "got": _kind(step)})
        kind = step.get("type")
        if kind in ("text", "image", "audio", "document", "video"):
            continue  # a list of content
        if kind not in _STEPS:
            return ("unknown", f"input[{i}].type", {})
        if kind == "user_input" and not step.get("content"):
            return ("empty", f"input[{i}].content", {})
        if kind == "function_result" and not isinstance(step.get("call_id"), str):
            return ("missing", f"input[{i}].call_id", {})
    return None


def google_refusal(kind: str, path: str, details: dict[str, Any]) -> bytes:
    """Google's 400: ``{"error": {"code": 400, "message", "status": "INVALID_ARGUMENT"}}``."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in path)
    message = {
        "unknown": f'Invalid JSON payload received. Unknown name "{path}": Cannot find field.',
        "missing": "* GenerateContentRequest.contents: contents is not specified",
        "type": f"Invalid value at '{snake}' ({details.get('expected')}), {details.get('got')!r}",
        "role": "Please use a valid role: user, model.",
        "empty": f"* GenerateContentRequest.{snake}: contents.parts must not be empty.",
        "signature": MISSING_SIGNATURE.format(
            name=details.get("name"), position=details.get("position")
        ),
        "responses": "Please ensure that the number of function response parts is equal to "
        "the number of function call parts of the function call turn.",
        "below": f"Invalid value at '{snake}': {details.get('got')} is below the minimum",
        "above": f"Invalid value at '{snake}': {details.get('got')} is above the maximum",
    }[kind]
    error = {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
    return dumps({"error": error}).encode()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def anthropic_refusal(kind: str, path: str, details: dict[str, Any]) -> bytes:
    """Anthropic's 400: ``{"type": "error", "error": {"type": "invalid_request_error", ...}}``."""
    dotted = path.replace("[", ".").replace("]", "")
    words = {
        "unknown": "Extra inputs are not permitted",
        "missing": "Field required",
        "empty": "text content blocks must be non-empty"
        if "content" in dotted
        else "Field required",
        "role": f"Input should be 'user' or 'assistant' (got {details.get('got')!r})",
        "type": f"Input should be {_ANTHROPIC_TYPE_WORDS.get(details.get('expected', ''), 'valid')}",
        "below": f"Input should be greater than or equal to {_number(details.get('bound'))}",
        "above": f"Input should be less than or equal to {_number(details.get('bound'))}",
    }[kind]
    refusal = {"type": "invalid_request_error", "message": f"{dotted}: {words}"}
    return dumps(
        {"type": "error", "error": refusal, "request_id": "req_011CEmulatorRequest0000"}
    ).encode()


def chat_refusal(kind: str, path: str, details: dict[str, Any]) -> bytes:
    """OpenAI Chat Completions' 400 (and OpenAI-compatible servers')."""
    return _openai_refusal(*_openai_words(kind, path, details, responses=False), path)


def responses_refusal(kind: str, path: str, details: dict[str, Any]) -> bytes:
    """The Responses API's 400 (its unknown parameters are worded apart)."""
    return _openai_refusal(*_openai_words(kind, path, details, responses=True), path)


def xai_refusal(kind: str, path: str, details: dict[str, Any]) -> bytes:
    """xAI's 400: ``{"code": "Client specified an invalid argument", "error": ...}``."""
    message, _ = _openai_words(kind, path, details, responses=False)
    return dumps({"code": "Client specified an invalid argument", "error": message}).encode()


def _openai_refusal(message: str, code: str | None, path: str) -> bytes:
    error: dict[str, str | None] = {
        "message": message,
        "type": "invalid_request_error",
        "param": path,
        "code": code,
    }
    return dumps({"error": error}).encode()


def _openai_words(
    kind: str, path: str, details: dict[str, Any], *, responses: bool
) -> tuple[str, str | None]:
    if kind == "unknown":
        if responses:
            return f"Unknown parameter: '{path}'.", "unknown_parameter"
        return f"Unrecognized request argument supplied: {path}", None
    if kind == "missing":
        return f"Missing required parameter: '{path}'.", "missing_required_parameter"
    if kind == "role":
        return (
            f"Invalid value: '{details.get('got')}'. Supported values are: 'system', 'assistant', 'user', 'tool', 'function' and 'developer'.",
            "invalid_value",
        )
    if kind == "type":
        expected = _OPENAI_TYPE_WORDS.get(details["expected"], details["expected"])
        got = _OPENAI_TYPE_WORDS.get(details["got"], details["got"])
        return (
            f"Invalid type for '{path}': expected {expected}, but got {got} instead.",
            "invalid_type",
        )
    number = "integer" if details.get("int") else "decimal"
    side, sign = ("below minimum", ">=") if kind == "below" else ("above maximum", "<=")
    return (
        f"Invalid '{path}': {number} {side} value. Expected a value {sign} "
        f"{_number(details['bound'])}, but got {_number(details['got'])} instead.",
        f"{number}_{'below_min' if kind == 'below' else 'above_max'}_value",
    )


def _number(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def converse_messages(body: Mapping[str, Any]) -> Problem | None:
    """Converse's rules: roles ``user`` and ``assistant``, content blocks in each."""
    for i, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return ("role", f"messages.{i}.role", {})
        if not isinstance(message.get("content"), list) or not message["content"]:
            return ("empty", f"messages.{i}.content", {})
    return None


def bedrock_refusal(kind: str, path: str, details: dict[str, Any]) -> bytes:
    """Bedrock's 400 for a malformed request, in its words."""
    message = {
        "unknown": f"Malformed input request: extraneous key [{path}] is not permitted",
        "missing": f"Malformed input request: required key [{path}] not found",
        "type": f"Malformed input request: {path}: expected type: {details.get('expected')}",
        "role": f"A conversation must alternate between user and assistant roles ({path}).",
        "empty": f"The content field in the Message object at {path} is empty.",
        "below": f"Malformed input request: {path}: {details.get('got')} is not a valid value",
        "above": f"Malformed input request: {path}: {details.get('got')} is not a valid value",
    }.get(kind, f"Malformed input request: {path}")
    return dumps({"message": message}).encode()


CONVERSE_FIELDS = {
    "messages": Field(_A, required=True),
    "system": Field(_A),
    "inferenceConfig": Field(_O),
    "toolConfig": Field(_O),
    "guardrailConfig": Field(_O),
    "additionalModelRequestFields": Field(_O),
    "additionalModelResponseFieldPaths": Field(_A),
    "promptVariables": Field(_O),
    "requestMetadata": Field(_O),
    "performanceConfig": Field(_O),
}


INVOKE_FIELDS = {
    name: field for name, field in MESSAGES_FIELDS.items() if name not in ("model", "stream")
} | {"anthropic_version": Field(_S, required=True)}
