"""A session asked to hear of silence (``session.idle``, the blocking browser relay's
heartbeats), socket-free (tests/common/play.py): its reads may be given up for an ``Idle``
once the consumer has had nothing for ``idle`` seconds, and its retry waits are cut into
pieces; a session not asked never does either."""

from __future__ import annotations

import pytest

from steer_common.commands import Idle, Read
from steer_common.errors import RateLimitError, ReadTimeoutError, StreamTimeoutError
from steer_emulator import error_body
from tests.common.play import QUIET, SSE, Clock, Tick, make_session, play
from tests.common.test_session import CHAT, CHAT_EVENTS, status

START, FIRST, *REST = CHAT_EVENTS  # the role chunk (held until content), then text


def reads(commands: list[object]) -> list[Read]:
    return [c for c in commands if isinstance(c, Read)]


def test_without_idle_no_read_may_be_quiet_and_no_idle_is_asked() -> None:
    played = play(make_session(), [SSE, START + FIRST, Tick(40), b"".join(REST), b""], Clock())
    assert played.response is not None
    assert all(r.quiet is None for r in reads(played.commands))
    assert played.idles == []


def test_a_quiet_stream_asks_for_an_idle_each_interval_and_loses_nothing() -> None:
    clock = Clock()
    session = make_session(clock=clock)
    session.idle = 15.0
    script = [SSE, START + FIRST, QUIET, QUIET, Tick(3.0), b"".join(REST), b""]
    played = play(session, script, clock)
    assert played.response is not None and played.text == CHAT.expected["text"]
    assert played.idles == [15.0, 15.0]
    # The Idles come between the reads that gave up, never among the events handed on.
    kinds = [type(c).__name__ for c in played.commands]
    assert kinds[:7] == ["Connect", "Read", "Read", "Idle", "Read", "Idle", "Read"]
    first_read_after_content = reads(played.commands)[1]
    assert first_read_after_content.events  # the first text, handed on with it
    assert first_read_after_content.quiet == 15.0  # the silence starts as it is handed on


def test_keepalives_do_not_put_the_idle_off() -> None:
    clock = Clock()
    session = make_session(clock=clock)
    session.idle = 15.0
    keepalive = b": keep-alive\n\n"  # a provider's own: a ping event, which ends no silence
    script = [SSE, START + FIRST, Tick(10.0), keepalive, QUIET, b"".join(REST), b""]
    played = play(session, script, clock)
    assert played.response is not None
    after_keepalive = reads(played.commands)[2]
    assert after_keepalive.quiet == pytest.approx(5.0)  # 15 s after the text, not the ping
    assert played.idles == [15.0]


def test_the_read_timeout_still_bounds_a_quiet_stream() -> None:
    clock = Clock()
    session = make_session(clock=clock, read_timeout=20.0, max_reconnect_attempts=0)
    session.idle = 15.0
    timeout = StreamTimeoutError("read timed out")
    played = play(session, [SSE, START + FIRST, QUIET, timeout], clock)
    assert isinstance(played.error, ReadTimeoutError)
    last = reads(played.commands)[-1]
    assert last.timeout == pytest.approx(5.0) and last.quiet == 15.0  # the timeout first
    assert played.idles == [15.0]


def test_a_retry_wait_is_cut_into_pieces_with_an_idle_between() -> None:
    clock = Clock()
    session = make_session(clock=clock)
    session.idle = 1.0
    limited = [status(429, **{"retry-after": "2.5"}), error_body("openai", 429), b""]
    played = play(session, [*limited, SSE, CHAT.body, b""], clock)
    assert played.response is not None and played.connects == 2
    assert played.sleeps == [1.0, 1.0, 0.5]  # 2.5 s in all, as without idle
    assert played.idles == [1.0, 1.0]
    without = play(make_session(clock=Clock()), [*limited, SSE, CHAT.body, b""], Clock())
    assert without.sleeps == [2.5] and without.idles == []


def test_a_retry_wait_without_idle_is_one_sleep_even_when_it_fails() -> None:
    limited = [status(429, **{"retry-after": "2"}), error_body("openai", 429), b""]
    played = play(make_session(max_reconnect_attempts=0), limited)
    assert isinstance(played.error, RateLimitError) and played.sleeps == []


def test_idle_is_a_command_with_the_seconds_of_silence() -> None:
    assert Idle(15.0).seconds == 15.0 and Idle(15.0) == Idle(15.0)
