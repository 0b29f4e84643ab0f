"""steer_async: the asyncio front end of steer-llm-sdk (httpx), the twin of ``steer_sync``.

from steer_async import SteerLLMClient

async with SteerLLMClient() as client:
    async for chunk in client.stream("Tell me a story", model="gpt-4o-mini"):
        print(chunk, end="", flush=True)
"""

from steer_async.client import SteerLLMClient
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
