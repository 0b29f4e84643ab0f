"""Resumable streams on the four stores: in process and in Redis, blocking and asyncio.

Every test runs against each store through one blocking harness (the asyncio registries
run on an event loop of their own in a thread, as a server's would). The generation is a
feed the test writes events into, so what a reader sees at each moment is the test's
choice; the Redis stores talk to a real redis-server on loopback (``tests/servers.py``).
"""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from steer_common.models.events import StreamEvent
from steer_common.relay.replay import RegistryFullError, ReplayLimits, StreamRunningError
from tests.servers import RedisServer

# -- the generation the test writes --------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_END = object()


class Feed:
    """A generation: events pushed by the test; ``closed`` once its reader closed it (the
    upstream response would close with it)."""

    def __init__(self) -> None:
        self.items: queue.Queue[Any] = queue.Queue()
        self.closed = threading.Event()

    def push(self, *deltas: str) -> None:
        for delta in deltas:
            self.items.put(StreamEvent(type="text_delta", delta=delta))

    def end(self) -> None:
        self.items.put(StreamEvent(type="stream_end", finish_reason="stop"))
        self.items.put(_END)

    def fail(self, error: BaseException) -> None:
        self.items.put(error)

    def _next(self) -> Any:
        item = self.items.get(timeout=30)
        if isinstance(item, BaseException):
            raise item
        return item

    def sync(self) -> Iterator[StreamEvent]:
        try:
            yield StreamEvent(type="stream_start", model="m")
            while (item := self._next()) is not _END:
                yield item
        finally:
            self.closed.set()

    async def asynchronous(self) -> AsyncIterator[StreamEvent]:
        try:
            yield StreamEvent(type="stream_start", model="m")
            while (item := await asyncio.to_thread(self._next)) is not _END:
                yield item
        finally:
            self.closed.set()


# -- one blocking harness over the four stores ---------------------------------------------


class Reader:
    """A reader's frames, one ``next()`` at a time, and the text they carry."""

    def __init__(self, take: Callable[[], bytes | None], close: Callable[[], None]) -> None:
        self._take, self.close = take, close
        self.frames: list[bytes] = []

    def read(self, count: int) -> list[bytes]:
        got = []
        for _ in range(count):
            frame = self._take()
            assert frame is not None, f"the stream ended after {self.frames}"
            got.append(frame)
        self.frames += got
        return got

    def rest(self) -> list[bytes]:
        got = []
        while (frame := self._take()) is not None:
            got.append(frame)
        self.frames += got
        return got


def events_of(frames: list[bytes]) -> list[tuple[str, Any]]:
    """The (event, data) of SSE frames, heartbeats left out."""
    out = []
    for frame in frames:
        fields = dict(
            line.split(": ", 1) for line in frame.decode().splitlines() if ": " in line and not line.startswith(":")
        )  # fmt: skip
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def text_of(frames: list[bytes]) -> str:
    return "".join(data["delta"] for name, data in events_of(frames) if name == "text")


def last_id(frames: list[bytes]) -> str:
    ids = [line[4:] for f in frames for line in f.decode().splitlines() if line.startswith("id: ")]
    return ids[-1]


class SyncStore:
    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.readers: list[Reader] = []

    def start(self, stream_id: str, feed: Feed, **options: Any) -> Reader:
        return self._reader(self.registry.start(stream_id, feed.sync(), **options))

    def resume(self, stream_id: str, last_event_id: str | None = None, **kw: Any) -> Reader | None:
        frames = self.registry.resume(stream_id, last_event_id, **kw)
        return None if frames is None else self._reader(frames)

    def _reader(self, frames: Iterator[bytes]) -> Reader:
        reader = Reader(lambda: next(frames, None), getattr(frames, "close", lambda: None))
        self.readers.append(reader)
        return reader

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        close = getattr(self.registry, "close", None)
        if close:
            close()


