"""The old name of :mod:`steer_sync.driver` (the ``StreamingHelper`` that drives a session's
flow over the transport), kept for code that imports it from here."""

from steer_sync.driver import StreamingHelper

__all__ = ["StreamingHelper"]
