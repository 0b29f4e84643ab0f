"""The decisions of a relay that are not about bytes: when a heartbeat is due, and which
middleware would hold a stream back.

The framework helpers do the waiting (a queue's ``get(timeout=...)``, ``asyncio.wait``);
what to wait for is decided here, against a clock the caller reads, so the decision is
tested without sleeping.
"""

from __future__ import annotations

from collections.abc import Iterable

from steer_common.errors import ConfigurationError

__all__ = [
    "BUFFERING_MIDDLEWARE",
    "HEARTBEAT_INTERVAL",
    "BufferingWarning",
    "Heartbeat",
    "buffering_middleware",
]

#: Seconds of silence after which a helper sends a heartbeat. Proxies close idle
#: connections after 30 to 100 s (nginx's proxy_read_timeout is 60 s, an AWS load
#: balancer's idle timeout 60 s, Heroku's router 55 s); a reasoning model can think longer.
HEARTBEAT_INTERVAL = 15.0

#: Middleware known to hold a streaming response back, and why.
BUFFERING_MIDDLEWARE = {
    "django.middleware.gzip.GZipMiddleware": (
        "it compresses the stream into gzip blocks, and the browser sees nothing until a "
        "block fills (the first bytes came after 1.88 s in issue 34)"
    ),
}


class BufferingWarning(UserWarning):
    """A streaming response will be held back on its way to the browser (a middleware
    that buffers it: :func:`buffering_middleware`)."""


class Heartbeat:
    """When a quiet stream is owed a heartbeat.

    Args:
        interval: seconds of silence before a heartbeat; ``None`` for none at all.
        now: the clock's reading when the response starts (its headers count as a write).

    Raises:
        ConfigurationError: ``interval`` is not a positive number.
    """

    __slots__ = ("interval", "last_write")

    def __init__(self, interval: float | None = HEARTBEAT_INTERVAL, now: float = 0.0) -> None:
        if interval is not None and not interval > 0:
            raise ConfigurationError(
                f"heartbeat must be a positive number of seconds or None, not {interval!r}"
            )
        self.interval = interval
        self.last_write = now

    def wrote(self, now: float) -> None:
        """Something was written at ``now``: the silence starts again."""
        self.last_write = now

    def timeout(self, now: float) -> float | None:
        """How long to wait for the next event before a heartbeat is due (``0.0``: it is
        due now; ``None``: wait as long as it takes, heartbeats are off)."""
        if self.interval is None:
            return None
        return max(0.0, self.last_write + self.interval - now)

    def due(self, now: float) -> bool:
        """Whether a heartbeat is due at ``now``."""
        return self.interval is not None and now - self.last_write >= self.interval


def buffering_middleware(middleware: Iterable[str]) -> list[str]:
    """The entries of a middleware list (Django's ``settings.MIDDLEWARE``) that hold a
    streaming response back, each as ``"<dotted path>: <why>"``."""
    return [
        f"{name}: {BUFFERING_MIDDLEWARE[name]}"
        for name in middleware
        if name in BUFFERING_MIDDLEWARE
    ]