class AsyncStore:
    """An asyncio registry on its own loop in a thread; calls wait for their results."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.readers: list[Reader] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.registry = self._run(self._make(make))

    async def _make(self, make: Callable[[], Any]) -> Any:
        return make()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def start(self, stream_id: str, feed: Feed, **options: Any) -> Reader:
        return self._reader(
            self._run(self.registry.start(stream_id, feed.asynchronous(), **options))
        )

    def resume(self, stream_id: str, last_event_id: str | None = None, **kw: Any) -> Reader | None:
        frames = self._run(self.registry.resume(stream_id, last_event_id, **kw))
        return None if frames is None else self._reader(frames)

    def _reader(self, frames: AsyncIterator[bytes]) -> Reader:
        async def take() -> bytes | None:
            return await anext(frames, None)

        async def close() -> None:
            aclose = getattr(frames, "aclose", None)
            if aclose:
                await aclose()

        reader = Reader(lambda: self._run(take()), lambda: self._run(close()))
        self.readers.append(reader)
        return reader

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        producers = list(self.registry._producers)
        if producers:  # each test ends its feed: the generations end by themselves
            self._run(asyncio.wait(producers, timeout=10))
        aclose = getattr(self.registry, "aclose", None)
        if aclose:
            self._run(aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


STORES = ["sync-memory", "async-memory", "sync-redis", "async-redis"]


@pytest.fixture
def make_store(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``make_store(limits=..., heartbeat=..., clock=...)``: the parametrized store
    (``socket_timeout=``: the Redis client's, for the Redis stores)."""
    kind: str = request.param
    made: list[Any] = []

    def make(*, socket_timeout: float | None = None, **options: Any) -> Any:
        options.setdefault("clock", Clock())
        if kind.endswith("redis"):
            server: RedisServer = request.getfixturevalue("redis_server")
            options["prefix"] = request.getfixturevalue("redis_prefix")
            client = {} if socket_timeout is None else {"socket_timeout": socket_timeout}
        if kind == "sync-memory":
            from steer_sync.web.registry import StreamRegistry

            store: Any = SyncStore(StreamRegistry(**options))
        elif kind == "sync-redis":
            import redis

            from steer_sync.web.redis_registry import RedisStreamRegistry

            connection = redis.Redis.from_url(server.url, **client)
            store = SyncStore(RedisStreamRegistry(connection, **options))
        elif kind == "async-memory":
            from steer_async.web.registry import StreamRegistry as AsyncStreamRegistry

            store = AsyncStore(lambda: AsyncStreamRegistry(**options))
        else:
            import redis.asyncio

            from steer_async.web.redis_registry import RedisStreamRegistry as AsyncRedis

            store = AsyncStore(
                lambda: AsyncRedis(redis.asyncio.Redis.from_url(server.url, **client), **options)
            )
        store.kind = kind
        if kind.endswith("redis"):
            store.url = server.url
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


pytestmark = pytest.mark.parametrize("make_store", STORES, indirect=True)


# -- what a reader sees --------------------------------------------------------------------


def test_the_first_reader_gets_the_reply_and_its_end(make_store: Any) -> None:
    store, feed = make_store(), Feed()
    reader = store.start("s1", feed)
    feed.push("Hello", ", ", "world")
    feed.end()
    frames = reader.rest()
    assert text_of(frames) == "Hello, world"
    assert events_of(frames)[-1] == ("done", {"finish_reason": "stop"})


def test_a_reader_that_comes_back_gets_the_rest_exactly_once(make_store: Any) -> None:
    # The browser leaves after two frames; the generation goes on; EventSource reconnects
    # with the id of the last frame it saw.
    store, feed = make_store(), Feed()
    first = store.start("s1", feed)
    feed.push("one ", "two ", "three ", "four ")
    seen = first.read(2)
    first.close()
    feed.push("five ")
    feed.end()
    assert feed.closed.wait(10)  # it ran to its end with nobody reading
    again = store.resume("s1", last_id(seen))
    assert again is not None
    rest = again.rest()
    assert text_of(seen) + text_of(rest) == "one two three four five "
    assert events_of(rest)[-1][0] == "done"


def test_a_reader_reconnecting_mid_generation_gets_the_missed_frames_then_the_live_tail(
    make_store: Any,
) -> None:
    store, feed = make_store(), Feed()
    first = store.start("s1", feed)
    feed.push("a", "b", "c")
    seen = first.read(1)
    first.close()
    again = store.resume("s1", last_id(seen))
    assert again is not None
    assert text_of(again.read(2)) == "bc"  # missed while away
    feed.push("d")  # live
    assert text_of(again.read(1)) == "d"
    feed.end()
    assert [name for name, _ in events_of(again.rest())] == ["done"]


def test_the_ai_sdk_resume_without_an_id_replays_a_running_stream_from_its_start(
    make_store: Any,
) -> None:
    store, feed = make_store(), Feed()
    first = store.start("s1", feed, protocol="ai-sdk", message_id="msg-1")
    feed.push("Hi", " there")
    seen = first.read(5)  # start, start-step, text-start, two deltas
    first.close()
    again = store.resume("s1", protocol="ai-sdk")
    assert again is not None
    assert again.read(5) == seen
    feed.end()
    rest = again.rest()
    assert rest[-1].endswith(b"data: [DONE]\n\n")
    assert b'"type":"finish"' in rest[-2]


def test_nothing_to_resume_is_none(make_store: Any) -> None:
    # None is the 204 that stops EventSource and the AI SDK from asking again.
    store, feed = make_store(), Feed()
    reader = store.start("s1", feed)
    feed.push("x")
    feed.end()
    frames = reader.rest()
    assert store.resume("unknown") is None
    assert store.resume("s1") is None  # finished: not replayed from the start
    assert store.resume("s1", last_id(frames)) is None  # it saw everything
    tail = store.resume("s1", last_id(frames[:1]))
    assert tail is not None and tail.rest() == frames[1:]


def test_a_reader_of_a_stream_no_longer_held_is_told(make_store: Any) -> None:
    store = make_store()
    reader = store.resume("gone", "7")
    assert reader is not None
    events = events_of(reader.rest())
    assert events[0][0] == "error" and events[0][1]["type"] == "StreamExpiredError"
    assert events[-1] == ("done", {"finish_reason": "error"})


def test_an_id_the_stream_never_sent_is_an_error_event(make_store: Any) -> None:
    store, feed = make_store(), Feed()
    reader = store.start("s1", feed)
    feed.push("x")
    reader.read(1)
    for sent in ("999", "²", "٣"):  # past the end; digits of no id an encoder writes
        bad = store.resume("s1", sent)
        assert bad is not None
        assert events_of(bad.rest())[0][1]["type"] == "ReplayError"
    feed.end()


def test_a_failure_ends_the_stream_with_an_error_event_for_every_reader(make_store: Any) -> None:
    from steer_common.errors import RateLimitError

    store, feed = make_store(), Feed()
    first = store.start("s1", feed)
    feed.push("partial")
    seen = first.read(1)
    first.close()
    feed.fail(RateLimitError("slow down", status_code=429))
    assert feed.closed.wait(10)
    again = store.resume("s1", last_id(seen))
    assert again is not None
    events = events_of(again.rest())
    assert events[0][0] == "error" and events[0][1]["type"] == "RateLimitError"


def test_a_reader_waits_out_a_silence_longer_than_the_redis_socket_timeout(
    make_store: Any,
) -> None:
    # redis-py gives a read up after its socket_timeout (5 s by default): a reader blocked in
    # XREAD for as long raised redis' TimeoutError while the model thought silently.
    store, feed = make_store(socket_timeout=0.4, heartbeat=None), Feed()
    reader = store.start("s1", feed)
    feed.push("Let me think.")
    assert text_of(reader.read(1)) == "Let me think."
    later = threading.Timer(1.3, lambda: (feed.push(" Done."), feed.end()))
    later.start()
    try:
        assert text_of(reader.rest()) == " Done."
    finally:
        later.join()


def test_a_finished_stream_id_carries_the_next_reply(make_store: Any) -> None:
    # A chat's id as the stream id: its second message comes within the ttl of the first.
    store, first, second = make_store(), Feed(), Feed()
    reader = store.start("chat-1", first)
    first.push("one")
    first.end()
    assert text_of(reader.rest()) == "one"
    again = store.start("chat-1", second)
    second.push("two")
    second.end()
    assert text_of(again.rest()) == "two"
    resumed = store.resume("chat-1", "0")  # from the start: the new reply alone
    assert resumed is not None and text_of(resumed.rest()) == "two"


def test_a_running_stream_id_is_refused_and_its_reply_goes_on(make_store: Any) -> None:
    store, first, second = make_store(), Feed(), Feed()
    reader = store.start("chat-1", first)
    first.push("one")
    reader.read(1)
    with pytest.raises(StreamRunningError, match="still running"):
        store.start("chat-1", second)
    first.push(" more")
    first.end()
    reader.rest()
    assert text_of(reader.frames) == "one more"
    resumed = store.resume("chat-1", "0")
    assert resumed is not None and text_of(resumed.rest()) == "one more"


def test_of_streams_opened_at_once_under_one_id_one_runs(make_store: Any) -> None:
    # Eight requests for one id at once; in Redis, from eight processes (registries).
    count = 8
    if make_store().kind.endswith("redis"):
        stores = [make_store() for _ in range(count)]
    else:
        stores = [make_store()] * count
    feeds = [Feed() for _ in range(count)]
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def open_one(n: int) -> None:
        barrier.wait()
        try:
            outcomes[n] = stores[n].start("chat-1", feeds[n])
        except StreamRunningError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [n for n, outcome in enumerate(outcomes) if not isinstance(outcome, Exception)]
    assert len(winners) == 1, outcomes
    (n,) = winners
    feeds[n].push("mine")
    feeds[n].end()
    assert text_of(outcomes[n].rest()) == "mine"


# -- bounds, expiry, room ------------------------------------------------------------------


def test_a_reader_owed_dropped_frames_gets_an_error_event_not_a_hole(make_store: Any) -> None:
    store, feed = make_store(limits=ReplayLimits(max_frames=3)), Feed()
    first = store.start("s1", feed)
    feed.push("a")
    seen = first.read(1)
    feed.push("b", "c", "d", "e")
    feed.end()
    assert feed.closed.wait(10)
    # The reader still attached fell behind the bound too: it is told, not skipped ahead.
    events = events_of(first.rest())
    assert [name for name, _ in events] == ["error", "done"]
    assert events[0][1]["type"] == "ReplayGapError"
    late = store.resume("s1", last_id(seen))
    assert late is not None
    assert events_of(late.rest())[0][1]["type"] == "ReplayGapError"
    recent = store.resume("s1", "3")  # saw c: d, e and done are kept
    assert recent is not None
    assert text_of(recent.rest()) == "de"


def test_a_new_stream_past_max_streams_is_refused_while_all_run(make_store: Any) -> None:
    store = make_store(limits=ReplayLimits(max_streams=1))
    first, second = Feed(), Feed()
    reader = store.start("s1", first)
    with pytest.raises(RegistryFullError):
        store.start("s2", second)
    first.end()
    reader.rest()
    again = store.start("s2", second)  # s1 finished: it makes room
    assert store.resume("s1", "1") is not None  # told it expired
    second.end()
    assert events_of(again.rest())[-1][0] == "done"


def test_a_stream_that_expires_under_its_reader_is_an_error_event(make_store: Any) -> None:
    clock = Clock()
    store, feed = make_store(limits=ReplayLimits(ttl=60), clock=clock, heartbeat=0.05), Feed()
    reader = store.start("s1", feed)
    feed.push("a")
    reader.read(1)
    if store.kind.endswith("redis"):  # what Redis does when the ttl passes
        import redis

        client = redis.Redis.from_url(store.url)
        client.delete(*client.keys(f"{store.registry.prefix}:s1:*"))
        client.close()
    else:
        clock.advance(61)
        assert store.resume("other") is None  # any call forgets what expired
    events = [e for e in events_of(reader.rest()) if e[0] != "text"]
    assert events[0][1]["type"] == "StreamExpiredError"
    feed.end()


def test_a_quiet_generation_sends_heartbeats_to_its_reader(make_store: Any) -> None:
    store, feed = make_store(heartbeat=0.05), Feed()
    reader = store.start("s1", feed)
    assert reader.read(1) == [b": heartbeat\n\n"]
    feed.push("x")
    feed.end()
    assert text_of(reader.rest()) == "x"


# -- a generation nobody reads -------------------------------------------------------------


def test_by_default_the_generation_runs_on_with_nobody_reading(make_store: Any) -> None:
    clock = Clock()
    store, feed = make_store(clock=clock), Feed()
    reader = store.start("s1", feed)
    feed.push("a")
    reader.read(1)
    reader.close()
    clock.advance(3600)
    feed.push("b")
    feed.end()
    assert feed.closed.wait(10)
    again = store.resume("s1", "1")
    assert again is not None and text_of(again.rest()) == "b"


def test_abandon_after_stops_a_generation_nobody_reads(make_store: Any) -> None:
    clock = Clock()
    store, feed = make_store(clock=clock), Feed()
    reader = store.start("s1", feed, abandon_after=10)
    feed.push("a")
    reader.read(1)
    reader.close()
    clock.advance(11)
    feed.push("b")  # the next event finds nobody has read for 10 s
    assert feed.closed.wait(10)  # the upstream was closed: the billing stops
    again = store.resume("s1", "1")
    assert again is not None
    events = events_of(again.rest())
    assert events[-2][0] == "error" and events[-2][1]["type"] == "StreamAbandonedError"


def test_abandon_after_keeps_a_generation_someone_reads(make_store: Any) -> None:
    clock = Clock()
    store, feed = make_store(clock=clock), Feed()
    reader = store.start("s1", feed, abandon_after=10)
    feed.push("a")
    reader.read(1)
    clock.advance(11)
    feed.push("b")
    feed.end()
    assert text_of(reader.rest()) == "b"
