"""The normalized events every provider's stream becomes.

One plain slotted class, :class:`StreamEvent`, for every kind of event: ``type`` says
which, and the fields that kind uses are set (the others stay ``None``). A plain class,
not a pydantic model, because one is built per delta on the hot path.
docs/streaming-events.md lists every type, its fields and which provider emits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from steer_common.models.response import ToolCall

__all__ = [
    "ERROR",
    "EVENT_TYPES",
    "JSON_PARTIAL",
    "PARTIAL_OUTPUT",
    "PING",
    "REASONING_DELTA",
    "REFUSAL_DELTA",
    "STREAM_END",
    "STREAM_START",
    "TEXT_DELTA",
    "TOOL_CALL_DELTA",
    "TOOL_CALL_END",
    "TOOL_CALL_START",
    "USAGE",
    "EventType",
    "StreamEvent",
    "jsonable",
]

EventType = Literal[
    "stream_start",
    "text_delta",
    "reasoning_delta",
    "refusal_delta",
    "tool_call_start",
    "tool_call_delta",
    "tool_call_end",
    "usage",
    "ping",
    "error",
    "stream_end",
    "json_partial",
    "partial_output",
]

STREAM_START: Final = "stream_start"
TEXT_DELTA: Final = "text_delta"
REASONING_DELTA: Final = "reasoning_delta"
REFUSAL_DELTA: Final = "refusal_delta"
TOOL_CALL_START: Final = "tool_call_start"
TOOL_CALL_DELTA: Final = "tool_call_delta"
TOOL_CALL_END: Final = "tool_call_end"
USAGE: Final = "usage"
PING: Final = "ping"
ERROR: Final = "error"
STREAM_END: Final = "stream_end"
JSON_PARTIAL: Final = "json_partial"
PARTIAL_OUTPUT: Final = "partial_output"

#: Every event type, in the order a stream can produce them.
EVENT_TYPES: Final = (
    STREAM_START,
    TEXT_DELTA,
    REASONING_DELTA,
    REFUSAL_DELTA,
    TOOL_CALL_START,
    TOOL_CALL_DELTA,
    TOOL_CALL_END,
    USAGE,
    PING,
    ERROR,
    STREAM_END,
    JSON_PARTIAL,
    PARTIAL_OUTPUT,
)


@dataclass(slots=True)
class StreamEvent:
    """One normalized event.

    Attributes:
        type: one of :data:`EVENT_TYPES`.
        delta: the new text of a ``text_delta``, ``reasoning_delta`` or ``refusal_delta``;
            the new argument fragment of a ``tool_call_delta``.
        index: the key of a tool call, the same on its start, deltas and end: the
            ``tool_calls[].index`` of Chat Completions (it may start at 1), the
            ``output_index`` of Responses, the content-block index of Anthropic. Anthropic
            text and thinking deltas carry their block index too.
        id: the tool call id a tool result must quote (``call_...``, ``toolu_...``) on tool
            events; the response or message id on ``stream_start``.
        name: the tool's name on ``tool_call_start`` and ``tool_call_end``.
        model: the model that answered (``stream_start``), as the provider names it.
        usage: the normalized usage on ``usage`` events; each one replaces the previous.
        finish_reason: on ``stream_end``: ``stop``, ``length``, ``tool_calls``,
            ``content_filter`` or ``pause``; the provider's own word is in
            ``metadata["native_finish_reason"]``.
        error: on ``error``: ``type``, ``message`` and, when sent, ``code``.
        tool_call: on ``tool_call_end``: the whole call with its parsed arguments.
        metadata: provider-specific extras: ``item_id`` (Responses tool events),
            ``signature`` / ``block`` (reasoning), ``native_finish_reason``; with the JSON
            handler on, ``partial_arguments`` on ``tool_call_delta`` and ``value`` (the
            reply's JSON so far) on ``json_partial``; with a pydantic model as
            ``response_format``, ``value`` (an instance of its partial type, or of the
            model itself once ``complete`` is true) and ``complete`` on ``partial_output``,
            and ``partial_model`` on the deltas of a tool given as a model.
    """

    type: str
    delta: str | None = None
    index: int | None = None
    id: str | None = None
    name: str | None = None
    model: str | None = None
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    error: dict[str, Any] | None = None
    tool_call: ToolCall | None = None
    metadata: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-safe dict: ``type`` and the fields that are set, the tool call
        and any pydantic value in ``metadata`` dumped to plain JSON values
        (``json.dumps(event.to_dict())`` works; ``json.dumps(event)`` does not)."""
        out: dict[str, Any] = {"type": self.type}
        for name in _FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = _plain(value)
        return out


#: ``object.__new__``: the adapters' hot paths build a ``StreamEvent`` with it and set every
#: field inline, which costs about 700 instructions less than calling the class (whose
#: ``__init__`` runs in a frame of its own). Each such place sets all the fields of
#: ``__slots__``; ``tests/common/test_events.py`` checks that they stay these eleven.
new_event: Final = object.__new__

_FIELDS: Final = (
    "delta",
    "index",
    "id",
    "name",
    "model",
    "usage",
    "finish_reason",
    "error",
    "tool_call",
    "metadata",
)


def jsonable(value: Any) -> Any:
    """A value ``json.dumps`` cannot write, as one it can (the ``default=`` of an encoder):
    a pydantic model dumped in JSON mode, a set or tuple as a list, bytes as text, anything
    else as its ``str``."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, StreamEvent):
        return value.to_dict()
    return str(value)


def _plain(value: Any) -> Any:
    """``value`` with every container rebuilt of JSON values (dicts, lists, str, numbers)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return _plain(jsonable(value))
