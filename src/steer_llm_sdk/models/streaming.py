"""The guide's ``steer_llm_sdk.models.streaming``: ``steer_common.options``."""

from steer_common.options import (
    DEFAULT_OPTIONS,
    HIGH_THROUGHPUT_OPTIONS,
    JSON_MODE_OPTIONS,
    LOW_LATENCY_OPTIONS,
    StreamingOptions,
)

__all__ = [
    "DEFAULT_OPTIONS",
    "HIGH_THROUGHPUT_OPTIONS",
    "JSON_MODE_OPTIONS",
    "LOW_LATENCY_OPTIONS",
    "StreamingOptions",
]
