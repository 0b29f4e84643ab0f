"""The guide's streaming components: :class:`StreamingHelper`, :class:`EventProcessor`,
:class:`StreamAdapter` (see ``steer_llm_sdk``)."""

from steer_async.driver import StreamingHelper
from steer_common.pipeline import EventProcessor, TypeFilter
from steer_common.providers.base import StreamAdapter

__all__ = ["EventProcessor", "StreamAdapter", "StreamingHelper", "TypeFilter"]
