"""The blocking Redis registry's bookkeeping under threads, against a real redis-server.

A generation runs in a thread of its own, and a chat reuses its stream id for its next
reply as soon as the first one ends. What the first generation's thread does after storing
its end must not touch the next reply's stream.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from steer_common.models.events import StreamEvent
from steer_common.relay.replay import ReplayLimits
from tests.servers import RedisServer


class SlowToForget(dict[str, Any]):
    """The registry's windows, with a generation's thread slowed as it forgets one: it
    waits (0.3 s at most) for the id to be opened again first."""

    def __init__(self) -> None:
        super().__init__()
        self.opened_again = threading.Event()

    def pop(self, key: str, *default: Any) -> Any:
        self.opened_again.wait(0.3)
        return super().pop(key, *default)


def reply(text: str, release: threading.Event) -> Iterator[StreamEvent]:
    yield StreamEvent(type="stream_start", model="m")
    yield StreamEvent(type="text_delta", delta=text)
    release.wait(10)
    yield StreamEvent(type="stream_end", finish_reason="stop")


def events(frames: Iterator[bytes]) -> list[tuple[str, str]]:
    """(event, data) of each SSE frame."""
    out = []
    for frame in frames:
        fields = dict(line.split(": ", 1) for line in frame.decode().splitlines() if line)
        out.append((fields["event"], fields["data"]))
    return out


def test_the_next_reply_under_an_id_survives_the_first_ones_thread(
    redis_server: RedisServer, redis_prefix: str
) -> None:
    from steer_sync.web.redis_registry import RedisStreamRegistry

    # A short ttl: were the next reply's stream forgotten, its reader would see it expire
    # (an error, no text) rather than wait for the default 300 s.
    registry = RedisStreamRegistry(
        redis_server.url, ReplayLimits(ttl=2), prefix=redis_prefix, heartbeat=None
    )
    windows = SlowToForget()
    registry._windows = windows
    try:
        go = threading.Event()
        go.set()
        assert events(registry.start("chat-1", reply("one", go)))[0] == ("text", '{"delta":"one"}')
        second = threading.Event()
        frames = registry.start("chat-1", reply("two", second))
        windows.opened_again.set()
        second.set()
        assert events(frames) == [
            ("text", '{"delta":"two"}'),
            ("done", '{"finish_reason":"stop"}'),
        ]
    finally:
        registry.close()
