"""steer_common: the sans-IO core of steer-llm-sdk.

Everything that is logic and no I/O: SSE decoding, each provider's wire format, the
normalized events, the accumulator, the event processor, usage, options and errors.
No sockets, no event loop, no threads: feed it bytes from any transport.

    from steer_common import StreamParser
    parser = StreamParser("openai")
    events = parser.feed(b"data: {...}\\n\\n")
    events += parser.close()
    print(parser.response.get_text())
"""

from steer_common._version import __version__
from steer_common.accumulator import StreamAccumulator
from steer_common.errors import SteerError
from steer_common.models.events import StreamEvent
from steer_common.models.response import ResumePoint, StreamResponse, ToolCall
from steer_common.options import (
    HIGH_THROUGHPUT_OPTIONS,
    JSON_MODE_OPTIONS,
    LOW_LATENCY_OPTIONS,
    StreamingOptions,
)
from steer_common.parser import StreamParser
from steer_common.pipeline import EventProcessor
from steer_common.sse import ServerSentEvent, SSEDecoder

__all__ = [
    "HIGH_THROUGHPUT_OPTIONS",
    "JSON_MODE_OPTIONS",
    "LOW_LATENCY_OPTIONS",
    "EventProcessor",
    "ResumePoint",
    "SSEDecoder",
    "ServerSentEvent",
    "SteerError",
    "StreamAccumulator",
    "StreamEvent",
    "StreamParser",
    "StreamResponse",
    "StreamingOptions",
    "ToolCall",
    "__version__",
]
