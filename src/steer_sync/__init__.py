"""steer_sync: the blocking front end of steer-llm-sdk (requests/urllib3, thread-safe).

from steer_sync import SteerLLMClient

client = SteerLLMClient()
for chunk in client.stream("Tell me a story", model="gpt-4o-mini"):
    print(chunk, end="", flush=True)

The names below are loaded when first used, so that ``import steer_sync`` and
``steer_sync.emulator`` (the emulator's server, re-exported from ``steer_emulator``: it
needs no HTTP client) do not import requests and urllib3.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from steer_common._version import __version__

if TYPE_CHECKING:
    from steer_common.errors import SteerError
    from steer_common.models.events import StreamEvent
    from steer_common.models.response import StreamResponse
    from steer_common.options import (
        HIGH_THROUGHPUT_OPTIONS,
        JSON_MODE_OPTIONS,
        LOW_LATENCY_OPTIONS,
        StreamingOptions,
    )
    from steer_sync.client import SteerLLMClient

__all__ = [
    "HIGH_THROUGHPUT_OPTIONS",
    "JSON_MODE_OPTIONS",
    "LOW_LATENCY_OPTIONS",
    "SteerError",
    "SteerLLMClient",
    "StreamEvent",
    "StreamResponse",
    "StreamingOptions",
    "__version__",
]

_WHERE = {
    "SteerLLMClient": "steer_sync.client",
    "SteerError": "steer_common.errors",
    "StreamEvent": "steer_common.models.events",
    "StreamResponse": "steer_common.models.response",
    "StreamingOptions": "steer_common.options",
    "HIGH_THROUGHPUT_OPTIONS": "steer_common.options",
    "JSON_MODE_OPTIONS": "steer_common.options",
    "LOW_LATENCY_OPTIONS": "steer_common.options",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'steer_sync' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # loaded once
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
