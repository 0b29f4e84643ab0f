"""The guide's ``steer_llm_sdk.models``: options, events and responses (``steer_common.models``)."""

from steer_common.models.events import StreamEvent
from steer_common.models.response import StreamResponse, ToolCall
from steer_common.options import StreamingOptions

__all__ = ["StreamEvent", "StreamResponse", "StreamingOptions", "ToolCall"]
