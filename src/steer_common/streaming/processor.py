"""The old name of :mod:`steer_common.pipeline`, kept (see :mod:`steer_common.streaming`)."""

from steer_common.pipeline import EventFilter, EventProcessor, EventTransformer, TypeFilter

__all__ = ["EventFilter", "EventProcessor", "EventTransformer", "TypeFilter"]
