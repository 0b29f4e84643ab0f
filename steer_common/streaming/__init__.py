"""Event pipeline pieces that work on normalized events, whatever the transport."""

from steer_common.streaming.processor import EventProcessor, TypeFilter

__all__ = ["EventProcessor", "TypeFilter"]
