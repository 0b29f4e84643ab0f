"""Google Gemini ``streamGenerateContent?alt=sse``: the Gemini API and Vertex AI.

Both send the same chunks (research/wire-formats-more.md section 1): ``data:`` lines of
one ``GenerateContentResponse`` each, separated by CRLF CRLF, no event names, no
``[DONE]``: the stream ends at EOF, and a complete one has a candidate's ``finishReason``.

- ``candidates[0].content.parts``: ``text``; ``text`` with ``thought: true`` (a thought
  summary, streamed as reasoning); ``functionCall {name, args, id?}``, whole in one part
  (no id on the Gemini API: one is made up, ``gemini-call-<n>``, and never sent back);
  on Vertex, streamed arguments (``willContinue`` and ``partialArgs[] {jsonPath, *Value}``,
  strings appended across fragments); code execution parts (kept in ``provider_data``).
  Any part may carry a ``thoughtSignature``: on a call it stays on the ``ToolCall`` (it
  must go back with the call), elsewhere on a reasoning block.
- ``finishReason``: ``STOP`` (``tool_calls`` when the reply called functions),
  ``MAX_TOKENS`` (``length``), the safety family (``SAFETY``, ``RECITATION``,
  ``BLOCKLIST``, ``PROHIBITED_CONTENT``, ``SPII``, ``IMAGE_SAFETY``, ``LANGUAGE``) as
  ``content_filter``; the raw reason stays as ``native_finish_reason``.
- A prompt blocked before any candidate (``promptFeedback.blockReason``) is a
  :class:`~steer_common.errors.ContentFilterError`.
- ``usageMetadata`` is cumulative; the last one counts. ``thoughtsTokenCount`` is *not*
  inside ``candidatesTokenCount``, and built-in tools' ``toolUsePromptTokenCount`` is
  apart from ``promptTokenCount``: the normalized ``completion_tokens`` adds the thoughts
  and ``prompt_tokens`` the tool-use prompt, so that they sum to ``totalTokenCount``;
  ``cachedContentTokenCount`` is part of the prompt.
- Grounding, citation and safety metadata stay on the response (``provider_data``).
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from steer_common.errors import ContentFilterError
from steer_common.models.events import (
    REASONING_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    USAGE,
    StreamEvent,
)
from steer_common.parts import read_part, refusal
from steer_common.providers.base import (
    Provider,
    StreamAdapter,
    ToolCallBuilder,
    WireFormat,
    api_error,
    error_event,
    load_json_object,
    text_of,
)
from steer_common.spec import CallSpec, Route, ToolSpec
from steer_common.sse import ServerSentEvent
from steer_common.usage import as_int, make_usage

__all__ = [
    "FILE_URIS",
    "FORMAT",
    "PATH",
    "PROVIDER",
    "TAKES",
    "VERTEX_FORMAT",
    "VERTEX_PROVIDER",
    "GeminiAdapter",
    "auth_headers",
    "build_body",
    "vertex_auth_headers",
]

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
}
#: The id made up for a call the provider gave none (never sent back to it).
MINTED_ID_PREFIX = "gemini-call-"


class GeminiAdapter(StreamAdapter):
    """The ``streamGenerateContent`` chunks (see the module docstring)."""

    provider: ClassVar[str] = "gemini"
    terminal_signal: ClassVar[str] = "a candidate's finishReason"

    def __init__(self) -> None:
        super().__init__()
        self._started = False
        self._calls = 0
        self._open: ToolCallBuilder | None = None  # a Vertex call whose arguments stream
        self._partial: dict[str, Any] = {}
        self._finish: str | None = None
        self._data: dict[str, Any] = {}
        self._block = 0  # the reasoning block: a signature closes one

    def handle(self, sse: ServerSentEvent, out: list[StreamEvent]) -> None:
        chunk = load_json_object(sse.data, self.provider, "a chunk")
        error = chunk.get("error")
        if isinstance(error, dict):
            message = str(error.get("message") or "error")
            status = error.get("status")
            out.append(error_event(status, message))
            raise api_error(  # typed by its status name: the code is not this response's
                self.provider,
                message,
                error_type=status if isinstance(status, str) else None,
                body=chunk,
                in_band=True,
            )
        if not self._started:
            self._started = True
            out.append(
                StreamEvent(
                    STREAM_START, id=chunk.get("responseId"), model=chunk.get("modelVersion")
                )
            )
        candidates = chunk.get("candidates")
        feedback = chunk.get("promptFeedback")
        if not candidates and isinstance(feedback, dict) and feedback.get("blockReason"):
            reason = str(feedback["blockReason"])
            message = feedback.get("blockReasonMessage") or f"the prompt was blocked ({reason})"
            out.append(error_event("prompt_blocked", message, reason))
            raise ContentFilterError(
                f"{self.provider}: the prompt was blocked: {reason}: {message}",
                provider=self.provider,
                reason=reason,
                filter_results=feedback,
            )
        for candidate in candidates or []:
            if candidate.get("index", 0) == 0 and not self.done:
                self._candidate(candidate, out)  # the first candidate, as Chat's choice 0
        usage = chunk.get("usageMetadata")
        if isinstance(usage, dict) and "totalTokenCount" in usage:
            # Cumulative; early chunks may hold only the prompt (or, on Vertex, nothing
            # but the traffic type).
            out.append(StreamEvent(USAGE, usage=self.normalize_usage(usage)))
        if self._finish is not None and not self.done:
            self._end(out)

    def _candidate(self, candidate: dict[str, Any], out: list[StreamEvent]) -> None:
        content = candidate.get("content") or {}
        for part in content.get("parts") or []:
            self._part(part, out)
        for key in ("groundingMetadata", "citationMetadata", "safetyRatings", "finishMessage"):
            if key in candidate:
                self._data[key] = candidate[key]
        reason = candidate.get("finishReason")
        if isinstance(reason, str) and reason:
            self._finish = reason

    def _part(self, part: dict[str, Any], out: list[StreamEvent]) -> None:
        signature = part.get("thoughtSignature")
        call = part.get("functionCall")
        if isinstance(call, dict):
            self._function_call(call, signature, out)
            return
        text = part.get("text")
        thought = isinstance(text, str) and bool(part.get("thought"))
        if thought:
            meta = {"signature": signature} if signature else None
            out.append(StreamEvent(REASONING_DELTA, text, index=self._block, metadata=meta))
        elif isinstance(text, str):
            if text:
                out.append(StreamEvent(TEXT_DELTA, text))
        else:
            for key in ("executableCode", "codeExecutionResult"):
                if key in part:
                    self._data.setdefault("code_execution", []).append({key: part[key]})
        if signature:
            if not thought:  # on a text or code part (often an empty text): the thoughts'
                meta = {"signature": signature}
                out.append(StreamEvent(REASONING_DELTA, "", index=self._block, metadata=meta))
            self._block += 1  # a signature closes a block of thoughts

    def _function_call(
        self, call: dict[str, Any], signature: str | None, out: list[StreamEvent]
    ) -> None:
        builder = self._open
        if builder is None:
            index = self._calls
            self._calls += 1
            call_id = call.get("id") or f"{MINTED_ID_PREFIX}{index}"
            builder = ToolCallBuilder(index, call_id, call.get("name"), signature=signature)
            out.append(builder.start_event())
        elif signature and builder.signature is None:
            builder.signature = signature
        for piece in call.get("partialArgs") or []:
            _assign(self._partial, piece)
        if call.get("willContinue"):
            self._open = builder  # Vertex: the arguments follow in later parts
            return
        self._open = None
        arguments: Any = self._partial or call.get("args")
        self._partial = {}
        if not isinstance(arguments, dict):
            arguments = {}  # a call with no parameters may send no args at all
        text = json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
        out.append(builder.delta_event(text))
        out.append(builder.end_event())

    def _end(self, out: list[StreamEvent]) -> None:
        self.done = True
        native = self._finish or ""
        reason = _FINISH.get(native, "stop")
        if reason == "stop" and self._calls:
            reason = "tool_calls"
        metadata: dict[str, Any] = {"native_finish_reason": native}
        if self._data:
            metadata["provider_data"] = self._data
        out.append(StreamEvent(STREAM_END, finish_reason=reason, metadata=metadata))

    def normalize_usage(self, raw: dict[str, Any]) -> dict[str, Any]:
        """Gemini arithmetic: thoughts outside the candidates, tool-use prompt apart."""
        thoughts = raw.get("thoughtsTokenCount")
        cached = raw.get("cachedContentTokenCount")
        return make_usage(
            as_int(raw.get("promptTokenCount")) + as_int(raw.get("toolUsePromptTokenCount")),
            as_int(raw.get("candidatesTokenCount")) + as_int(thoughts),
            cached_tokens=as_int(cached),  # 0 when absent, as for every provider
            reasoning_tokens=as_int(thoughts) if thoughts is not None else None,
            raw=raw,
        )


_PATH_TOKEN = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]")


def _assign(target: dict[str, Any], piece: Mapping[str, Any]) -> None:
    """Apply one Vertex ``partialArgs`` fragment (``$.a[0].b`` = value) to ``target``;
    string values for one path are appended across fragments."""
    path = str(piece.get("jsonPath") or "$")
    keys: list[str | int] = [
        name if name else int(number) for name, number in _PATH_TOKEN.findall(path)
    ]
    if not keys:
        return
    value: Any = None
    for kind in ("stringValue", "numberValue", "boolValue", "nullValue"):
        if kind in piece:
            value = None if kind == "nullValue" else piece[kind]
            break
    node: Any = target
    for key, following in zip(keys, [*keys[1:], None], strict=True):
        if following is None:
            break
        child: Any = [] if isinstance(following, int) else {}
        if isinstance(key, int):
            while len(node) <= key:
                node.append(None)
            if node[key] is None:
                node[key] = child
            node = node[key]
        else:
            node = node.setdefault(key, child)
    last = keys[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
        current = node[last]
        node[last] = (
            current + value if isinstance(current, str) and isinstance(value, str) else value
        )
    else:
        current = node.get(last)
        node[last] = (
            current + value if isinstance(current, str) and isinstance(value, str) else value
        )


# -- request building ----------------------------------------------------------------------

PATH = "/models/{model}:streamGenerateContent?alt=sse"


def auth_headers(api_key: str) -> dict[str, str]:
    """The Gemini API: ``x-goog-api-key``."""
    return {"x-goog-api-key": api_key} if api_key else {}


def vertex_auth_headers(token: str) -> dict[str, str]:
    """Vertex AI: an OAuth access token, ``Authorization: Bearer`` (none yet when the
    token is asked for before each attempt)."""
    return {"authorization": f"Bearer {token}"} if token else {}


def build_body(call: CallSpec, route: Route) -> dict[str, Any]:
    """The ``generateContent`` body: ``contents`` of ``user`` and ``model`` turns, system
    messages as ``systemInstruction``, tools as ``functionDeclarations`` (with their JSON
    schemas as ``parametersJsonSchema``), tool results as ``functionResponse`` parts of a
    user turn, and each call's ``thoughtSignature`` sent back on its part."""
    contents: list[dict[str, Any]] = []
    system: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # call id -> function name, for the results
    for message in call.messages:
        role = message.get("role")
        content = message.get("content")
        if role in ("system", "developer"):
            system.append({"text": text_of(content)})
        elif role == "assistant":
            parts = _text_parts(content)
            for tool_call in message.get("tool_calls") or []:
                function = tool_call.get("function") or {}
                names[str(tool_call.get("id"))] = str(function.get("name"))
                try:
                    args = json.loads(function.get("arguments") or "{}")
                except ValueError:
                    args = {}
                part: dict[str, Any] = {
                    "functionCall": {"name": function.get("name"), "args": args}
                }
                call_id = tool_call.get("id")
                if isinstance(call_id, str) and not call_id.startswith(MINTED_ID_PREFIX):
                    part["functionCall"]["id"] = call_id
                if tool_call.get("thought_signature"):
                    part["thoughtSignature"] = tool_call["thought_signature"]
                parts.append(part)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif role == "tool":
            call_id = str(message.get("tool_call_id"))
            response: dict[str, Any] = {
                "name": names.get(call_id, "tool"),
                "response": {"result": text_of(content)},
            }
            if not call_id.startswith(MINTED_ID_PREFIX):
                response["id"] = call_id
            last = contents[-1] if contents else None
            if (
                last is not None
                and last["role"] == "user"
                and all("functionResponse" in p for p in last["parts"])
            ):
                last["parts"].append({"functionResponse": response})  # parallel results: one turn
            else:
                contents.append({"role": "user", "parts": [{"functionResponse": response}]})
        else:
            contents.append({"role": "user", "parts": _text_parts(content) or [{"text": ""}]})
    body: dict[str, Any] = {"contents": contents}
    if system:
        body["systemInstruction"] = {"parts": system}
    if call.tools:
        declared = [_declaration(t) for t in call.tools if t.raw is None]
        tools: list[dict[str, Any]] = [{"functionDeclarations": declared}] if declared else []
        tools += [dict(t.raw) for t in call.tools if t.raw is not None]
        body["tools"] = tools
    config: dict[str, Any] = {}
    if call.temperature is not None:
        config["temperature"] = call.temperature
    if call.max_tokens is not None:
        config["maxOutputTokens"] = call.max_tokens
    if call.stop:
        config["stopSequences"] = call.stop
    fmt = call.response_format
    if fmt is not None:
        config["responseMimeType"] = "application/json"
        if fmt.kind == "json_schema" and fmt.schema is not None:
            config["responseJsonSchema"] = fmt.schema
    if config:
        body["generationConfig"] = config
    return body


