"""Derive a deterministic :class:`ScriptedReply` from a request body: :func:`reply_for_request`.

The rules, first match wins for the content (the same request always gets the same reply):

1. **Directive.** If the last user message contains ``[[emulator:{...}]]``, the JSON object
   configures the reply: its keys are :class:`ScriptedReply` fields (``text``,
   ``reasoning``, ``tool_calls``, ``finish_reason``, the usage numbers, ``chunk_chars``,
   ``deltas`` and the fault fields). This is *the* way a test asks for a specific reply.
   Fields it does not set are derived by the rules below. A key ``after_tool`` holds the
   fields used instead once the conversation ends with tool results (so an agent loop
   that asked for a tool call does not get the same call forever).
2. **Tool results.** When the conversation ends with tool results (a Chat ``tool``
   message, a Responses ``function_call_output``, an Anthropic ``tool_result`` block), the
   reply is text quoting them: ``"The tool returned: <result>."``.
3. **Tool calls.** When tools are offered and the last user message names some of them,
   each named tool is called (parallel calls, in the order of ``tools``) with arguments
   that satisfy its schema, filled from the prompt: the first integer in the prompt for
   an integer, the first number for a number, the first double-quoted phrase (else the
   last capitalized word) for a string.
4. **JSON.** When ``response_format`` / ``text.format`` / ``output_config`` asks for a JSON
   schema, a minimal instance of it (strings ``"example"``, numbers ``1``, booleans
   ``true``, arrays of one item, every required and listed property); for
   ``json_object`` (Anthropic: the JSON instruction the client adds to ``system``), or a
   prompt that asks for JSON in words, an object with the keys the prompt names and
   plausible values (:mod:`.prompt_json`), else ``{"answer": "Echo: <prompt>"}``.
5. **Text.** ``"Echo: <last user text>"``, or, when the prompt asks for ``N words``,
   ``N`` deterministic filler words, or, when it asks for a story, a short story that
   streams at a reader's pace (the ``steer`` command's demo); cut to ``max_tokens``
   (about four characters a token) with ``finish_reason`` ``length``.

Reasoning text ``"Thinking about: <prompt>"`` is added when the request asks for it
(Anthropic ``thinking`` enabled, Responses ``reasoning.summary``, an xAI ``grok-3-mini`` or
``grok-code-fast`` model). Usage: ``prompt_tokens`` is about a quarter of the request's
text length plus one; the completion count is the script's estimate.
"""

from __future__ import annotations

import json
import re
from typing import Any

from steer_common.providers import get_format
from steer_emulator.formats import read_conversation
from steer_emulator.prompt_json import asks_for_json, object_for_prompt
from steer_emulator.request_text import DIRECTIVE_PREFIX, Conversation
from steer_emulator.schema_instance import arguments_for, minimal_instance
from steer_emulator.script import ScriptedCall, ScriptedReply

__all__ = ["DIRECTIVE_PREFIX", "fit_to_request", "reply_for_request"]

_WORDS = re.compile(r"\b(\d{1,6})\s+words\b", re.IGNORECASE)
_STORY = (
    "Once upon a time, a small program listened to a stream of bytes. Each line it read "
    "became an event, and each event became a word on the screen. When the stream ended, "
    "the program counted its tokens, priced them, and went quietly back to the pool. "
    "(This story came from the steer-llm-sdk loopback emulator: set an API key to hear "
    "a real model tell yours.)"
)
_FILLER = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliett",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]


