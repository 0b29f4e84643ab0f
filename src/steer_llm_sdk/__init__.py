"""steer_llm_sdk: the user's guide's import paths, over steer_async, steer_common and steer_sync.

A facade with no logic of its own, for code written against the guide (and for users of
the original project: docs/streaming-api-migration.md). ``SteerLLMClient`` here is the
asyncio client, because the guide awaits everything; the blocking twin is
``steer_sync.SteerLLMClient``. The guide's three components:

- :class:`StreamingHelper`: the orchestration, driving one call's session flow over the
  transport (``steer_async.driver``);
- :class:`EventProcessor`: filters and transformers over a stream of events
  (``steer_common.pipeline``);
- :class:`StreamAdapter`: the per-provider normalization, base of every wire format's
  adapter (``steer_common.providers.base``).
"""

from steer_async.client import SteerLLMClient
from steer_async.driver import StreamingHelper
from steer_common._version import __version__
from steer_common.errors import SteerError
from steer_common.models.events import StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.options import (
    HIGH_THROUGHPUT_OPTIONS,
    JSON_MODE_OPTIONS,
    LOW_LATENCY_OPTIONS,
    StreamingOptions,
)
from steer_common.pipeline import EventProcessor
from steer_common.providers.base import StreamAdapter

__all__ = [
    "HIGH_THROUGHPUT_OPTIONS",
    "JSON_MODE_OPTIONS",
    "LOW_LATENCY_OPTIONS",
    "EventProcessor",
    "SteerError",
    "SteerLLMClient",
    "StreamAdapter",
    "StreamEvent",
    "StreamResponse",
    "StreamingHelper",
    "StreamingOptions",
    "__version__",
]