def _text_parts(content: Any) -> list[dict[str, Any]]:
    """A message's content as Gemini parts: text, bytes as ``inlineData`` (an image, audio,
    a PDF given as a data URL), a Files API or ``gs://`` URI as ``fileData``, Gemini's own
    parts as given; anything else is refused (:mod:`steer_common.parts`), never dropped."""
    if isinstance(content, str):
        return [{"text": content}] if content else []
    parts: list[dict[str, Any]] = []
    for block in content or []:
        part = read_part(block)
        if part.kind == "text":
            parts.append({"text": part.text or ""})
        elif part.kind == "native" and part.native == "gemini":
            parts.append(block)
        elif part.kind in ("image", "audio", "file") and part.data and part.media_type:
            parts.append({"inlineData": {"mimeType": part.media_type, "data": part.data}})
        elif part.kind in ("image", "file") and part.url and part.url.startswith(FILE_URIS):
            mime = part.media_type or mimetypes.guess_type(part.url)[0]
            parts.append(
                {"fileData": {"mimeType": mime or "application/octet-stream", "fileUri": part.url}}
            )
        else:
            raise refusal(part, "gemini", TAKES)
    return parts


#: URIs Gemini reads itself: its Files API's and Cloud Storage's (its Interactions API's too).
FILE_URIS = ("gs://", "https://generativelanguage.googleapis.com/")
#: What Gemini takes of a file or image, said when a part is refused.
TAKES = (
    "it takes bytes (a data: URL) or a Files API or gs:// URI; a URL is never fetched to "
    "make bytes of it"
)


