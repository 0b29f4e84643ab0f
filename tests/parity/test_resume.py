"""Streams that survive, over loopback on every client: a Responses stream in background
mode (OpenAI's and Azure's) cut by the emulator anywhere is picked up where it broke, and
the consumer sees every delta once, through ``stream()``, ``stream_events()`` and
``stream_with_usage()``; a consumer that leaves cancels it; a partial response picks it up
in another process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from steer_common import ResumePoint, StreamResponse
from steer_common.errors import StreamInterruptedError
from steer_emulator import ScriptedReply
from steer_emulator.background import keep_events
from steer_emulator.formats import render
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs

TEXT = "Waves fold over the reef; the gulls argue about nothing. " * 3
REASONING = "A short scene by the sea, two sentences."
CALL = {"id": "call_9", "name": "note", "arguments": {"mood": "calm"}}
MODELS = {"openai": "gpt-4o-mini", "azure": "azure/prod-responses"}


def script(cuts: tuple[int, ...], **fields: Any) -> ScriptedReply:
    fields.setdefault("chunk_chars", 9)
    return ScriptedReply(text=TEXT, reasoning=REASONING, cut_mid_event=True, cuts=cuts, **fields)


#: The events of the whole stream, as background mode numbers them.
COUNT = len(keep_events(render("openai_responses", script(())))[1])


def call(
    runner: Any, consumer: str, model: str, **kwargs: Any
) -> tuple[str, str, StreamResponse | None]:
    """``(text, reasoning, response)`` as ``consumer`` sees them."""
    kwargs.setdefault("background", True)
    kwargs.setdefault("streaming_options", {"reconnect_delay": 0.0})
    if consumer == "text":
        return "".join(runner.text("Tell me about the sea", model=model, **kwargs)), "", None
    if consumer == "events":
        events = runner.events("Tell me about the sea", model=model, **kwargs)
        text = "".join(e.delta for e in events if e.type == "text_delta")
        reasoning = "".join(e.delta for e in events if e.type == "reasoning_delta")
        return text, reasoning, None
    response = runner.response("Tell me about the sea", model=model, **kwargs)
    return response.text, response.reasoning or "", response


def picked_up(emulator: Emulator) -> list[str]:
    """The ``starting_after`` of each stream picked up again, in order."""
    return [
        dict(p.partition("=")[::2] for p in r.query.split("&"))["starting_after"]
        for r in emulator.requests
        if r.method == "GET"
    ]


@pytest.mark.parametrize("provider", ["openai", "azure"])
@pytest.mark.parametrize("consumer", ["text", "events", "response"])
def test_a_cut_background_stream_is_picked_up_exactly(
    make_runner: Any, emulator: Emulator, provider: str, consumer: str
) -> None:
    emulator.reset()
    emulator.enqueue(script((4, 11, 23)))
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    text, reasoning, response = call(runner, consumer, MODELS[provider])
    assert text == TEXT
    if consumer != "text":
        assert reasoning == REASONING
    assert picked_up(emulator) == ["3", "10", "22"]
    assert all(
        r.headers.get("authorization") or r.headers.get("api-key") for r in emulator.requests
    )
    if response is not None:
        assert response.complete and response.resume is None
        assert len(response.attempts) == 4  # the three cuts, then the end
        _, _, final = keep_events(render("openai_responses", script(())))
        assert response.usage["completion_tokens"] == final["usage"]["output_tokens"]


def test_every_cut_point_on_every_client(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    for k in range(1, COUNT):
        emulator.reset()
        emulator.enqueue(script((k,)))
        consumer = ("text", "events", "response")[k % 3]
        text, _, _ = call(runner, consumer, "gpt-4o-mini")
        assert text == TEXT, (k, consumer)
        assert picked_up(emulator) == [str(k - 1)], k


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=COUNT - 1), max_size=5),
    consumer=st.sampled_from(["text", "events", "response"]),
)
def test_cuts_chosen_by_hypothesis(
    make_runner: Any, emulator: Emulator, cuts: list[int], consumer: str
) -> None:
    emulator.reset()
    emulator.enqueue(script(tuple(cuts), tool_calls=[CALL]))
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    text, reasoning, _ = call(runner, consumer, "gpt-4o-mini")
    assert text == TEXT
    if consumer != "text":
        assert reasoning == REASONING
    assert len(picked_up(emulator)) == len(set(cuts))
    runner.close()


def test_tool_call_arguments_are_handed_on_once(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    whole = keep_events(render("openai_responses", script((), tool_calls=[CALL], chunk_chars=2)))
    fragments_at = [i for i, e in enumerate(whole[1]) if b"function_call_arguments.delta" in e]
    assert len(fragments_at) > 6
    # Cut in the middle of argument fragments, three times.
    emulator.enqueue(script(tuple(fragments_at[1:6:2]), tool_calls=[CALL], chunk_chars=2))
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    events = runner.events("Tell me about the sea", model="gpt-4o-mini", background=True)
    fragments = "".join(e.delta for e in events if e.type == "tool_call_delta")
    assert json.loads(fragments) == CALL["arguments"]
    ends = [e.tool_call for e in events if e.type == "tool_call_end"]
    assert [(c.name, c.arguments) for c in ends] == [("note", CALL["arguments"])]


def test_leaving_early_cancels_the_kept_response(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    emulator.enqueue(script((), event_delay=0.01))
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    runner.first_chunk_then_break("hi", model="gpt-4o-mini", background=True)
    assert len(emulator.background.cancelled) == 1
    cancel = emulator.requests[-1]
    assert cancel.method == "POST" and cancel.path.endswith("/cancel")
    assert cancel.headers["authorization"] == "Bearer test-key"


def test_keep_background_leaves_it_running(make_runner: Any, emulator: Emulator) -> None:
    emulator.reset()
    emulator.enqueue(script((), event_delay=0.01))
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    options = {"keep_background": True}
    runner.first_chunk_then_break(
        "hi", model="gpt-4o-mini", background=True, streaming_options=options
    )
    assert emulator.background.cancelled == []
    assert [r.method for r in emulator.requests] == ["POST"]


def test_a_partial_response_is_picked_up_in_another_process(
    make_runner: Any, emulator: Emulator
) -> None:
    emulator.reset()
    # Cut after 20 events; every stream picked up again fails at once (a worker that
    # lost its network), so the call raises with the point to pick it up from.
    emulator.enqueue(script((20, 21, 22, 23)))
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    options = {"reconnect_delay": 0.0, "max_reconnect_attempts": 0}
    with pytest.raises(StreamInterruptedError) as caught:
        runner.response(
            "Tell me about the sea", model="gpt-4o-mini", background=True, streaming_options=options
        )
    partial = caught.value.partial_response
    assert partial is not None and partial.resume is not None
    shown = partial.text
    assert 0 < len(shown) < len(TEXT) and TEXT.startswith(shown)
    stored = partial.resume.model_dump_json()  # what a job queue would keep

    # A new process, on the blocking client or the asyncio one: the rest, once.
    program = f"""
