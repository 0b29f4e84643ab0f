"""Bedrock's streams for a scripted reply, as event stream messages
(research/wire-formats-more.md section 3): ``ConverseStream`` (``messageStart``, blocks
opened by their first delta except tool use, ``messageStop``, then ``metadata``), and
``InvokeModelWithResponseStream`` for Anthropic models (each Messages API event,
base64, in a ``chunk`` message). Every payload carries the random-length ``"p"`` padding
the service adds; an injected error is an ``exception`` message."""

from __future__ import annotations

import base64
import json
import string
from typing import Any

from steer_common.eventstream import encode
from steer_emulator import render_anthropic
from steer_emulator._wire import Ids, cut, dumps
from steer_emulator.script import ScriptedReply, split_text

__all__ = ["render_converse", "render_invoke"]

_STOP = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "content_filter": "content_filtered",
}
_PADDING = string.ascii_letters + string.digits


def _pad(n: int) -> str:
    return _PADDING[: 1 + (n * 7) % len(_PADDING)]


def _message(kind: str, payload: dict[str, Any], n: int) -> bytes:
    headers = {
        ":event-type": kind,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return encode(headers, dumps({**payload, "p": _pad(n)}).encode())


def _exception(reply: ScriptedReply) -> bytes:
    kind = reply.error_type or "modelStreamErrorException"
    message = reply.error_message or "The model stream was interrupted. Try your request again."
    headers = {
        ":exception-type": kind,
        ":content-type": "application/json",
        ":message-type": "exception",
    }
    return encode(headers, dumps({"message": message}).encode())


def render_converse(reply: ScriptedReply) -> list[bytes]:
    """The ``ConverseStream`` body for ``reply``, one element per message."""
    out: list[bytes] = []

    def emit(kind: str, payload: dict[str, Any]) -> None:
        out.append(_message(kind, payload, len(out)))

    emit("messageStart", {"role": "assistant"})
    if reply.error_before_content:
        return [*out, _exception(reply)]
    index = 0
    if reply.reasoning:
        for piece in reply.reasoning_deltas():
            emit(
                "contentBlockDelta",
                {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}},
            )
        signature = base64.b64encode(Ids(reply, "bedrock").hex(48).encode()).decode()
        emit(
            "contentBlockDelta",
            {"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": signature}}},
        )
        emit("contentBlockStop", {"contentBlockIndex": index})
        index += 1
    if reply.text or reply.error_after_chars is not None:
        for piece in reply.streamed_text_deltas():
            emit("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
        if reply.in_band_error:
            return [*out, _exception(reply)]
        emit("contentBlockStop", {"contentBlockIndex": index})
        index += 1
    ids = Ids(reply, "bedrock-tools")
    for call in reply.tool_calls:
        tool = {"toolUseId": call.id or "tooluse_" + ids.alnum(22), "name": call.name}
        emit("contentBlockStart", {"contentBlockIndex": index, "start": {"toolUse": tool}})
        for piece in split_text(reply.arguments_json(call, compact=True), reply.chunk_chars):
            delta = {"toolUse": {"input": piece}}
            emit("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})
        emit("contentBlockStop", {"contentBlockIndex": index})
        index += 1
    terminal = len(out)  # messageStop: a truncation never sends it
    emit("messageStop", {"stopReason": _STOP[reply.finish]})
    prompt, completion, cached, _ = reply.usage()
    written = reply.cache_write_tokens
    usage = {
        "inputTokens": prompt - cached - written,
        "outputTokens": completion,
        "totalTokens": prompt + completion,
    }
    if cached or written:
        usage |= {"cacheReadInputTokens": cached, "cacheWriteInputTokens": written}
    emit("metadata", {"usage": usage, "metrics": {"latencyMs": 42}})
    return cut(out, terminal, reply)


def render_invoke(reply: ScriptedReply) -> list[bytes]:
    """The ``InvokeModelWithResponseStream`` body for an Anthropic model: the Messages
    API events, each base64 in a ``chunk`` message; the last carries Bedrock's metrics.
    An injected error (an ``error`` event in the Messages API) is an exception message."""
    out: list[bytes] = []
    prompt, completion, _, _ = reply.usage()
    for n, frame in enumerate(render_anthropic.render(reply)):
        data = next(line[6:] for line in frame.decode().splitlines() if line.startswith("data: "))
        event = json.loads(data)
        if event.get("type") == "error":
            out.append(_exception(reply))
            return out
        if event.get("type") == "message_stop":
            event["amazon-bedrock-invocationMetrics"] = {
                "inputTokenCount": prompt,
                "outputTokenCount": completion,
                "invocationLatency": 420,
                "firstByteLatency": 120,
            }
        payload = {"bytes": base64.b64encode(dumps(event).encode()).decode()}
        out.append(_message("chunk", payload, n))
    return out