def _declaration(tool: ToolSpec) -> dict[str, Any]:
    return {
        "name": tool.name,
        "description": tool.description,
        "parametersJsonSchema": tool.parameters,
    }


FORMAT = WireFormat(
    name="gemini",
    title="Google Gemini API (streamGenerateContent)",
    provider="gemini",
    adapter=GeminiAdapter,
    path=PATH,
    build_body=build_body,
    auth_headers=auth_headers,
    auth="`x-goog-api-key`",
    usage="thoughts are reported outside `candidatesTokenCount`: added in; `toolUsePromptTokenCount` added to the prompt",
    key_headers=("x-goog-api-key", "authorization"),
    stream_flag=False,
    keepalive=b"",  # Gemini sends none
    operation="generate_content",
)


class VertexAdapter(GeminiAdapter):
    """The same chunks, reported as Vertex AI's."""

    provider: ClassVar[str] = "vertex_ai"


VERTEX_FORMAT = WireFormat(
    name="vertex_ai",
    title="Gemini on Vertex AI (the same chunks)",
    provider="vertex_ai",
    adapter=VertexAdapter,
    path=PATH,
    build_body=build_body,
    auth_headers=vertex_auth_headers,
    auth="`Authorization: Bearer` (an OAuth token)",
    usage="as the Gemini API",
    stream_flag=False,
    keepalive=b"",  # Gemini sends none
    operation="generate_content",
)


