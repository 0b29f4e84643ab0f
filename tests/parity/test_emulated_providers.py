"""Both clients against the emulator, every provider format: text, reasoning, parallel tool
calls, usage arithmetic, the deprecated ``return_usage`` path, ``stream_events``."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt

MODELS = {
    "openai": ("gpt-4o-mini", "chat"),
    "openai_responses": ("gpt-5-mini", "responses"),
    "anthropic": ("claude-sonnet-5", "chat"),
    "xai": ("grok-3-mini", "chat"),
    "openai_compatible": ("openai_compatible/deepseek-r1", "chat"),
    "gemini": ("gemini-2.5-flash", "chat"),
    "vertex_ai": ("vertex_ai/gemini-2.5-flash", "chat"),
    "azure": ("azure/gpt-4.1-mini", "chat"),
    "azure_responses": ("azure/gpt-5-mini", "responses"),
    "bedrock": ("bedrock/us.amazon.nova-micro-v1:0", "chat"),
    "bedrock_anthropic": ("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", "chat"),
}
# Where each format streams reasoning text (OpenAI Chat Completions never does).
STREAMS_REASONING = {
    "openai_responses",
    "anthropic",
    "xai",
    "openai_compatible",
    "gemini",
    "vertex_ai",
    "azure_responses",
    "bedrock",
    "bedrock_anthropic",
}
TOOL = {"name": "lookup", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}


def ask(**script: Any) -> str:
    return emulator_prompt("question", **script)


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_text_reasoning_tools_and_usage(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    prompt = ask(
        reasoning="Think first.",
        text="Two lookups.",
        tool_calls=[
            {"name": "lookup", "arguments": {"q": "a"}},
            {"name": "lookup", "arguments": {"q": "b b"}},
        ],
        prompt_tokens=120,
        cached_tokens=100,
        completion_tokens=40,
        reasoning_tokens=12,
        chunk_chars=2,
    )
    response = runner.response(prompt, model=model, tools=[TOOL])
    assert response.text == "Two lookups."
    assert (response.reasoning or "") == (
        "Think first." if wire_format in STREAMS_REASONING else ""
    )
    assert [(c.name, c.arguments) for c in response.tool_calls] == [
        ("lookup", {"q": "a"}),
        ("lookup", {"q": "b b"}),
    ]
    assert all(c.id for c in response.tool_calls)
    assert response.finish_reason == "tool_calls" and response.complete
    usage = response.usage
    assert usage is not None
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["total_tokens"]) == (
        120,
        40,
        160,
    )
    assert usage["cache_info"]["cached_tokens"] == 100
    if wire_format not in ("anthropic", "bedrock"):  # Converse reports none apart
        assert usage["reasoning_tokens"] == 12
    events = runner.events(prompt, model=model, tools=[TOOL])
    assert "".join(e.delta or "" for e in events if e.type == "text_delta") == response.text
    ended = [e.tool_call for e in events if e.type == "tool_call_end"]
    assert [(c.name, c.arguments) for c in ended if c] == [
        (c.name, c.arguments) for c in response.tool_calls
    ]
    assert events[0].type == "stream_start" and events[-1].type == "stream_end"


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_the_deprecated_return_usage_path(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = runner.client.stream(ask(text="kept"), model=model, return_usage=True)
        if runner.kind != "sync":
            result = runner.run(result)
    assert result.get_text() == "kept" and result.usage["total_tokens"] > 0
    assert [w.category for w in caught] == [DeprecationWarning]


@pytest.mark.parametrize("wire_format", ["openai", "anthropic"])
def test_a_prompt_given_as_messages_or_keywords(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    messages = [{"role": "system", "content": "terse"}, {"role": "user", "content": "hello"}]
    assert "".join(runner.text(messages=messages, model=model)) == "Echo: hello"
    assert "".join(runner.text(prompt="hello", model=model)) == "Echo: hello"
    assert "".join(runner.text("hello", model)) == "Echo: hello"  # model positionally, as the guide


@pytest.mark.parametrize(
    ("wire_format", "extras", "words"),
    [
        ("openai", {"penalty": 0.5}, "Unrecognized request argument supplied: penalty"),
        ("openai_responses", {"penalty": 0.5}, "Unknown parameter: 'penalty'."),
        ("anthropic", {"penalty": 0.5}, "penalty: Extra inputs are not permitted"),
        ("xai", {"penalty": 0.5}, "Unrecognized request argument supplied: penalty"),
        ("openai", {"max_tokens": -3}, "Invalid 'max_completion_tokens': integer below minimum"),
        ("anthropic", {"top_k": "ten"}, "top_k: Input should be a valid integer"),
        (
            "gemini",
            {"penalty": 0.5},
            'Invalid JSON payload received. Unknown name "penalty": Cannot find field.',
        ),
        (
            "bedrock",
            {"penalty": 0.5},
            "Malformed input request: extraneous key [penalty] is not permitted",
        ),
    ],
)
def test_the_emulator_refuses_what_the_api_refuses(
    make_runner: Any, emulator: Emulator, wire_format: str, extras: dict[str, Any], words: str
) -> None:
    from steer_common.errors import BadRequestError

    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    with pytest.raises(BadRequestError) as caught:
        # Extras are sent as they are (a near miss of an argument, temprature=, is refused
        # by the client before anything is sent: test_options.py).
        runner.response("hi", model=model, **extras)
    assert caught.value.status_code == 400 and words in str(caught.value)


def test_a_message_without_content_is_refused(make_runner: Any, emulator: Emulator) -> None:
    from steer_common.errors import BadRequestError

    runner = make_runner(**emulator_kwargs(emulator))
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant"},
        {"role": "user", "content": "and?"},
    ]
    with pytest.raises(
        BadRequestError, match=r"Missing required parameter: 'messages\[1\].content'"
    ):
        runner.response(messages=messages, model="gpt-4o-mini")


SYSTEM_AT = {  # where each format takes a system prompt (its API reference)
    "openai": lambda b: b["messages"][0],
    "xai": lambda b: b["messages"][0],
    "openai_compatible": lambda b: b["messages"][0],
    "azure": lambda b: b["messages"][0],
    "openai_responses": lambda b: b["input"][0],
    "azure_responses": lambda b: b["input"][0],
    "anthropic": lambda b: b["system"],
    "bedrock_anthropic": lambda b: b["system"],
    "bedrock": lambda b: b["system"],
    "gemini": lambda b: b["systemInstruction"],
    "vertex_ai": lambda b: b["systemInstruction"],
}
SYSTEM_SHAPE = {
    "openai": {"role": "system", "content": "Be brief."},
    "openai_responses": {"role": "system", "content": "Be brief."},
    "anthropic": [{"type": "text", "text": "Be brief."}],
    "bedrock": [{"text": "Be brief."}],
    "gemini": {"parts": [{"text": "Be brief."}]},
}
SYSTEM_SHAPE.update(
    xai=SYSTEM_SHAPE["openai"],
    openai_compatible=SYSTEM_SHAPE["openai"],
    azure=SYSTEM_SHAPE["openai"],
    azure_responses=SYSTEM_SHAPE["openai_responses"],
    bedrock_anthropic=SYSTEM_SHAPE["anthropic"],
    vertex_ai=SYSTEM_SHAPE["gemini"],
)


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_system_works_on_every_provider(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    # system= went into the body as is: Anthropic took it, OpenAI answered 400.
    from steer_common.errors import ConfigurationError

    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    response = runner.response("Say hi", model=model, system="Be brief.")
    assert response.text == "Echo: Say hi"
    assert SYSTEM_AT[wire_format](emulator.requests[-1].body) == SYSTEM_SHAPE[wire_format]
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": "hi"}]
    with pytest.raises(ConfigurationError, match="give one"):
        runner.response(messages=messages, model=model, system="Be brief.")


def test_a_client_default_model(emulator: Emulator) -> None:
    import asyncio

    import steer_async
    import steer_sync

    kwargs = emulator_kwargs(emulator)
    with steer_sync.SteerLLMClient(model="claude-sonnet-5", **kwargs) as client:
        assert "".join(client.stream("Say hi")) == "Echo: Say hi"
        assert client.stream_with_usage("hi", model="gpt-4o-mini").model.startswith("gpt-4o")
        results = list(client.batch(["a", "b"]))
        assert sorted(r.response.text for r in results) == ["Echo: a", "Echo: b"]

    async def main() -> str:
        async with steer_async.SteerLLMClient(model="grok-4-fast", **kwargs) as client:
            return (await client.stream_with_usage("Say hi")).text

    assert asyncio.run(main()) == "Echo: Say hi"
    assert emulator.requests[-1].path.endswith("/chat/completions")


STOP_AT = {  # where each format takes stop sequences (its API reference)
    "openai": lambda b: b["stop"],
    "xai": lambda b: b["stop"],
    "openai_compatible": lambda b: b["stop"],
    "azure": lambda b: b["stop"],
    "anthropic": lambda b: b["stop_sequences"],
    "bedrock_anthropic": lambda b: b["stop_sequences"],
    "bedrock": lambda b: b["inferenceConfig"]["stopSequences"],
    "gemini": lambda b: b["generationConfig"]["stopSequences"],
    "vertex_ai": lambda b: b["generationConfig"]["stopSequences"],
}


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_stop_works_on_every_provider_that_takes_it(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    # stop= went into the body as is: Anthropic answered 400 (it calls them stop_sequences).
    from steer_common.errors import ConfigurationError

    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    sent = len(emulator.requests)
    if wire_format not in STOP_AT:  # the Responses API has no stop sequences
        with pytest.raises(ConfigurationError, match="takes no stop sequences"):
            runner.response("Say hi", model=model, stop=["\n\n"])
        assert len(emulator.requests) == sent
        return
    assert runner.response("Say hi", model=model, stop=["\n\n", "END"]).text == "Echo: Say hi"
    assert STOP_AT[wire_format](emulator.requests[-1].body) == ["\n\n", "END"]
    runner.response("Say hi", model=model, stop="END")  # one, as a string
    assert STOP_AT[wire_format](emulator.requests[-1].body) == ["END"]


def test_stop_and_system_fit_the_official_sdks_request_types(emulator: Emulator) -> None:
    # The bodies validate against the request types the official SDKs ship.
    import pydantic
    from anthropic.types.message_create_params import MessageCreateParamsStreaming
    from openai.types.chat.completion_create_params import CompletionCreateParamsStreaming

    import steer_sync

    client = steer_sync.SteerLLMClient(**emulator_kwargs(emulator))
    for model, params in (
        ("gpt-4o-mini", CompletionCreateParamsStreaming),
        ("claude-sonnet-5", MessageCreateParamsStreaming),
    ):
        client.stream_with_usage("Say hi", model=model, system="Be brief.", stop=["END"])
        body = emulator.requests[-1].body
        pydantic.TypeAdapter(params).validate_python(body, strict=False)
        assert set(body) <= set(params.__annotations__) | set(params.__optional_keys__)
    client.close()


@pytest.mark.parametrize(
    ("wire_format", "typo"),
    [
        ("openai", "gpt-4o-mimi"),
        ("openai_responses", "gpt-5-mimi"),
        ("anthropic", "claude-sonet-4"),
        ("xai", "grok-4-fsat"),
        ("gemini", "gemini-2.5-flsh"),
        ("bedrock", "bedrock/us.amazon.nova-mikro-v1:0"),
    ],
)
def test_a_mistyped_model_is_a_not_found_error_as_the_api_answers(
    make_runner: Any, emulator: Emulator, wire_format: str, typo: str
) -> None:
    # The emulator streamed for any name: a typo passed its tests and failed in production.
    from steer_common.errors import NotFoundError

    _, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    with pytest.raises(NotFoundError) as caught:
        runner.response("hi", model=typo)
    assert caught.value.status_code == 404
    assert typo.rpartition("/")[2] in str(caught.value)


def test_custom_model_names_pass_where_they_are_the_callers_own(make_runner: Any) -> None:
    # Azure deployments, compatible servers and fine-tunes name their own models; and an
    # emulator can take any name (Emulator(any_model=True), python -m steer_emulator --any-model).
    with Emulator(lifetime=60) as strict, Emulator(lifetime=60, any_model=True) as lenient:
        runner = make_runner(**emulator_kwargs(strict))
        assert runner.response("hi", model="azure/my-deployment").text == "Echo: hi"
        assert runner.response("hi", model="openai_compatible/llama-local").text == "Echo: hi"
        assert runner.response("hi", model="openai/ft:gpt-4o-mini:org::abc").text == "Echo: hi"
        runner = make_runner(**emulator_kwargs(lenient))
        assert runner.response("hi", model="openai/my-own-model").text == "Echo: hi"


@pytest.mark.parametrize("wire_format", ["gemini", "vertex_ai", "openai", "anthropic", "bedrock"])
def test_prompt_tokens_grow_with_the_prompt_on_every_format(
    make_runner: Any, emulator: Emulator, wire_format: str
) -> None:
    # Gemini and Vertex reported promptTokenCount 1 whatever the prompt.
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    prompt = "word " * 20_000 + '[[emulator:{"text": "ok"}]]'
    usage = runner.response(prompt, model=model).usage
    assert usage["prompt_tokens"] >= 20_000
    assert usage["provenance"]["prompt_tokens"] == "reported"


def test_tool_arguments_take_the_prompts_numbers_in_order(
    make_runner: Any, emulator: Emulator
) -> None:
    # "Use add on 2 and 3" called add {'a': 2, 'b': 2}.
    runner = make_runner(**emulator_kwargs(emulator))
    add = {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    }
    response = runner.response("Use add on 2 and 3", model="gpt-4o-mini", tools=[add])
    (call,) = response.tool_calls
    assert (call.name, call.arguments) == ("add", {"a": 2, "b": 3})


@pytest.mark.parametrize(
    ("wire_format", "where"),
    [
        ("gemini", lambda b: b["contents"][0]["parts"][1]),
        ("bedrock", lambda b: b["messages"][0]["content"][1]),
        ("anthropic", lambda b: b["messages"][0]["content"][1]),
        ("bedrock_anthropic", lambda b: b["messages"][0]["content"][1]),
    ],
)
def test_an_image_reaches_the_providers_that_dropped_it(
    make_runner: Any, emulator: Emulator, wire_format: str, where: Any
) -> None:
    # An image sent to Gemini or Bedrock went out as nothing, without a word.
    model, api = MODELS[wire_format]
    runner = make_runner(**emulator_kwargs(emulator, api))
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "Describe this"}, image]}]
    assert runner.response(messages=messages, model=model).text == "Echo: Describe this"
    sent = json.dumps(where(emulator.requests[-1].body))
    assert "iVBORw0KGgo=" in sent and "image" in sent.lower()


def test_a_part_xai_cannot_take_is_refused_with_nothing_sent(
    make_runner: Any, emulator: Emulator
) -> None:
    # An input_audio part went out to xAI as given, for its server to reject: now it is
    # refused by the client, naming the part and the provider, before any request.
    from steer_common.errors import ConfigurationError

    model, api = MODELS["xai"]
    runner = make_runner(**emulator_kwargs(emulator, api))
    audio = {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "Transcribe."}, audio]}]
    sent = len(emulator.requests)
    with pytest.raises(ConfigurationError, match=r"xai Chat Completions cannot take an audio"):
        runner.response(messages=messages, model=model)
    with pytest.raises(ConfigurationError, match=r"xai Chat Completions cannot take an audio"):
        runner.text(messages=messages, model=model)
    assert len(emulator.requests) == sent
    # A part it takes goes out as given.
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "Describe."}, image]}]
    assert runner.response(messages=messages, model=model).complete
    assert len(emulator.requests) == sent + 1
    assert emulator.requests[-1].body["messages"][0]["content"][1] == image
