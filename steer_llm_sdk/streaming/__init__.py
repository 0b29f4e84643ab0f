"""The guide's streaming components: :class:`StreamingHelper`, :class:`EventProcessor`,
:class:`StreamAdapter` (see ``steer_llm_sdk``)."""

from steer_async.streaming import StreamingHelper
from steer_common.providers.base import StreamAdapter
from steer_common.streaming.processor import EventProcessor, TypeFilter

__all__ = ["EventProcessor", "StreamAdapter", "StreamingHelper", "TypeFilter"]
