"""Resumable streams in Redis, for several workers or processes: a browser that reconnects
to another process than the one running its generation reads the same frames.

The source of ``steer_sync/web/redis_registry.py``, which ``scripts/unasync.py`` generates
from this file: edit this one.

::

    registry = RedisStreamRegistry("redis://localhost:6379/0")
    frames = await registry.start("chat-42", client.stream_events(...), protocol="sse")
    frames = await registry.resume("chat-42", last_event_id)   # in any process

The process that runs a generation writes its frames; any process reads them. Keys, under
``prefix`` (``steer:relay`` by default), each expiring ``ttl`` seconds after the stream's
last frame:

- ``<prefix>:<id>:frames``: a Redis stream, one entry per frame (``XADD`` with the frame's
  position as its entry id, ``N-0`` for the frame with SSE id ``N``; the oldest trimmed
  with ``XTRIM MINID`` past the bounds), and a last entry ``e`` that marks the end.
  Readers wait with ``XREAD BLOCK``. Each entry also carries ``d``, the newest position
  dropped so far, so a reader that fell behind a trim sees the gap in the next entries it
  reads and gets an error event instead of a stream with a hole.
- ``<prefix>:<id>:meta``: the protocol, the last position, the dropped one, finished.
- ``<prefix>:<id>:readers``: the readers attached (a sorted set of reader ids, scored by
  when each last said so), for ``abandon_after``.
- ``<prefix>:running`` and ``<prefix>:finished``: the streams held, for ``max_streams``
  (a new stream past it deletes the least recently written finished one). Across processes
  the count is approximate: two processes that open at once may both pass the check. A
  stream id is held once, exactly: a script opens the stream (a finished one under the id
  is replaced; a running one refuses it, :class:`StreamRunningError`) in one step.

Needs the ``redis`` extra (redis-py).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from steer_async.web.registry import _Registry
from steer_common.relay import HEARTBEAT, HEARTBEAT_INTERVAL, Heartbeat
from steer_common.relay.replay import (
    START,
    Position,
    ReplayError,
    ReplayLimits,
    StreamRunningError,
    Window,
    abandoned,
    lost,
    make_room,
    plan_resume,
)

__all__ = ["RedisStreamRegistry"]

#: The longest a reader blocks in XREAD before it says it is still there (and checks that
#: the stream was not expired), whatever the heartbeat. Half the client's socket timeout
#: when that is shorter: redis-py gives a read up after it (5 s by default), blocked or not.
_PRESENCE = 5.0


#: The member of a stream's readers that says when a reader last left.
_LEFT = "-left"

#: Open a stream in one step, so that two processes opening the same id cannot both pass:
#: refused (0) while a stream under the id runs; else the finished one's keys go and the
#: new one is held (1). KEYS: meta, frames, readers, running, finished; ARGV: protocol,
#: now, ttl, stream id.
_OPEN = """
if redis.call('HGET', KEYS[1], 'finished') == '0' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'protocol', ARGV[1], 'last', '0-0', 'finished', '0')
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZREM', KEYS[5], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[4])
return 1
"""


def _entry_id(position: Position) -> str:
    return f"{position[0]}-{position[1]}"


def _position(text: bytes | str | None) -> Position | None:
    if not text:
        return None
    if isinstance(text, bytes):
        text = text.decode()
    major, _, minor = text.partition("-")
    return (int(major), int(minor))


class RedisStreamRegistry(_Registry):
    """Resumable streams kept in Redis (redis-py), shared by processes.

    Args:
        redis: a ``redis.asyncio.Redis`` client, or a URL to make one from.
        limits: the bounds (:class:`~steer_common.relay.replay.ReplayLimits`).
        prefix: the prefix of every key.
        heartbeat: seconds of silence after which a reader is sent a heartbeat comment;
            None sends none.
        clock: the wall clock (seconds) of ttl and ``abandon_after``, shared by processes.
    """

    def __init__(
        self,
        redis: Redis | str,
        limits: ReplayLimits | None = None,
        *,
        prefix: str = "steer:relay",
        heartbeat: float | None = HEARTBEAT_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(limits, heartbeat, clock)
        self.redis: Redis = Redis.from_url(redis) if isinstance(redis, str) else redis
        # redis-py's annotations cover RESP2 and RESP3 replies at once: read as Any here.
        self._r: Any = self.redis
        self.prefix = prefix
        # The windows of the generations this process runs (their writer is here).
        self._windows: dict[str, Window] = {}
        self._opened: dict[str, float] = {}
        self._checked: dict[str, float] = {}
        socket_timeout = self.redis.connection_pool.connection_kwargs.get("socket_timeout")
        self._block = min(_PRESENCE, socket_timeout / 2) if socket_timeout else _PRESENCE

    def _key(self, stream_id: str, part: str) -> str:
        return f"{self.prefix}:{stream_id}:{part}"

    async def resume(
        self, stream_id: str, last_event_id: str | None = None, *, protocol: str = "sse"
    ) -> AsyncIterator[bytes] | None:
        """The frames a reconnecting reader is owed, then the live tail, then the end.

        Args:
            stream_id: the stream's key.
            last_event_id: the ``Last-Event-ID`` header (None: from the start).
            protocol: the protocol of the error event sent for a stream no longer held.

        Returns:
            None when there is nothing to resume (answer 204); else the frames. A reader
            owed frames that are gone (dropped past the bounds, or the stream expired) gets
            an error event instead.
        """
        meta = await self._r.hgetall(self._key(stream_id, "meta"))
        held = bool(meta)
        last = _position(meta.get(b"last")) or START
        stream_protocol = meta[b"protocol"].decode() if held else protocol
        try:
            after = plan_resume(
                last_event_id,
                held=held,
                finished=meta.get(b"finished") == b"1",
                last=last,
                dropped=_position(meta.get(b"dropped")),
            )
        except ReplayError as exc:
            return _frames(self._error_frames(stream_protocol, last[0], exc))
        if after is None:
            return None
        return self._follow(stream_id, stream_protocol, after)

    async def aclose(self) -> None:
        """Close the Redis client's connections."""
        await self._r.aclose()

    # -- the store -----------------------------------------------------------------------

    async def _open(self, stream_id: str, protocol: str) -> None:
        running, finished = f"{self.prefix}:running", f"{self.prefix}:finished"
        meta = self._key(stream_id, "meta")
        now = self._clock()
        horizon = now - self.limits.ttl
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.zremrangebyscore(running, "-inf", horizon)
            pipe.zremrangebyscore(finished, "-inf", horizon)
            pipe.zcard(running)
            pipe.zcard(finished)
            pipe.hget(meta, "finished")
            _, _, held_running, held_finished, state = await pipe.execute()
        if state == b"0":  # refused before it makes room; _OPEN decides for good below
            raise StreamRunningError(stream_id)
        if make_room(held_running + held_finished, self.limits, a_finished_one=held_finished > 0):
            for oldest, _ in await self._r.zpopmin(finished):
                gone = oldest.decode()
                await self._r.delete(*(self._key(gone, p) for p in ("frames", "meta", "readers")))
        keys = [meta, self._key(stream_id, "frames"), self._key(stream_id, "readers")]
        ttl = max(1, round(self.limits.ttl))
        opened = await self._r.eval(
            _OPEN, 5, *keys, running, finished, protocol, repr(now), ttl, stream_id
        )
        if not opened:
            raise StreamRunningError(stream_id)
        self._windows[stream_id] = Window(self.limits)
        self._opened[stream_id] = self._checked[stream_id] = now

    async def _append(self, stream_id: str, frames: list[bytes], *, finished: bool = False) -> bool:
        window = self._windows.get(stream_id)
        if window is None:
            return False
        if finished:
            # Forgotten before the end is stored: a reader that sees the end may open the id
            # again at once, and what is forgotten must not be the new stream's.
            self._forget(stream_id)
        key, meta = self._key(stream_id, "frames"), self._key(stream_id, "meta")
        ttl = max(1, round(self.limits.ttl))
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.expire(meta, ttl)  # 0 when the stream expired meanwhile
            for frame in frames:
                position, drop = window.add(frame)
                dropped = _entry_id(window.dropped) if window.dropped else ""
                pipe.xadd(key, {"f": frame, "d": dropped}, id=_entry_id(position))
                if drop is not None:
                    pipe.xtrim(key, minid=_entry_id((drop[0], drop[1] + 1)), approximate=False)
            fields = {"last": _entry_id(window.last)}
            if window.dropped is not None:
                fields["dropped"] = _entry_id(window.dropped)
            if finished:
                end = (window.last[0], window.last[1] + 1)
                pipe.xadd(key, {"e": "1", "d": fields.get("dropped", "")}, id=_entry_id(end))
                fields["finished"] = "1"
                pipe.zrem(f"{self.prefix}:running", stream_id)
                pipe.zadd(f"{self.prefix}:finished", {stream_id: self._clock()})
            else:
                pipe.zadd(f"{self.prefix}:running", {stream_id: self._clock()})
            pipe.hset(meta, mapping=fields)
            pipe.expire(key, ttl)
            pipe.expire(meta, ttl)
            pipe.expire(self._key(stream_id, "readers"), ttl)
            results = await pipe.execute()
        if not results[0]:  # it had expired: what this wrote goes (unless the id was reopened)
            if self._windows.get(stream_id) is window:
                self._forget(stream_id)
                await self._r.delete(key, meta)
            return False
        return True

    def _forget(self, stream_id: str) -> None:
        for held in (self._windows, self._opened, self._checked):
            held.pop(stream_id, None)

    async def _abandoned(self, stream_id: str, grace: float) -> bool:
        now = self._clock()
        if now - self._checked.get(stream_id, now) < min(1.0, grace):
            return False  # one look a second is enough
        self._checked[stream_id] = now
        readers = self._key(stream_id, "readers")
        fresh = now - 3 * _PRESENCE  # a reader that has not said so for longer is gone
        async with self._r.pipeline(transaction=False) as pipe:
            pipe.zcount(readers, fresh, "+inf")
            pipe.zscore(readers, _LEFT)
            count, left = await pipe.execute()
        if left is not None and left >= fresh:
            count -= 1  # the member that says when the last reader left is no reader
        last_seen = max(left or 0.0, self._opened.get(stream_id, now))
        return abandoned(count, last_seen, now, grace)

    def _reader(self, stream_id: str, protocol: str, after: Position) -> AsyncIterator[bytes]:
        return self._follow(stream_id, protocol, after)

    async def _follow(self, stream_id: str, protocol: str, after: Position) -> AsyncIterator[bytes]:
        key, meta = self._key(stream_id, "frames"), self._key(stream_id, "meta")
        readers, reader = self._key(stream_id, "readers"), uuid.uuid4().hex
        beat = Heartbeat(self.heartbeat, time.monotonic())
        wait = min(self.heartbeat or self._block, self._block)
        await self._r.zadd(readers, {reader: self._clock()})
        try:
            entries = await self._r.xrange(key, min=f"({_entry_id(after)}")
            while True:
                if not entries:
                    timeout = beat.timeout(time.monotonic())
                    block = wait if timeout is None else min(wait, timeout)
                    reply = await self._r.xread(
                        {key: _entry_id(after)}, block=max(1, int(block * 1000))
                    )
                    entries = reply[0][1] if reply else []
                if not entries:
                    if not await self._r.exists(meta):
                        error = lost(after, gone=True, dropped=None)
                        assert error is not None
                        for frame in self._error_frames(protocol, after[0], error):
                            yield frame
                        return
                    await self._r.zadd(readers, {reader: self._clock()})
                    if beat.due(time.monotonic()):
                        yield HEARTBEAT
                        beat.wrote(time.monotonic())
                    continue
                # The newest drop any entry saw covers every trim before this read.
                error = lost(after, gone=False, dropped=_position(entries[-1][1].get(b"d")))
                if error is not None:
                    for frame in self._error_frames(protocol, after[0], error):
                        yield frame
                    return
                for entry_id, fields in entries:
                    if b"e" in fields:
                        return
                    yield fields[b"f"]
                    after = _position(entry_id) or after
                beat.wrote(time.monotonic())
                entries = []
        finally:
            # Best effort: when Redis is unreachable, the reader's entry goes stale by itself.
            with contextlib.suppress(RedisError):
                await self._detach(readers, reader)

    async def _detach(self, readers: str, reader: str) -> None:
        async with self._r.pipeline(transaction=True) as pipe:
            pipe.zrem(readers, reader)
            pipe.zadd(readers, {_LEFT: self._clock()})
            pipe.expire(readers, max(1, round(self.limits.ttl)))
            await pipe.execute()


async def _frames(frames: list[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame
