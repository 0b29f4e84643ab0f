"""The old name of :mod:`steer_async.driver` (the ``StreamingHelper`` that drives a session's
flow over the transport), kept for code that imports it from here."""

from steer_async.driver import StreamingHelper

__all__ = ["StreamingHelper"]
