"""The user's callbacks (``on_start``, ``on_delta``, ``on_usage``, ``on_complete``,
``on_error``), called as flow steps: a plain function is called, a coroutine function's
result is awaited by the front end (an ``Await`` command), and whatever one raises comes
back as a :class:`~steer_common.errors.CallbackError` (its cause, the original), never
escaping into the flow.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from steer_common.commands import Await, Command
from steer_common.errors import CallbackError, SteerError
from steer_common.models.events import TEXT_DELTA, StreamEvent

if TYPE_CHECKING:
    from steer_common.options import StreamingOptions

__all__ = ["callback", "on_deltas"]


def callback(
    options: StreamingOptions, provider: str, name: str, *args: Any
) -> Generator[Command, Any, SteerError | None]:
    """Call the callback ``name`` of ``options`` with ``args``: ``None``, or the
    :class:`CallbackError` of what it raised."""
    function = getattr(options, name)
    if function is None:
        return None
    try:
        result = function(*args)
        if hasattr(result, "__await__"):
            yield Await(result, name)
    except Exception as exc:
        error = CallbackError(
            f"the {name} callback raised {type(exc).__name__}: {exc}",
            callback=name,
            provider=provider,
        )
        error.__cause__ = exc
        return error
    return None


def on_deltas(
    options: StreamingOptions, provider: str, events: Sequence[StreamEvent]
) -> Generator[Command, Any, SteerError | None]:
    """``on_delta`` for each text delta of ``events``, in order, before the consumer sees
    them."""
    for event in events:
        if event.type == TEXT_DELTA:
            error = yield from callback(options, provider, "on_delta", event.delta)
            if error is not None:
                return error
    return None
