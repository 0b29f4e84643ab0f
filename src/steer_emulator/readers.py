"""Each wire format's request, read as the emulator needs it: a :class:`Conversation`.

The inverse of each provider module's ``build_body`` (``steer_common/providers/``): what
the last user message says, the tool results the conversation ends with, the tools
offered, the JSON format and the token cap asked for, whether reasoning was asked for.
:data:`steer_emulator.formats.EMULATIONS` names each format's reader;
:func:`steer_emulator.formats.read_conversation` calls it and takes out the directive.
Anthropic's requests also carry a prefill and prompt-cache marks, read here too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from steer_common.providers.anthropic import JSON_OBJECT_INSTRUCTION
from steer_common.providers.bedrock import JSON_INSTRUCTION
from steer_emulator.request_text import (
    Conversation,
    is_tool_result,
    positive_int,
    proto_field,
    read_json_format,
    schema_of,
    text_of,
    trailing,
)

__all__ = [
    "cache_prefix",
    "read_chat",
    "read_converse",
    "read_gemini",
    "read_interactions",
    "read_invoke",
    "read_messages",
    "read_prefill",
    "read_responses",
    "read_xai",
]


def read_chat(body: dict[str, Any]) -> Conversation:
    """A Chat Completions request as the emulator reads it (any dialect)."""
    convo = Conversation()
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    for message in messages:
        if message.get("role") == "user":
            convo.prompt = text_of(message.get("content"))
    results = trailing(messages, lambda m: m.get("role") == "tool")
    convo.tool_results = [text_of(m.get("content")) for m in results]
    for tool in body.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            convo.tools.append((function["name"], schema_of(function.get("parameters"))))
    read_json_format(convo, body.get("response_format"), nested=True)
    convo.max_tokens = positive_int(body.get("max_completion_tokens")) or positive_int(
        body.get("max_tokens")
    )
    return convo


def read_xai(body: dict[str, Any]) -> Conversation:
    """A Grok request as the emulator reads it: Chat Completions, and reasoning text for the
    models that stream it."""
    convo = read_chat(body)
    model = body.get("model")
    convo.wants_reasoning = isinstance(model, str) and model.startswith(
        ("grok-3-mini", "grok-code-fast")
    )
    return convo


def read_responses(body: dict[str, Any]) -> Conversation:
    """A Responses request as the emulator reads it."""
    convo = Conversation()
    items = body.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    items = [i for i in items or [] if isinstance(i, dict)]
    for item in items:
        if item.get("role") == "user":
            convo.prompt = text_of(item.get("content"))
    results = trailing(items, lambda i: i.get("type") == "function_call_output")
    convo.tool_results = [text_of(i.get("output")) for i in results]
    for tool in body.get("tools") or []:
        if (
            isinstance(tool, dict)
            and tool.get("type") == "function"
            and isinstance(tool.get("name"), str)
        ):
            convo.tools.append((tool["name"], schema_of(tool.get("parameters"))))
    text = body.get("text")
    read_json_format(convo, text.get("format") if isinstance(text, dict) else None, nested=False)
    convo.max_tokens = positive_int(body.get("max_output_tokens"))
    reasoning = body.get("reasoning")
    convo.wants_reasoning = isinstance(reasoning, dict) and bool(reasoning.get("summary"))
    return convo


def read_messages(body: dict[str, Any]) -> Conversation:
    """A Messages request as the emulator reads it."""
    convo = Conversation()
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        blocks = content if isinstance(content, list) else [content]
        text = "".join(text_of(b) for b in blocks if not is_tool_result(b))
        if text:
            convo.prompt = text
    last = messages[-1] if messages else {}
    if last.get("role") == "user" and isinstance(last.get("content"), list):
        convo.tool_results = [
            text_of(b.get("content")) for b in last["content"] if is_tool_result(b)
        ]
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and isinstance(tool.get("name"), str):
            convo.tools.append((tool["name"], schema_of(tool.get("input_schema"))))
    output = body.get("output_config")
    read_json_format(
        convo, output.get("format") if isinstance(output, dict) else None, nested=False
    )
    convo.json_object = JSON_OBJECT_INSTRUCTION in text_of(body.get("system"))
    convo.max_tokens = positive_int(body.get("max_tokens"))
    thinking = body.get("thinking")
    convo.wants_reasoning = isinstance(thinking, dict) and thinking.get("type") in (
        "enabled",
        "adaptive",
    )
    return convo


def read_prefill(body: Mapping[str, Any]) -> str:
    """The text of a request's trailing assistant message (a prefill), or ``""``."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return ""
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return ""
    content = last.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(block.get("text", ""))
            for block in content
            if isinstance(block, dict) and block.get("type") == "text"
        )
    return ""


def cache_prefix(body: Mapping[str, Any]) -> str | None:
    """The request up to its last ``cache_control`` breakpoint (tools, then the system
    prompt, then the messages, as the API orders its cache), or ``None``."""
    pieces: list[Any] = []
    last = -1
    system = body.get("system")
    blocks = [*(body.get("tools") or []), *(system if isinstance(system, list) else [system])]
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        blocks.extend(content if isinstance(content, list) else [content])
    for block in blocks:
        if block is None:
            continue
        pieces.append(block)
        if isinstance(block, dict) and block.get("cache_control"):
            last = len(pieces) - 1
    if last < 0:
        return None
    return json.dumps(pieces[: last + 1], sort_keys=True, default=str)


