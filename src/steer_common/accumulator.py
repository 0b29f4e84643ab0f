"""Fold normalized events into a :class:`~steer_common.models.response.StreamResponse`.

``add(event)`` is on the hot path: a text delta costs one list append. Joining happens in
:meth:`StreamAccumulator.result`, once (the joined text replaces the parts, so calling
``result`` again while the stream goes on stays linear overall).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from steer_common.cost import cost_of
from steer_common.metadata import response_metadata
from steer_common.models.events import (
    ERROR,
    REASONING_DELTA,
    REFUSAL_DELTA,
    STREAM_END,
    STREAM_START,
    TEXT_DELTA,
    TOOL_CALL_DELTA,
    TOOL_CALL_END,
    TOOL_CALL_START,
    USAGE,
    StreamEvent,
)
from steer_common.models.response import StreamMetrics, StreamResponse, ToolCall
from steer_common.providers.base import parse_arguments

if TYPE_CHECKING:
    from steer_common.http import ResponseHead

__all__ = ["StreamAccumulator"]


class StreamAccumulator:
    """Builds the response of one stream from its events.

    Args:
        keep_text: keep the text deltas (``False``: low-memory mode for consumers that
            already have the text, as ``stream()`` does; ``text_chars`` still counts it).
        provider: the provider to report on the response.

    Example::

        acc = StreamAccumulator()
        for event in parser.feed(data):
            acc.add(event)
        response = acc.result()
    """

    __slots__ = (
        "_block_meta",
        "_calls",
        "_data",
        "_done_calls",
        "_error",
        "_finish",
        "_head",
        "_head_in_events",
        "_head_of",
        "_id",
        "_keep_text",
        "_model",
        "_native_finish",
        "_provider",
        "_reasoning",
        "_refusal",
        "_serving",
        "_text",
        "_usage",
        "complete",
        "deltas",
        "events",
        "other_chars",
        "text_chars",
    )

    def __init__(self, *, keep_text: bool = True, provider: str | None = None) -> None:
        self._keep_text = keep_text
        self._provider = provider
        self._text: list[str] = []
        # Reasoning text by block index (None for providers without blocks), in order.
        self._reasoning: dict[int | None, list[str]] = {}
        self._block_meta: dict[int | None, dict[str, Any]] = {}
        self._refusal: list[str] = []
        self._calls: dict[int | None, list[Any]] = {}  # open calls: [id, name, parts, item_id]
        self._done_calls: list[ToolCall] = []
        self._usage: dict[str, Any] | None = None
        self._finish: str | None = None
        self._native_finish: str | None = None
        self._model: str | None = None
        self._id: str | None = None
        self._error: dict[str, Any] | None = None
        self._data: dict[str, Any] = {}  # provider_data from stream_start and stream_end
        self._serving: dict[str, Any] = {}  # service_tier, system_fingerprint
        # The response head (set_head()), and what it said, made when first needed.
        self._head_of: ResponseHead | None = None
        self._head: dict[str, Any] | None = None
        self._head_in_events = True
        #: The terminal event arrived.
        self.complete = False
        #: Events and deltas seen, and characters of text (kept or not).
        self.events = 0
        self.deltas = 0
        self.text_chars = 0
        #: Characters of reasoning, tool-call arguments and refusals.
        self.other_chars = 0

    def add(self, event: StreamEvent) -> None:
        """Fold one event in."""
        self.add_all((event,))

    def add_all(self, events: Sequence[StreamEvent]) -> None:
        """Fold events in, in order (the parser calls this once per read).

        One call per read, not one per event: a call cost about a third of what folding a
        text delta does.
        """
        self.events += len(events)
        # The commonest event, a text delta, is counted in locals, added once at the end.
        texts = chars = 0
        keep = self._text.append if self._keep_text else None
        try:
            for event in events:
                kind = event.type
                if kind == TEXT_DELTA:
                    delta = event.delta or ""
                    texts += 1
                    chars += len(delta)
                    if keep is not None:
                        keep(delta)
                elif kind == REASONING_DELTA:
                    self.deltas += 1
                    index = event.index
                    if event.delta:
                        self.other_chars += len(event.delta)
                        parts = self._reasoning.get(index)
                        if parts is None:
                            parts = self._reasoning[index] = []
                        parts.append(event.delta)
                    if event.metadata:
                        self._reasoning_meta(index, event.metadata)
                elif kind == TOOL_CALL_DELTA:
                    self.deltas += 1
                    self.other_chars += len(event.delta or "")
                    call = self._calls.get(event.index)
                    if call is not None:
                        call[2].append(event.delta or "")
                elif kind == TOOL_CALL_START:
                    item_id = (event.metadata or {}).get("item_id")
                    self._calls[event.index] = [event.id, event.name, [], item_id]
                elif kind == TOOL_CALL_END:
                    self._calls.pop(event.index, None)
                    if event.tool_call is not None:
                        self._done_calls.append(event.tool_call)
                elif kind == USAGE:
                    self._usage = event.usage
                elif kind == REFUSAL_DELTA:
                    self.deltas += 1
                    self.other_chars += len(event.delta or "")
                    self._refusal.append(event.delta or "")
                elif kind == STREAM_START:
                    self._id = event.id
                    self._model = event.model
                    metadata = event.metadata
                    if metadata:
                        if "provider_data" in metadata:
                            self._data.update(metadata["provider_data"])
                        for key in ("service_tier", "system_fingerprint"):
                            if metadata.get(key):
                                self._serving[key] = metadata[key]
                    if self._head_in_events and self._head_of is not None:
                        event.metadata = {**(metadata or {}), **(self.head or {})}
                elif kind == STREAM_END:
                    self.complete = True
                    self._finish = event.finish_reason
                    metadata = event.metadata or {}
                    self._native_finish = metadata.get("native_finish_reason")
                    if "provider_data" in metadata:
                        self._data.update(metadata["provider_data"])
                elif kind == ERROR:
                    self._error = event.error
                    if event.finish_reason and self._finish is None:
                        self._finish = event.finish_reason
        finally:
            self.deltas += texts
            self.text_chars += chars

    def _reasoning_meta(self, index: int | None, metadata: dict[str, Any]) -> None:
        block = metadata.get("block")
        if block is not None:
            self._block_meta[index] = {"verbatim": block}
            self._reasoning.setdefault(index, [])
        signature = metadata.get("signature")
        if signature is not None:
            self._block_meta.setdefault(index, {})["signature"] = signature
            self._reasoning.setdefault(index, [])

    def set_head(self, head: ResponseHead, *, in_events: bool = True) -> None:
        """The response head, when it arrives: what it says (:attr:`head`) goes into the
        response, and into ``stream_start``'s metadata unless ``in_events`` is false (no one
        is handed the events: it is then made only for the response)."""
        self._head_of = head
        self._head = None
        self._head_in_events = in_events

    @property
    def head(self) -> dict[str, Any] | None:
        """What the response head said (``steer_common.metadata.response_metadata``), or
        ``None`` before it arrived."""
        if self._head is None and self._head_of is not None:
            head = self._head_of
            self._head = response_metadata(head.headers, head.request_id)
        return self._head

    @property
    def usage(self) -> dict[str, Any] | None:
        """The usage the stream reported, normalized (``None``: none so far)."""
        return self._usage

    @property
    def tool_calls_seen(self) -> bool:
        """A tool call has started."""
        return bool(self._calls or self._done_calls)

    @property
    def text(self) -> str:
        """The text so far."""
        if len(self._text) > 1:
            self._text[:] = ["".join(self._text)]
        return self._text[0] if self._text else ""

    def result(self, *, text: bool = True, **fields: Any) -> StreamResponse:
        """The response so far (``complete`` is ``True`` once the terminal event came);
        ``text=False``: its ``text`` left empty (:attr:`text` gives it when wanted).
        ``fields``: more of its fields, or others than the stream's (a session's metrics,
        attempts and request id), given to its constructor (a pydantic model's setattr
        costs more than the field)."""
        reasoning_parts: list[str] = []
        blocks: list[dict[str, Any]] = []
        for index, parts in self._reasoning.items():
            if len(parts) > 1:
                parts[:] = ["".join(parts)]
            thinking = parts[0] if parts else ""
            reasoning_parts.append(thinking)
            meta = self._block_meta.get(index)
            if meta is None:
                continue
            if "verbatim" in meta:
                blocks.append(dict(meta["verbatim"]))
            else:
                blocks.append(
                    {"type": "thinking", "thinking": thinking, "signature": meta.get("signature")}
                )
        calls = list(self._done_calls)
        for index, (call_id, name, parts, item_id) in self._calls.items():
            raw = "".join(parts)
            arguments, error = parse_arguments(raw)
            calls.append(
                ToolCall(
                    id=call_id,
                    name=name,
                    arguments=arguments,
                    arguments_raw=raw,
                    index=index,
                    item_id=item_id,
                    parse_error=error,
                    complete=False,
                )
            )
        reasoning = "".join(reasoning_parts)
        cost_usd, cost_breakdown = (
            cost_of(self._usage, self._model, self._provider) if self._usage else (None, None)
        )
        head = self.head
        if head is not None:
            fields = {"request_id": head["request_id"], "rate_limit": head["rate_limit"], **fields}
        if "metrics" not in fields:  # the parser's own counts (a session gives its metrics)
            fields["metrics"] = StreamMetrics(events=self.events, deltas=self.deltas)
        response = StreamResponse(
            text=self.text if text else "",
            reasoning=reasoning or None,
            reasoning_blocks=blocks,
            refusal="".join(self._refusal) or None,
            tool_calls=calls,
            usage=self._usage or {},
            cost_usd=cost_usd,
            cost_breakdown=cost_breakdown,
            finish_reason=self._finish,
            native_finish_reason=self._native_finish,
            model=self._model,
            provider=self._provider,
            response_id=self._id,
            complete=self.complete,
            error=self._error,
            provider_data=dict(self._data),
            **self._serving,
            **fields,
        )
        if head is not None:
            # Set, not validated: a validated copy would be a plain dict, and the headers'
            # names are looked up in any case.
            response.headers = head["headers"]
        return response
