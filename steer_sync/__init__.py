"""steer_sync: the blocking front end of steer-llm-sdk (requests/urllib3, thread-safe).

from steer_sync import SteerLLMClient

client = SteerLLMClient()
for chunk in client.stream("Tell me a story", model="gpt-4o-mini"):
    print(chunk, end="", flush=True)
"""

from steer_common._version import __version__
from steer_common.errors import SteerError
from steer_common.models.events import StreamEvent
from steer_common.models.response import StreamResponse
from steer_common.models.streaming import (
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
