"""The old name of :mod:`steer_common.pipeline` (``EventProcessor``, the filter and
transformer pipeline over normalized events), kept: DESIGN.md and the user's guide import
``steer_common.streaming.processor``."""

from steer_common.pipeline import EventProcessor, TypeFilter

__all__ = ["EventProcessor", "TypeFilter"]
