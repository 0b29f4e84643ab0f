"""A batch's items and results: what goes in (a prompt, a mapping, a :class:`BatchItem`)
and what comes out of each (a :class:`BatchResult`, and its line of ``steer batch``'s
output)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from steer_common.calls import StreamCall
from steer_common.errors import ConfigurationError, SteerError
from steer_common.models.response import StreamResponse
from steer_common.routing import route_model
from steer_common.tokens import estimate_chars

__all__ = ["BatchItem", "BatchResult", "CostLimitError", "InvalidItemError"]

#: The item keys that are not call arguments.
_ITEM_KEYS = frozenset({"id", "prompt", "messages", "model"})


class CostLimitError(SteerError):
    """An item was not started: the batch's ``max_cost_usd`` had been reached."""


class InvalidItemError(ConfigurationError):
    """An item that could not be read (a line of a JSONL file that is not JSON, say).

    Pass one in a batch's items in the place of the item: it comes back as that item's
    result, with ``item_id`` as its id, and the batch goes on.
    """

    def __init__(self, message: str, *, item_id: Any) -> None:
        super().__init__(message)
        self.item_id = item_id


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One request of a batch: an id, a prompt or messages, and call arguments.

    Build it with :meth:`of` from what a user passes: a prompt string, a mapping such as
    ``{"id": "q1", "prompt": "...", "model": "gpt-4o-mini", "temperature": 0}`` (a JSONL
    line of ``steer batch``), or a :class:`BatchItem`.
    """

    id: Any
    input: Any  # a prompt (str) or messages (a list of mappings)
    model: str | None = None
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, value: Any, index: int) -> BatchItem:
        """The item for ``value``, the ``index``-th of the batch (its id when it has none).

        Raises:
            ConfigurationError: not a prompt, a mapping or an item; no prompt or messages,
                or both; an id that is not a string or an integer.
        """
        if isinstance(value, BatchItem):
            return value
        if isinstance(value, str):
            return cls(index, value)
        if not isinstance(value, Mapping):
            raise ConfigurationError(
                f"batch item {index}: expected a prompt or a mapping with 'prompt' or "
                f"'messages', got {type(value).__name__}"
            )
        item_id = value.get("id", index)
        if isinstance(item_id, bool) or not isinstance(item_id, (str, int)):
            raise ConfigurationError(
                f"batch item {index}: 'id' must be a string or an integer, "
                f"got {type(item_id).__name__}"
            )
        given = [k for k in ("prompt", "messages") if value.get(k) is not None]
        if len(given) != 1:
            raise ConfigurationError(
                f"batch item {item_id!r}: give exactly one of 'prompt' or 'messages'"
            )
        model = value.get("model")
        if model is not None and not isinstance(model, str):
            raise ConfigurationError(f"batch item {item_id!r}: 'model' must be a string")
        arguments = {k: v for k, v in value.items() if k not in _ITEM_KEYS}
        return cls(item_id, value[given[0]], model, arguments)

    def call(self, defaults: Mapping[str, Any]) -> StreamCall:
        """The call of this item: its own arguments over the batch's ``defaults``.

        Raises:
            ConfigurationError: no model (neither the item's nor the batch's).
        """
        model = self.model or defaults.get("model")
        merged = {k: v for k, v in {**defaults, **self.arguments}.items() if k != "model"}
        if not model:
            raise ConfigurationError(
                f"batch item {self.id!r}: no model (give the batch a model=, or the item one)"
            )
        # StreamCall.of takes its own arguments and keeps the rest as provider extras.
        return StreamCall.of(self.input, model, **merged)

    def estimated_tokens(self, model: str | None, output: float) -> int:
        """Tokens this item will spend: its prompt's, estimated by characters, plus its
        ``max_tokens`` or ``output`` (the mean output so far)."""
        text = self.input if isinstance(self.input, str) else _chars(self.input)
        provider = None
        if model:
            try:
                provider = route_model(model)[0]
            except ConfigurationError:
                provider = None
        limit = self.arguments.get("max_tokens")
        out = limit if isinstance(limit, int) and not isinstance(limit, bool) else output
        return estimate_chars(len(text), provider) + math.ceil(out)


def _chars(messages: Any) -> str:
    """The text of a list of messages (for the token estimate)."""
    parts: list[str] = []
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, Mapping) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return "".join(parts)


@dataclass(slots=True)
class BatchResult:
    """How one item of a batch ended.

    Attributes:
        id: the item's id.
        index: its position in the input (from 0).
        response: the reply (``None`` when the item failed or was not started).
        error: the typed error (``None`` on success); after the first byte it carries
            ``partial_response``; :class:`CostLimitError` for an item not started.
        attempts: HTTP attempts made, over every run of the item.
        started: seconds from the batch's start to the item's start (``None``: not started).
        duration: seconds from the item's start to its end (every run, with the waits).
        requeues: times it went back to the queue after a 429.
        json_mode: the item asked for JSON (``response_format``): its record has ``json``.
    """

    id: Any
    index: int
    response: StreamResponse | None = None
    error: BaseException | None = None
    attempts: int = 0
    started: float | None = None
    duration: float = 0.0
    requeues: int = 0
    json_mode: bool = False

    @property
    def ok(self) -> bool:
        """The item succeeded."""
        return self.error is None

    @property
    def skipped(self) -> bool:
        """The item was not started (``max_cost_usd`` was reached)."""
        return isinstance(self.error, CostLimitError)

    @property
    def usage_response(self) -> StreamResponse | None:
        """The reply, or what arrived of it before the failure."""
        if self.response is not None:
            return self.response
        return getattr(self.error, "partial_response", None)

    def record(self) -> dict[str, Any]:
        """The item as one JSON object (a line of ``steer batch``'s output): id, text or
        parsed JSON, usage, cost, finish reason, error type and message, attempts."""
        response = self.usage_response
        record: dict[str, Any] = {"id": self.id}
        if self.response is not None:
            record["text"] = self.response.get_text()
            if self.json_mode:
                record["json"] = _json_of(self.response)
        usage = None if response is None else response.usage
        record["usage"] = {k: v for k, v in usage.items() if k != "raw"} if usage else None
        record["cost_usd"] = None if response is None else response.cost_usd
        record["finish_reason"] = None if response is None else response.finish_reason
        record["model"] = None if response is None else response.model
        error = self.error
        record["error"] = (
            None if error is None else {"type": type(error).__name__, "message": str(error)}
        )
        record["attempts"] = self.attempts
        record["duration_s"] = round(self.duration, 6)
        return record


def _json_of(response: StreamResponse) -> Any:
    """The reply's JSON for a record (a pydantic instance as a plain object; ``None`` when
    the reply is not the JSON asked for)."""
    try:
        value = response.get_json()
    except SteerError:
        return None
    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value
