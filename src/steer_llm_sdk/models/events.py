"""The guide's ``steer_llm_sdk.models.events``: ``steer_common.models.events``."""

from steer_common.models.events import EVENT_TYPES, StreamEvent

__all__ = ["EVENT_TYPES", "StreamEvent"]
