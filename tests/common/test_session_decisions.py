"""The session flow's decisions, driven by hand (no sockets): what a front end is asked."""

from __future__ import annotations

from typing import Any

import pytest

from steer_common import StreamingOptions
from steer_common.calls import prepare_session
from steer_common.commands import Close, Connect, Read, Sleep
from steer_common.emulation.error_bodies import error_body
from steer_common.errors import RateLimitError
from steer_common.http import ResponseHead
from steer_common.retry import MAX_RETRY_AFTER


def session(**options: Any) -> Any:
    return prepare_session(
        "hi",
        model="gpt-4o-mini",
        api_keys={"openai": "sk-test"},
        base_urls=None,
        environ={},
        openai_api="chat",
        streaming_options=StreamingOptions(**options),
        response_format=None,
        tools=None,
        temperature=None,
        max_tokens=None,
        extras={},
        consumer="events",
    )


def rate_limited(flow: Any, retry_after: str) -> Any:
    """Answer the flow's Connect with a 429 and its body; the command that follows."""
    command = next(flow)
    assert isinstance(command, Connect)
    command = flow.send(ResponseHead(429, {"retry-after": retry_after}))
    assert isinstance(command, Read)
    command = flow.send(error_body("openai", 429))
    assert isinstance(command, Read)
    command = flow.send(b"")  # the end of the error body
    assert command == Close(reuse=True)
    return flow.send(None)


@pytest.mark.parametrize(
    ("retry_after", "slept"),
    [("2", 2.0), ("3600", MAX_RETRY_AFTER), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_honoured_and_capped(retry_after: str, slept: float) -> None:
    # Seconds as given, capped at MAX_RETRY_AFTER; a date already past: retry at once.
    command = rate_limited(session(reconnect_delay=0.5).flow(), retry_after)
    assert isinstance(command, Sleep) and command.seconds == slept


def test_a_retry_after_past_the_total_timeout_is_not_waited_for() -> None:
    flow = session(total_timeout=5.0).flow()
    with pytest.raises(RateLimitError) as info:
        rate_limited(flow, "30")
    assert info.value.retry_after == 30