def read_gemini(body: dict[str, Any]) -> Conversation:
    """A ``generateContent`` request as the emulator reads it (each field in either of the
    spellings protobuf JSON takes: ``includeThoughts`` or ``include_thoughts``)."""
    convo = Conversation()
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    for turn in contents:
        if turn.get("role", "user") == "user":
            text = "".join(
                str(p.get("text", "")) for p in turn.get("parts") or [] if isinstance(p, dict)
            )
            if text:
                convo.prompt = text
    last = contents[-1] if contents else {}
    parts = [p for p in last.get("parts") or [] if isinstance(p, dict)]
    responses = [proto_field(p, "functionResponse") for p in parts]
    convo.tool_results = [
        text_of((r.get("response") or {}).get("result", "")) for r in responses if r
    ]
    for tool in body.get("tools") or []:
        for declaration in proto_field(tool, "functionDeclarations") or []:
            if isinstance(declaration, dict) and isinstance(declaration.get("name"), str):
                schema = proto_field(declaration, "parametersJsonSchema") or declaration.get(
                    "parameters"
                )
                convo.tools.append((declaration["name"], schema_of(schema)))
    config = proto_field(body, "generationConfig") or {}
    if proto_field(config, "responseMimeType") == "application/json":
        schema = proto_field(config, "responseJsonSchema") or proto_field(config, "responseSchema")
        if isinstance(schema, dict):
            convo.json_schema = schema
        else:
            convo.json_object = True
    convo.max_tokens = positive_int(proto_field(config, "maxOutputTokens"))
    thinking = proto_field(config, "thinkingConfig")
    convo.wants_reasoning = isinstance(thinking, dict) and bool(
        proto_field(thinking, "includeThoughts")
    )
    return convo


def read_interactions(body: dict[str, Any]) -> Conversation:
    """An Interactions request as the emulator reads it: ``input`` a string, content, or
    steps (``user_input``, ``model_output``, ``function_call``, ``function_result``)."""
    convo = Conversation()
    given = body.get("input")
    if isinstance(given, str):
        given = [{"type": "user_input", "content": [{"type": "text", "text": given}]}]
    elif isinstance(given, dict):
        given = [{"type": "user_input", "content": [given]}]
    steps = [s for s in given or [] if isinstance(s, dict)]
    if steps and all(
        s.get("type") in ("text", "image", "audio", "document", "video") for s in steps
    ):
        steps = [{"type": "user_input", "content": steps}]  # a list of content
    for step in steps:
        if step.get("type") == "user_input":
            text = text_of(step.get("content"))
            if text:
                convo.prompt = text
    results = trailing(steps, lambda s: s.get("type") == "function_result")
    convo.tool_results = [text_of(s.get("result")) for s in results]
    for tool in body.get("tools") or []:
        if (
            isinstance(tool, dict)
            and tool.get("type") == "function"
            and isinstance(tool.get("name"), str)
        ):
            convo.tools.append((tool["name"], schema_of(tool.get("parameters"))))
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("mime_type") == "application/json":
        schema = fmt.get("schema")
        if isinstance(schema, dict):
            convo.json_schema = schema
        else:
            convo.json_object = True
    config = body.get("generation_config")
    config = config if isinstance(config, dict) else {}
    convo.max_tokens = positive_int(config.get("max_output_tokens"))
    convo.wants_reasoning = config.get("thinking_summaries") == "auto"
    return convo


def read_converse(body: dict[str, Any]) -> Conversation:
    """A ``ConverseStream`` request as the emulator reads it."""
    convo = Conversation()
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    for message in messages:
        if message.get("role") == "user":
            texts = [b.get("text") for b in message.get("content") or [] if isinstance(b, dict)]
            text = "".join(t for t in texts if isinstance(t, str))
            if text:
                convo.prompt = text
    convo.tool_results = [  # the results in the last (user) turn
        text_of(block["toolResult"].get("content"))
        for message in messages[-1:]
        for block in message.get("content") or []
        if isinstance(block, dict) and isinstance(block.get("toolResult"), dict)
    ]
    for tool in (body.get("toolConfig") or {}).get("tools") or []:
        spec = tool.get("toolSpec") if isinstance(tool, dict) else None
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            schema = (spec.get("inputSchema") or {}).get("json")
            convo.tools.append((spec["name"], schema_of(schema)))
    system = " ".join(
        text_of(b.get("text")) for b in body.get("system") or [] if isinstance(b, dict)
    )
    if "JSON schema: " in system:
        schema = system.split("JSON schema: ", 1)[1]
        read_json_format(
            convo,
            {"type": "json_schema", "json_schema": {"schema": json.loads(schema)}},
            nested=True,
        )
    elif JSON_INSTRUCTION in system:
        convo.json_object = True
    convo.max_tokens = positive_int((body.get("inferenceConfig") or {}).get("maxTokens"))
    return convo


def read_invoke(body: dict[str, Any]) -> Conversation:
    """An Invoke request for an Anthropic model: the Messages API body."""
    return read_messages(body)
