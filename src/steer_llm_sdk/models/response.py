"""``steer_llm_sdk.models.response``: ``steer_common.models.response``."""

from steer_common.models.response import StreamMetrics, StreamResponse, ToolCall

__all__ = ["StreamMetrics", "StreamResponse", "ToolCall"]
