"""The guide's ``steer_llm_sdk.streaming.processor``: ``steer_common.pipeline``."""

from steer_common.pipeline import EventProcessor, TypeFilter

__all__ = ["EventProcessor", "TypeFilter"]