def reply_for_request(wire_format: str, body: dict[str, Any]) -> ScriptedReply:
    """The reply the emulator gives to ``body`` (see the module docstring for the rules).

    Args:
        wire_format: ``openai``, ``openai_responses``, ``anthropic``, ``xai`` or
            ``openai_compatible``.
        body: the parsed JSON request body.

    Returns:
        The script, with ``model``, ``include_usage`` and ``prompt_tokens`` taken from the
        request.

    Raises:
        ValueError: a malformed directive (bad JSON, an unknown field, a bad value).
    """
    convo = read_conversation(wire_format, body)
    directive = dict(convo.directive or {})
    after_tool = directive.pop("after_tool", None)
    if after_tool is not None and not isinstance(after_tool, dict):
        raise ValueError("emulator directive: after_tool must be an object")
    fields: dict[str, Any] = {}
    if convo.tool_results:
        fields = dict(after_tool or {})
        # Faults and shaping from the directive still apply; its content does not.
        for key, value in directive.items():
            if key not in ("text", "deltas", "tool_calls", "finish_reason", "reasoning"):
                fields.setdefault(key, value)
    else:
        fields = directive
    if "text" not in fields and "deltas" not in fields and "tool_calls" not in fields:
        for key, value in _content(convo).items():
            fields.setdefault(key, value)  # an explicit finish_reason stays
    if "reasoning" not in fields and convo.wants_reasoning:
        fields["reasoning"] = "Thinking about: " + _short(convo.prompt)
    reply = ScriptedReply.from_dict(fields)
    return fit_to_request(reply, wire_format, body, convo)


def fit_to_request(
    reply: ScriptedReply,
    wire_format: str,
    body: dict[str, Any],
    convo: Conversation | None = None,
) -> ScriptedReply:
    """Fill what a script leaves open from the request; what the script sets wins.

    The model, the usage flag (Chat's ``stream_options.include_usage``), the prompt size,
    and, for a script with no ``text``, ``deltas`` or ``tool_calls``, the content the rules
    above derive (``deltas=[]`` keeps a reply empty). Used for the scripts a test enqueues.
    """
    if convo is None:
        convo = read_conversation(wire_format, body)
    changes: dict[str, Any] = {}
    if not reply.text and reply.deltas is None and not reply.tool_calls:
        content = _content(convo)
        if reply.finish_reason is not None:
            content.pop("finish_reason", None)
        changes.update(content)
    if reply.model is None and isinstance(body.get("model"), str):
        changes["model"] = body["model"]
    if reply.prompt_tokens is None:
        changes["prompt_tokens"] = max(convo.size // 4 + 1, reply.cached_tokens)
    if reply.include_usage is None:
        asked = get_format(wire_format).usage_asked
        if asked is not None:
            changes["include_usage"] = asked(body)
    return reply.replace(**changes) if changes else reply


def _content(convo: Conversation) -> dict[str, Any]:
    if convo.tool_results:
        return {"text": f"The tool returned: {'; '.join(convo.tool_results)}."}
    prompt = convo.prompt
    lowered = prompt.lower()
    named = [(name, schema) for name, schema in convo.tools if _names(name, lowered)]
    if named:
        return {
            "tool_calls": [
                ScriptedCall(None, name, arguments_for(schema, prompt)) for name, schema in named
            ]
        }
    if convo.json_schema is not None:
        return {"text": json.dumps(minimal_instance(convo.json_schema))}
    if convo.json_object or asks_for_json(prompt):
        return {"text": json.dumps(object_for_prompt(prompt))}
    match = _WORDS.search(prompt)
    extra: dict[str, Any] = {}
    if match:
        count = int(match.group(1))
        text = " ".join(_FILLER[i % len(_FILLER)] for i in range(count))
    elif "story" in prompt.lower():
        text = _STORY
        extra = {"chunk_chars": 6, "event_delay": 0.03}
    else:
        text = "Echo: " + prompt
    if convo.max_tokens is not None and len(text) > convo.max_tokens * 4:
        return {"text": text[: convo.max_tokens * 4], "finish_reason": "length", **extra}
    return {"text": text, **extra}


def _names(tool: str, prompt: str) -> bool:
    """The prompt names the tool: ``get_weather`` or ``get weather``, as whole words."""
    name = tool.lower()
    return any(
        re.search(rf"(?<![\w]){re.escape(form)}(?![\w])", prompt)
        for form in {name, name.replace("_", " ")}
    )


def _short(text: str) -> str:
    return text if len(text) <= 200 else text[:200] + "..."