import asyncio, json, sys
import steer_async, steer_sync
kwargs = dict(api_keys={{"openai": "test-key"}}, base_urls={json.dumps(emulator.base_urls)})
point = sys.argv[1]
if sys.argv[2] == "sync":
    client = steer_sync.SteerLLMClient(**kwargs)
    print(json.dumps("".join(client.stream(resume=point))))
else:
    async def main():
        async with steer_async.SteerLLMClient(**kwargs) as client:
            return "".join([c async for c in client.stream(resume=point)])
    print(json.dumps(asyncio.run(main())))
"""
    for kind in ("sync", "async"):
        done = subprocess.run(
            [sys.executable, "-c", program, stored, kind],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert shown + json.loads(done.stdout) == TEXT, kind
    gets = [r for r in emulator.requests if r.method == "GET"]
    assert gets[-1].query == "stream=true"  # from the start: the response is built whole


def test_resume_refuses_a_prompt_beside_it(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    point = ResumePoint(
        provider="openai",
        wire_format="openai_responses",
        model="openai/gpt-4o-mini",
        response_id="resp_x",
    )
    with pytest.raises(Exception, match="resume= picks up a kept stream"):
        runner.text("hi", resume=point)


def test_a_point_whose_model_and_stream_disagree_is_refused(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    forged = ResumePoint(
        provider="openai",
        wire_format="openai_responses",
        model="claude-sonnet-4-5",
        response_id="resp_x",
    )
    with pytest.raises(Exception, match="routes to anthropic"):
        runner.text(resume=forged)
