"""Secrets held so that no ``repr`` shows them: :class:`Secret`.

The other half, scrubbing keys out of messages and log lines, is
:func:`steer_common.errors.redact`.
"""

from __future__ import annotations

__all__ = ["Secret"]


class Secret(str):
    """A string (an API key, a header that carries one) whose ``repr`` hides it.

    It is the key for every use (``str``, bytes, comparison); only ``repr`` changes, so it
    stays hidden wherever a container or a frame is printed: a dict of headers in a log
    line, the locals of a frame in a traceback formatted with ``capture_locals=True``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'[REDACTED]'"