def _vertex_base_url(environ: Mapping[str, str]) -> str | None:
    project = environ.get("GOOGLE_CLOUD_PROJECT") or environ.get("VERTEX_PROJECT")
    location = environ.get("GOOGLE_CLOUD_LOCATION") or environ.get("VERTEX_LOCATION") or "global"
    if not project:
        return None
    host = (
        "aiplatform.googleapis.com"
        if location == "global"
        else f"{location}-aiplatform.googleapis.com"
    )
    return f"https://{host}/v1/projects/{project}/locations/{location}/publishers/google"


PROVIDER = Provider(
    name="gemini",
    key_env=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
    base_url_env="GEMINI_BASE_URL",
    default_base_url="https://generativelanguage.googleapis.com/v1beta",
    model_prefixes=("gemini-",),
    route_prefixes=("google",),
    api_prefixes=(("gemini_interactions", "interactions"),),
    price_id="google",
    chars_per_token=3.05,  # 8 Gemini and Vertex AI replies, 1,296 characters / 425 tokens
    telemetry_name="gcp.gemini",
)

VERTEX_PROVIDER = Provider(
    name="vertex_ai",
    key_env=("VERTEX_AI_ACCESS_TOKEN",),
    base_url_env="VERTEX_AI_BASE_URL",
    default_base_url=_vertex_base_url,
    base_url_help="set GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION, default global), or "
    "pass base_urls={'vertex_ai': 'https://<host>/v1/projects/<p>/locations/<l>/publishers/google'}",
    credential="google",
    price_id="google",
    chars_per_token=3.05,  # 8 Gemini and Vertex AI replies, 1,296 characters / 425 tokens
    telemetry_name="gcp.vertex_ai",
)
