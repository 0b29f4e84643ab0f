"""The guide's ``steer_llm_sdk.streaming.processor``: ``steer_common.streaming.processor``."""

from steer_common.streaming.processor import EventProcessor, TypeFilter

__all__ = ["EventProcessor", "TypeFilter"]
