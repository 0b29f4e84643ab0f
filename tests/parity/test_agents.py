"""AgentRunner, blocking and async, against the emulator in every wire format: the guide's
factorial example, parallel calls, failing tools, bad arguments, the step budget,
cancellation while a tool runs, a provider error mid-loop, and the follow-up bodies."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel

import steer_async
import steer_async.agents.runner
import steer_sync
import steer_sync.agents.runner
from steer_common.agents import AgentDefinition, AgentEvent, AgentLoop, Tool, ToolResult
from steer_common.calls import prepare_session
from steer_common.errors import (
    BadRequestError,
    ConfigurationError,
    MaxStepsError,
    SteerError,
    ToolExecutionError,
)
from steer_sync.emulator import Emulator
from tests.fixtures import by_name, parse
from tests.parity.conftest import AsyncRunner, emulator, emulator_kwargs, emulator_prompt
from tests.parity.test_emulated_providers import MODELS

__all__ = ["emulator"]


def factorial(n: int) -> int:
    """Compute n factorial.

    Args:
        n: a non-negative integer.
    """
    return math.factorial(n)


AGENT = AgentDefinition(
    model="gpt-4o-mini",
    system_prompt="You are a careful calculator.",
    user_prompt="Calculate factorial of {n}",
    tools=[factorial],
)


def events_of(
    runner: Any, definition: AgentDefinition, *, limit: int = 8, **kwargs: Any
) -> tuple[list[AgentEvent], Any]:
    """Every event of a run, and the error that ended it (or ``None``)."""
    seen: list[AgentEvent] = []
    if isinstance(runner, AsyncRunner):
        agents = steer_async.agents.runner.AgentRunner(runner.client, max_concurrent_tools=limit)

        async def main() -> Any:
            try:
                async for event in agents.stream(definition=definition, **kwargs):
                    seen.append(event)
            except SteerError as exc:
                return exc
            return None

        return seen, runner.run(main())
    sync_agents = steer_sync.agents.runner.AgentRunner(runner.client, max_concurrent_tools=limit)
    try:
        for event in sync_agents.stream(definition=definition, **kwargs):
            seen.append(event)
    except SteerError as exc:
        return seen, exc
    finally:
        sync_agents.close()
    return seen, None


def last_body(emulator: Emulator) -> dict[str, Any]:
    return emulator.requests[-1].body  # type: ignore[no-any-return]


def tool_results_in(wire_format: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """(call id, result) pairs in a follow-up body, read the way each provider sends them."""
    if wire_format == "bedrock":
        return [
            (block["toolResult"]["toolUseId"], block["toolResult"]["content"][0]["text"])
            for message in body["messages"]
            if message["role"] == "user"
            for block in message["content"]
            if "toolResult" in block
        ]
    if wire_format in ("anthropic", "bedrock_anthropic"):
        return [
            (block["tool_use_id"], block["content"])
            for message in body["messages"]
            if message["role"] == "user" and isinstance(message["content"], list)
            for block in message["content"]
            if block.get("type") == "tool_result"
        ]
    if wire_format in ("openai_responses", "azure_responses"):
        return [
            (item["call_id"], item["output"])
            for item in body["input"]
            if item.get("type") == "function_call_output"
        ]
    if wire_format in ("gemini", "vertex_ai"):
        # By name: the Gemini API gives calls no id (the ones made up never go back).
        return [
            (part["functionResponse"]["name"], part["functionResponse"]["response"]["result"])
            for turn in body["contents"]
            for part in turn["parts"]
            if "functionResponse" in part
        ]
    return [(m["tool_call_id"], m["content"]) for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_the_guides_factorial_example(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    seen, error = events_of(runner, replace(AGENT, model=model), variables={"n": 10})
    assert error is None

    # The guide's loop, as written.
    printed = []
    for event in seen:
        if event.type == "delta":
            printed.append(event.delta)
        elif event.type == "tool_call":
            printed.append(f"[{event.metadata['tool']}]")
    assert printed[0] == "[factorial]" and "3628800" in "".join(printed)

    calls = [e for e in seen if e.type == "tool_call"]
    assert [(e.metadata["tool"], e.metadata["arguments"]) for e in calls] == [
        ("factorial", {"n": 10})
    ]
    results = [e for e in seen if e.type == "tool_result"]
    assert [r.metadata["output"] for r in results] == ["3628800"]
    # The result reached the model in its provider's own shape, quoting the call's id.
    quoted = "tool" if wire_format in ("gemini", "vertex_ai") else "id"
    assert tool_results_in(wire_format, last_body(emulator)) == [
        (calls[0].metadata[quoted], "3628800")
    ]

    kinds = [e.type for e in seen]
    assert kinds[-1] == "complete" and kinds.count("step") == 2 and kinds.count("usage") == 2
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("step")
    result = seen[-1].result
    assert "3628800" in result.output and result.text == result.output
    assert [s.index for s in result.steps] == [1, 2]
    steps_usage = [s.response.usage for s in result.steps]
    assert result.usage["total_tokens"] == sum(u["total_tokens"] for u in steps_usage)
    if all(s.response.cost_usd is not None for s in result.steps):
        assert result.cost_usd == pytest.approx(sum(s.response.cost_usd for s in result.steps))


def test_tool_schema_from_hints_and_docstring() -> None:
    spec = Tool.from_function(factorial).spec
    assert spec == {
        "name": "factorial",
        "description": "Compute n factorial.",
        "parameters": {
            "type": "object",
            "properties": {"n": {"type": "integer", "description": "a non-negative integer."}},
            "required": ["n"],
            "additionalProperties": False,
        },
    }
    explicit = Tool.from_function(
        lambda city: city.upper(),
        name="shout",
        parameters={
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    )
    assert explicit.validate({"city": "Oslo"}) == {"city": "Oslo"}
    with pytest.raises(ValueError, match="missing city"):
        explicit.validate({})


def test_a_missing_variable_is_a_clear_error() -> None:
    runner = steer_sync.agents.runner.AgentRunner(
        steer_sync.SteerLLMClient(api_keys={"openai": "k"})
    )
    with pytest.raises(ConfigurationError, match=r"needs the variable\(s\) n; given: m"):
        runner.stream(definition=AGENT, variables={"m": 1})


def ask(**script: Any) -> str:
    return emulator_prompt("Use the tools.", **script)


def two_calls(name: str, *arguments: dict[str, Any], after: str = "Done.") -> str:
    calls = [{"name": name, "arguments": a} for a in arguments]
    return ask(tool_calls=calls, after_tool={"text": after})


@pytest.mark.parametrize("wire_format", ["openai", "anthropic", "openai_responses"])
def test_parallel_tool_calls_run_at_once(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    if runner.kind == "sync":
        barrier = threading.Barrier(3, timeout=10)

        def meet(who: str) -> str:
            """Wait until all three calls run at once."""
            barrier.wait()  # raises BrokenBarrierError if the calls ran one by one
            return f"{who} met"

    else:
        arrived: list[str] = []
        everyone = asyncio.Event()

        async def meet(who: str) -> str:  # type: ignore[misc]
            """Wait until all three calls run at once."""
            arrived.append(who)
            if len(arrived) == 3:
                everyone.set()
            await asyncio.wait_for(everyone.wait(), 10)
            return f"{who} met"

    agent = AgentDefinition(
        model=model,
        user_prompt=two_calls("meet", {"who": "a"}, {"who": "b"}, {"who": "c"}),
        tools=[meet],
    )
    seen, error = events_of(runner, agent)
    assert error is None
    results = [e.metadata["output"] for e in seen if e.type == "tool_result"]
    assert sorted(results) == ["a met", "b met", "c met"]
    # Sent back in the order of the calls, whatever order they finished in.
    ids = [e.metadata["id"] for e in seen if e.type == "tool_call"]
    assert tool_results_in(wire_format, last_body(emulator)) == list(
        zip(ids, ["a met", "b met", "c met"], strict=True)
    )


def test_no_more_tool_calls_run_at_once_than_the_limit(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    lock = threading.Lock()
    now = [0]
    most = [0]

    def track(change: int) -> None:
        with lock:
            now[0] += change
            most[0] = max(most[0], now[0])

    if runner.kind == "sync":

        def slow(who: str) -> str:
            """Takes a while."""
            track(1)
            time.sleep(0.05)
            track(-1)
            return who

    else:

        async def slow(who: str) -> str:  # type: ignore[misc]
            """Takes a while."""
            track(1)
            await asyncio.sleep(0.05)
            track(-1)
            return who

    calls = [{"who": w} for w in "abcdef"]
    agent = AgentDefinition(
        model="gpt-4o-mini", user_prompt=two_calls("slow", *calls), tools=[slow]
    )
    seen, error = events_of(runner, agent, limit=2)
    assert error is None
    assert sorted(e.metadata["output"] for e in seen if e.type == "tool_result") == list("abcdef")
    assert most[0] == 2  # both runners: at most the limit at once, and the limit used


def broken(n: int) -> int:
    """Always fails."""
    raise ValueError(f"no luck with {n}")


def test_a_tool_that_raises_is_reported_to_the_model(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    agent = AgentDefinition(
        model="gpt-4o-mini", user_prompt="Please call broken with 7", tools=[broken]
    )
    seen, error = events_of(runner, agent)
    assert error is None
    result = next(e for e in seen if e.type == "tool_result")
    assert result.metadata["is_error"] and "ValueError: no luck with 7" in result.metadata["output"]
    assert (
        tool_results_in("openai", last_body(emulator))[0][1]
        == "tool broken raised ValueError: no luck with 7"
    )
    assert "no luck with 7" in seen[-1].result.output  # the model read it


def test_a_tool_that_raises_can_end_the_run(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    agent = AgentDefinition(
        model="gpt-4o-mini",
        user_prompt="Please call broken with 7",
        tools=[broken],
        tool_errors="raise",
    )
    seen, error = events_of(runner, agent)
    assert isinstance(error, ToolExecutionError) and error.tool == "broken"
    assert isinstance(error.__cause__, ValueError)
    assert len(error.agent_steps) == 1 and error.agent_steps[0].response.tool_calls
    assert seen[-1].type == "error" and seen[-1].error is error


def test_invalid_arguments_go_back_to_the_model(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    called: list[int] = []

    def record(n: int) -> int:
        """Records n."""
        called.append(n)
        return n

    agent = AgentDefinition(
        model="gpt-4o-mini",
        user_prompt=ask(tool_calls=[{"name": "record", "arguments": {"n": "ten"}}]),
        tools=[record],
    )
    seen, error = events_of(runner, agent)
    assert error is None and called == []  # never called with what did not validate
    output = next(e for e in seen if e.type == "tool_result").metadata["output"]
    assert output.startswith("invalid arguments for record: n: Input should be a valid integer")
    assert tool_results_in("openai", last_body(emulator))[0][1] == output


def test_max_steps_reached(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator, "responses"))
    agent = replace(AGENT, model="gpt-5-mini", max_steps=1)
    seen, error = events_of(runner, agent, variables={"n": 5})
    assert isinstance(error, MaxStepsError) and "max_steps=1" in str(error)
    assert len(error.agent_steps) == 1
    assert [e.type for e in seen][-1] == "error"
    assert not [e for e in seen if e.type == "tool_result"]  # the calls were not run


@pytest.mark.parametrize("wire_format", ["openai", "anthropic"])
def test_a_provider_error_mid_loop_keeps_the_steps(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    prompt = ask(
        tool_calls=[{"name": "factorial", "arguments": {"n": 4}}],
        after_tool={"status": 400, "fail_times": 1000},
    )
    agent = AgentDefinition(model=model, user_prompt=prompt, tools=[factorial])
    seen, error = events_of(runner, agent)
    assert isinstance(error, BadRequestError)
    assert [s.index for s in error.agent_steps] == [1]
    assert error.agent_steps[0].tool_results[0].output == "24"
    assert [e.type for e in seen][-2:] == ["step", "error"]


class Answer(BaseModel):
    value: int


def test_a_final_answer_in_a_response_format(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = ask(
        tool_calls=[{"name": "factorial", "arguments": {"n": 5}}],
        after_tool={"text": '{"value": 120}'},
    )
    agent = AgentDefinition(
        model="gpt-4o-mini", user_prompt=prompt, tools=[factorial], response_format=Answer
    )
    seen, error = events_of(runner, agent)
    assert error is None and seen[-1].result.output == Answer(value=120)


def test_cancelling_the_task_cancels_a_running_tool(emulator: Emulator) -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def slow(n: int) -> int:
        """Takes forever."""
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return n

    agent = AgentDefinition(model="gpt-4o-mini", user_prompt="Run slow with 3", tools=[slow])

    async def main() -> None:
        client = steer_async.SteerLLMClient(**emulator_kwargs(emulator))
        runner = steer_async.agents.runner.AgentRunner(client)

        async def consume() -> None:
            async for _ in runner.stream(definition=agent):
                pass

        task = asyncio.ensure_future(consume())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.aclose()

    asyncio.run(main())
    assert cancelled == [True]


def test_closing_the_generator_does_not_wait_for_a_running_tool(emulator: Emulator) -> None:
    release = threading.Event()
    finished: list[str] = []

    def fast(who: str) -> str:
        """Returns at once."""
        return who

    def slow(who: str) -> str:
        """Waits to be released."""
        release.wait(30)
        finished.append(who)
        return who

    calls = [
        {"name": "fast", "arguments": {"who": "f"}},
        {"name": "slow", "arguments": {"who": "s"}},
    ]
    agent = AgentDefinition(
        model="gpt-4o-mini", user_prompt=ask(tool_calls=calls), tools=[fast, slow]
    )
    client = steer_sync.SteerLLMClient(**emulator_kwargs(emulator))
    runner = steer_sync.agents.runner.AgentRunner(client)
    stream = runner.stream(definition=agent)
    for event in stream:
        if event.type == "tool_result":
            stream.close()  # while slow still runs
            break
    assert finished == []  # closed without waiting for it
    release.set()
    runner.close()
    client.close()


# -- the follow-up bodies, against the recorded tool-call streams ----------------------------

RECORDED_CALLS = {
    "openai/chat-parallel-tool-calls": ("gpt-4o-mini", "chat"),
    "openai/responses-function-call": ("gpt-4o-mini", "responses"),
    "anthropic/thinking-tool-use": ("claude-sonnet-4-5", "chat"),
    "xai/grok-4-fast-parallel-tool-calls": ("grok-4-fast", "chat"),
    "gemini/parallel-function-calls-2.5-flash": ("gemini-2.5-flash", "chat"),
    "gemini/thinking-function-call-3-pro": ("gemini-3-pro-preview", "chat"),
}


@pytest.mark.parametrize("name", sorted(RECORDED_CALLS))
def test_follow_up_bodies_have_each_providers_documented_shape(name: str) -> None:
    fixture = by_name(name)
    _, response, error = parse(fixture)
    assert error is None and response.tool_calls
    model, api = RECORDED_CALLS[name]
    loop = AgentLoop(AgentDefinition(model=model, user_prompt="go"))
    assert loop.step_finished(response) == response.tool_calls  # the recording is step 1
    loop.add_results([ToolResult(c, f"result {i}") for i, c in enumerate(response.tool_calls)])
    session = prepare_session(
        loop.messages,
        model=model,
        api_keys=dict.fromkeys(["openai", "anthropic", "xai", "gemini"], "k"),
        base_urls=None,
        environ={},
        openai_api=api,
        streaming_options=None,
        response_format=None,
        tools=None,
        temperature=None,
        max_tokens=None,
        extras={},
        consumer="events",
    )
    body = session.request.json()
    ids = [c.id for c in response.tool_calls]
    if fixture.wire_format == "anthropic":
        assistant, results = body["messages"][1], body["messages"][2]
        kinds = [b["type"] for b in assistant["content"]]
        # Thinking (with its signature) first, then the tool_use blocks, as recorded.
        assert kinds[0] == "thinking" and assistant["content"][0]["signature"]
        assert assistant["content"][0]["thinking"] == response.reasoning
        uses = [b for b in assistant["content"] if b["type"] == "tool_use"]
        assert [(u["id"], u["name"], u["input"]) for u in uses] == [
            (c.id, c.name, c.arguments) for c in response.tool_calls
        ]
        assert results["role"] == "user"
        assert [(b["type"], b["tool_use_id"]) for b in results["content"]] == [
            ("tool_result", i) for i in ids
        ]
    elif fixture.wire_format == "gemini":
        user, model_turn, results = body["contents"]
        assert user == {"role": "user", "parts": [{"text": "go"}]}
        assert model_turn["role"] == "model"
        calls = [p["functionCall"] for p in model_turn["parts"]]
        assert [(c["name"], c["args"]) for c in calls] == [
            (c.name, c.arguments) for c in response.tool_calls
        ]
        # Each call's signature goes back on its part (Gemini 3 refuses a turn without).
        assert [p.get("thoughtSignature") for p in model_turn["parts"]] == [
            c.signature for c in response.tool_calls
        ]
        assert model_turn["parts"][0]["thoughtSignature"]
        # Ids the API gave go back; ids made up for it (gemini-call-N) do not.
        given = [c.id if not c.id.startswith("gemini-call-") else None for c in response.tool_calls]
        assert [c.get("id") for c in calls] == given
        assert results["role"] == "user"
        assert [
            (r["functionResponse"]["name"], r["functionResponse"]["response"])
            for r in results["parts"]
        ] == [(c.name, {"result": f"result {n}"}) for n, c in enumerate(response.tool_calls)]
    elif fixture.wire_format in ("openai_responses", "azure_responses"):
        items = body["input"]
        calls = [i for i in items if i.get("type") == "function_call"]
        outputs = [i for i in items if i.get("type") == "function_call_output"]
        assert [(c["call_id"], c["name"], json.loads(c["arguments"])) for c in calls] == [
            (c.id, c.name, c.arguments) for c in response.tool_calls
        ]
        assert [(o["call_id"], o["output"]) for o in outputs] == [
            (i, f"result {n}") for n, i in enumerate(ids)
        ]
    else:
        assistant = body["messages"][1]
        assert assistant["role"] == "assistant"
        assert [
            (t["id"], t["type"], t["function"]["name"], json.loads(t["function"]["arguments"]))
            for t in assistant["tool_calls"]
        ] == [(c.id, "function", c.name, c.arguments) for c in response.tool_calls]
        tools = body["messages"][2:]
        assert [(m["role"], m["tool_call_id"], m["content"]) for m in tools] == [
            ("tool", i, f"result {n}") for n, i in enumerate(ids)
        ]
        assert all("is_error" not in m for m in tools)


def test_templates_fill_variables_and_leave_other_braces() -> None:
    agent = AgentDefinition(
        model="gpt-4o-mini",
        system_prompt="Answer as {persona}.",
        user_prompt='Reply like {"n": {n}} and write {{n}} literally.',
    )
    assert agent.messages({"persona": "a pirate", "n": 3}) == [
        {"role": "system", "content": "Answer as a pirate."},
        {"role": "user", "content": 'Reply like {"n": 3} and write {n} literally.'},
    ]


def test_leaving_a_run_mid_reply_closes_the_connection_at_once(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    slow = ask(text="word " * 400, chunk_chars=5, event_delay=0.02)
    agent = AgentDefinition(model="gpt-4o-mini", user_prompt=slow)
    disconnects = emulator.disconnects
    if isinstance(runner, AsyncRunner):
        agents = steer_async.agents.runner.AgentRunner(runner.client)

        async def main() -> None:
            stream = agents.stream(definition=agent)
            async for event in stream:
                if event.type == "delta":
                    break
            await stream.aclose()  # what leaving an `async for` early should be followed by

        runner.run(main())
    else:
        for event in steer_sync.agents.runner.AgentRunner(runner.client).stream(definition=agent):
            if event.type == "delta":
                break
    assert emulator.wait_for_disconnect(disconnects + 1, timeout=3)
