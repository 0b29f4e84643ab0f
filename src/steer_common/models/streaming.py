"""The old name of :mod:`steer_common.options` (``StreamingOptions`` and its presets), kept:
DESIGN.md, the user's guide and earlier code import it from here."""

from steer_common.options import (
    DEFAULT_OPTIONS,
    HIGH_THROUGHPUT_OPTIONS,
    JSON_MODE_OPTIONS,
    LOW_LATENCY_OPTIONS,
    Callback,
    StreamingOptions,
    coerce_options,
)

__all__ = [
    "DEFAULT_OPTIONS",
    "HIGH_THROUGHPUT_OPTIONS",
    "JSON_MODE_OPTIONS",
    "LOW_LATENCY_OPTIONS",
    "Callback",
    "StreamingOptions",
    "coerce_options",
]
