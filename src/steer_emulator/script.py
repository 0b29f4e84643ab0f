"""What the emulator should answer: :class:`ScriptedReply`, a plain description of one reply.

A script says what a reply contains (text, reasoning, tool calls, finish reason, usage,
model), how the text is cut into deltas, and which fault to inject (an HTTP error status a
number of times, an in-band error, a truncated body, a pause with or without keep-alives).
The renderers (:mod:`.render_openai_chat`, :mod:`.render_openai_responses`,
:mod:`.render_anthropic`) turn a script into the exact bytes each provider sends; the
server (:mod:`.server`) sends them. :func:`steer_emulator.reply_for_request`
derives a script from a request body.

Usage numbers in a script are *normalized* (the meaning of
:func:`steer_common.usage.make_usage`): ``prompt_tokens`` includes ``cached_tokens`` and
``completion_tokens`` includes ``reasoning_tokens``. Each renderer writes them in its
provider's arithmetic (xAI leaves reasoning out of ``completion_tokens``, Anthropic leaves
cache reads out of ``input_tokens``), so a correct parser gives the script's numbers back.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = ["FINISH_REASONS", "ScriptedCall", "ScriptedReply", "Usage", "split_text"]

#: The normalized finish reasons a script may ask for.
FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter"})


class ScriptedCall(NamedTuple):
    """One tool call in a script: ``(id or None, name, arguments)``.

    A ``None`` id is replaced by a deterministic one in the provider's shape
    (``call_...``, ``toolu_...``).
    """

    id: str | None
    name: str
    arguments: dict[str, Any]


class Usage(NamedTuple):
    """Resolved normalized usage of a script (see the module docstring)."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int


def split_text(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (the last may be shorter)."""
    return [text[i : i + size] for i in range(0, len(text), size)]


def _estimate(chars: int) -> int:
    # About four characters per token, rounded up: deterministic, never zero for text.
    return (chars + 3) // 4


@dataclass
class ScriptedReply:
    """One reply the emulator streams, with the faults it injects.

    Attributes:
        text: the reply text (a JSON document for JSON mode).
        reasoning: reasoning text, streamed where the format carries it (xAI
            ``reasoning_content``, an Anthropic thinking block with a signature, a Responses
            reasoning summary, OpenRouter-style ``reasoning``); OpenAI Chat never streams it.
        tool_calls: the calls the model makes, in order (dicts ``{"id", "name",
            "arguments"}`` and ``[name, arguments]`` pairs are accepted and converted).
        finish_reason: ``stop``, ``length``, ``tool_calls`` or ``content_filter``;
            ``None`` means ``tool_calls`` when there are calls, else ``stop``.
        prompt_tokens: every input token, ``cached_tokens`` included (``None``: 1).
        completion_tokens: every output token, reasoning included (``None``: about one
            per four characters of text and arguments, plus the reasoning tokens).
        cached_tokens: the part of ``prompt_tokens`` read from a cache.
        cache_write_tokens: the part of ``prompt_tokens`` written to a cache (Anthropic's
            ``cache_creation_input_tokens``; the other formats do not report writes).
        reasoning_tokens: the part of ``completion_tokens`` spent reasoning (``None``:
            about one per four characters of ``reasoning``).
        model: the model the reply names (``None``: the requested one, else a default).
        include_usage: Chat Completions only: send the usage chunk (``None``: as the
            request's ``stream_options.include_usage`` says; rendered alone, yes).
        chunk_chars: characters per text, reasoning and argument delta.
        deltas: the exact text deltas (their concatenation becomes ``text``).
        status: answer with this HTTP error status (the provider's error body).
        fail_times: a fault (``status``, an in-band error, a truncation) is served this
            many times for the same conversation (or queued script); then the reply
            streams clean, so a client's retry succeeds.
        retry_after: the ``Retry-After`` header (seconds) sent with ``status``.
        error_message, error_type: the message and provider error type of an injected
            error (defaults: the provider's own words for a server error or overload).
        error_before_content: send an in-band error once the stream has started, before
            any content (Anthropic ``event: error`` with ``overloaded_error``; Chat an
            ``{"error": ...}`` chunk; Responses ``error`` then ``response.failed``).
        error_after_chars: the same, after exactly this many characters of text.
        truncate_after_events: end the body after at most this many SSE events, and
            always before the terminal one (the server then drops the connection).
        pause_after_events: the server pauses after sending this many events ...
        pause_seconds: ... for this long, ...
        keepalive_every: ... sending a keep-alive (an SSE comment, Anthropic a ``ping``)
            this often in seconds meanwhile (``None``: silence).
        event_delay: seconds the server waits between events.
        cuts: a Responses request in background mode (``background: true``): the
            connection drops after this many events of the whole stream, each cut once, on
            whichever connection reaches it (the request, or a stream picked up again with
            ``starting_after``); the response itself is kept whole
            (:mod:`steer_emulator.background`).
        cut_mid_event: each of those cuts sends half of the next event first.
        gzip: the server compresses the body when the client accepts gzip.
        created: the Unix time the reply is stamped with.
        seed: ids (``chatcmpl-...``, ``msg_...``) are derived from it (``None``: from the
            reply's content), so a script always renders to the same bytes.

    Raises:
        ValueError: inconsistent fields (``deltas`` that do not join to ``text``, an
            unknown finish reason, fewer completion tokens than reasoning tokens).
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: list[ScriptedCall] = field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int | None = None
    model: str | None = None
    include_usage: bool | None = None
    chunk_chars: int = 5
    deltas: list[str] | None = None
    status: int | None = None
    fail_times: int = 1
    retry_after: float | None = None
    error_message: str | None = None
    error_type: str | None = None
    error_before_content: bool = False
    error_after_chars: int | None = None
    truncate_after_events: int | None = None
    pause_after_events: int | None = None
    pause_seconds: float = 0.0
    keepalive_every: float | None = None
    event_delay: float = 0.0
    cuts: tuple[int, ...] = ()
    cut_mid_event: bool = False
    gzip: bool = False
    created: int = 1_750_000_000
    seed: str | None = None

    def __post_init__(self) -> None:
        self.tool_calls = [_call(c) for c in self.tool_calls]
        self.cuts = tuple(int(c) for c in self.cuts)
        if self.deltas is not None:
            self.deltas = [str(d) for d in self.deltas]
            joined = "".join(self.deltas)
            if not self.text:
                self.text = joined
            elif joined != self.text:
                raise ValueError("ScriptedReply: deltas must join to text")
        if self.finish_reason is not None and self.finish_reason not in FINISH_REASONS:
            raise ValueError(
                f"ScriptedReply: finish_reason {self.finish_reason!r} is not one of "
                f"{sorted(FINISH_REASONS)}"
            )
        if self.chunk_chars < 1:
            raise ValueError("ScriptedReply: chunk_chars must be at least 1")
        if self.completion_tokens is not None and self.completion_tokens < (
            self.reasoning_tokens or 0
        ):
            raise ValueError(
                "ScriptedReply: completion_tokens includes reasoning_tokens, so it cannot be smaller"
            )
        if (
            self.prompt_tokens is not None
            and self.prompt_tokens < self.cached_tokens + self.cache_write_tokens
        ):
            raise ValueError(
                "ScriptedReply: prompt_tokens includes cached_tokens and cache_write_tokens, "
                "so it cannot be smaller than their sum"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScriptedReply:
        """Build a script from a JSON object (a directive, an ``enqueue`` dict).

        Raises:
            ValueError: a key that is not a field, or a value of the wrong kind.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown ScriptedReply field(s) {unknown}; known: {sorted(names)}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(f"ScriptedReply: {exc}") from None

    def replace(self, **changes: Any) -> ScriptedReply:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def finish(self) -> str:
        """The resolved normalized finish reason."""
        if self.finish_reason is not None:
            return self.finish_reason
        return "tool_calls" if self.tool_calls else "stop"

    @property
    def has_fault(self) -> bool:
        """The script injects a failure: an HTTP status, an in-band error or a truncation."""
        return (
            self.status is not None or self.in_band_error or self.truncate_after_events is not None
        )

    def without_faults(self) -> ScriptedReply:
        """The same reply, served clean (what a retry gets once ``fail_times`` are used)."""
        if not self.has_fault:
            return self
        return self.replace(
            status=None,
            error_before_content=False,
            error_after_chars=None,
            truncate_after_events=None,
        )

    @property
    def in_band_error(self) -> bool:
        """The stream carries an injected error event."""
        return self.error_before_content or self.error_after_chars is not None

    def text_deltas(self) -> list[str]:
        """The text as it streams: ``deltas``, else ``chunk_chars`` pieces."""
        if self.deltas is not None:
            return [d for d in self.deltas if d]
        return split_text(self.text, self.chunk_chars)

    def streamed_text_deltas(self) -> list[str]:
        """The text deltas actually sent: cut at ``error_after_chars``, none before content."""
        if self.error_before_content:
            return []
        limit = self.error_after_chars
        if limit is None:
            return self.text_deltas()
        out: list[str] = []
        sent = 0
        for piece in self.text_deltas():
            if sent + len(piece) >= limit:
                if limit > sent:
                    out.append(piece[: limit - sent])
                break
            out.append(piece)
            sent += len(piece)
        return out

    def reasoning_deltas(self) -> list[str]:
        """The reasoning text in ``chunk_chars`` pieces."""
        return split_text(self.reasoning, self.chunk_chars)

    def arguments_json(self, call: ScriptedCall, *, compact: bool) -> str:
        """A call's arguments as the model writes them (OpenAI and Anthropic put spaces)."""
        if compact:
            return json.dumps(call.arguments, ensure_ascii=False, separators=(",", ":"))
        return json.dumps(call.arguments, ensure_ascii=False)

    def usage(self) -> Usage:
        """The normalized usage, defaults resolved."""
        reasoning = self.reasoning_tokens
        if reasoning is None:
            reasoning = _estimate(len(self.reasoning))
        completion = self.completion_tokens
        if completion is None:
            chars = len(self.text) + sum(
                len(self.arguments_json(c, compact=True)) for c in self.tool_calls
            )
            completion = max(_estimate(chars), 1) + reasoning
        cache = self.cached_tokens + self.cache_write_tokens
        prompt = self.prompt_tokens if self.prompt_tokens is not None else max(1, cache)
        return Usage(prompt, completion, self.cached_tokens, reasoning)

    @property
    def id_seed(self) -> str:
        """The seed every id of this reply is derived from."""
        if self.seed is not None:
            return self.seed
        calls = [(c.id, c.name, c.arguments) for c in self.tool_calls]
        return json.dumps(
            [self.text, self.reasoning, calls, self.model, self.created],
            sort_keys=True,
            default=str,
        )


def _call(value: Any) -> ScriptedCall:
    if isinstance(value, ScriptedCall):
        return value
    if isinstance(value, Mapping):
        name = value.get("name")
        arguments = value.get("arguments", {})
        call_id = value.get("id")
    elif isinstance(value, (list, tuple)) and len(value) in (2, 3):
        call_id, name, arguments = (None, *value) if len(value) == 2 else value
    else:
        raise ValueError(f"ScriptedReply: a tool call must be (id, name, arguments), not {value!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"ScriptedReply: a tool call needs a name: {value!r}")
    if not isinstance(arguments, dict):
        raise ValueError(f"ScriptedReply: tool call arguments must be an object: {value!r}")
    if call_id is not None and not isinstance(call_id, str):
        raise ValueError(f"ScriptedReply: a tool call id must be a string: {value!r}")
    return ScriptedCall(call_id, name, arguments)
