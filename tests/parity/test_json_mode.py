"""JSON mode end to end, in both clients, against the emulator, for every provider format."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from pydantic import BaseModel

from steer_common import JSON_MODE_OPTIONS, StreamingOptions
from steer_common.errors import JSONModeError
from steer_common.following import COPIES_PER_CHAR
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt

MODELS = [
    ("gpt-4o-mini", "chat"),
    ("gpt-5-mini", "responses"),
    ("claude-sonnet-5", "chat"),
    ("grok-4-fast", "chat"),
    ("gemini-2.5-flash", "chat"),
    ("azure/prod-chat", "chat"),
    ("bedrock/us.amazon.nova-micro-v1:0", "chat"),
    ("bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0", "chat"),
]


class City(BaseModel):
    name: str
    population: int
    coastal: bool
    districts: list[str]


def ask(**script: Any) -> str:
    return emulator_prompt("Answer in JSON.", **script)


@pytest.mark.parametrize(("model", "api"), MODELS)
def test_json_object_with_partial_values(
    make_runner: Any, emulator: Emulator, model: str, api: str
) -> None:
    document = {
        "name": "Lisbon",
        "tags": ["sea", "hills"],
        "score": 9.5,
        "open": True,
        "extra": None,
    }
    runner = make_runner(**emulator_kwargs(emulator, api))
    events = runner.events(
        ask(text=json.dumps(document), chunk_chars=4, event_delay=0.005),  # several reads
        model=model,
        response_format={"type": "json_object"},
        streaming_options=JSON_MODE_OPTIONS,
    )
    partials = [e.metadata["value"] for e in events if e.type == "json_partial"]
    assert len(partials) > 3
    assert partials[-1] == document
    # Each partial value is a prefix of the next: keys only appear, strings only grow.
    for earlier, later in itertools.pairwise(partials):
        assert set(earlier) <= set(later)
    response = runner.response(
        ask(text=json.dumps(document)),
        model=model,
        response_format={"type": "json_object"},
        streaming_options=JSON_MODE_OPTIONS,
    )
    assert response.get_json() == document


@pytest.mark.parametrize(("model", "api"), MODELS)
def test_a_pydantic_model_gives_a_validated_instance(
    make_runner: Any, emulator: Emulator, model: str, api: str
) -> None:
    runner = make_runner(**emulator_kwargs(emulator, api))
    response = runner.response(
        "Describe a city.", model=model, response_format=City, streaming_options=JSON_MODE_OPTIONS
    )
    city = response.get_json()
    assert isinstance(city, City)
    body = emulator.requests[-1].body
    if "amazon.nova" in model:  # Converse has no JSON mode: the schema is an instruction
        (instruction,) = body["system"]
        assert (
            json.loads(instruction["text"].split("JSON schema: ", 1)[1]) == City.model_json_schema()
        )
        return
    schema_holder = json.dumps(body)
    assert '"population"' in schema_holder  # the schema went in the provider's native field
    if "claude" in model:
        assert body["output_config"]["format"]["type"] == "json_schema"
    elif api == "responses":
        assert body["text"]["format"]["type"] == "json_schema" and body["text"]["format"]["strict"]
    elif "gemini" in model:
        config = body["generationConfig"]
        assert config["responseMimeType"] == "application/json"
        assert config["responseJsonSchema"]["properties"]["population"]
    else:
        assert body["response_format"]["json_schema"]["name"] == "City"


@pytest.mark.parametrize(("model", "api"), MODELS)
def test_invalid_json_fails_fast_at_the_first_bad_character(
    make_runner: Any, emulator: Emulator, model: str, api: str
) -> None:
    runner = make_runner(**emulator_kwargs(emulator, api))
    bad = '{"answer": 42, "note": oops, "rest": "' + "x" * 200 + '"}'
    started = time.monotonic()
    with pytest.raises(JSONModeError) as info:
        runner.text(
            ask(text=bad, chunk_chars=5, pause_after_events=12, pause_seconds=5),
            model=model,
            response_format={"type": "json_object"},
            streaming_options=JSON_MODE_OPTIONS,
        )
    assert time.monotonic() - started < 3  # long before the 5 s pause ends: failed fast
    error = info.value
    assert error.position == bad.index("oops")
    assert '"note": o' in error.snippet  # the text around it, as far as it had arrived
    assert error.partial_response is not None
    assert error.partial_response.text.startswith('{"answer": 42, "note": o')


@pytest.mark.parametrize(("model", "api"), MODELS[:3])
def test_invalid_json_is_not_retried(
    make_runner: Any, emulator: Emulator, model: str, api: str
) -> None:
    # Invalid JSON is the model's output, not the connection's: a reply cut by max_tokens
    # fails the same way every time, so another generation would be billed for nothing.
    # stream_with_usage hands nothing on before the end, and used to send it 4 times.
    runner = make_runner(**emulator_kwargs(emulator, api))
    bad = '{"items": [' + ", ".join(str(i) for i in range(40)) + "] oops}"
    sent = len(emulator.requests)
    with pytest.raises(JSONModeError) as info:
        runner.response(
            ask(text=bad, chunk_chars=2),
            model=model,
            response_format={"type": "json_object"},
            streaming_options=JSON_MODE_OPTIONS,
        )
    assert len(emulator.requests) - sent == 1
    error = info.value
    assert error.position == bad.index("oops")
    assert error.partial_response is not None
    (attempt,) = error.partial_response.attempts
    assert attempt.error is not None and attempt.error.startswith("JSONModeError")


def test_without_validation_invalid_json_streams_on(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator, "chat"))
    options = StreamingOptions(enable_json_stream_handler=True)
    response = runner.response(
        ask(text="Sure! {not json}"), model="gpt-4o-mini", streaming_options=options
    )
    assert response.text == "Sure! {not json}"
    with pytest.raises(JSONModeError, match="offset 0"):
        response.get_json()


def test_partials_of_a_wide_array_stay_linear(make_runner: Any, emulator: Emulator) -> None:
    # A json_partial is a snapshot, which copies the open containers: a read of a few
    # characters into an array of hundreds of members would copy them all, every read.
    # A new snapshot is due once the reply brought a character per COPIES_PER_CHAR open
    # members, so all the snapshots together copy at most that many per character.
    document = {"xs": [7] * 1500}
    text = json.dumps(document, separators=(",", ":"))
    runner = make_runner(**emulator_kwargs(emulator, "chat"))
    events = runner.events(
        ask(text=text, chunk_chars=4, event_delay=0.0005),
        model="gpt-4o-mini",
        response_format={"type": "json_object"},
        streaming_options=JSON_MODE_OPTIONS,
    )
    partials = [e.metadata["value"] for e in events if e.type == "json_partial"]
    assert partials[-1] == document
    widths = [len((p or {}).get("xs", [])) for p in partials[:-1]]
    assert sum(widths) <= COPIES_PER_CHAR * len(text)
    # Still a partial every few reads while the array is narrow, and all the way through.
    assert len(partials) > 60
    assert any(200 < w < 1300 for w in widths)
    assert all(later >= earlier for earlier, later in itertools.pairwise(widths))


def test_tool_call_deltas_carry_partial_arguments(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator, "chat"))
    script = {
        "tool_calls": [{"name": "lookup", "arguments": {"query": "weather in Paris", "days": 3}}],
        "chunk_chars": 4,
    }
    tool = {
        "name": "lookup",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string"}, "days": {"type": "integer"}},
        },
    }
    events = runner.events(
        ask(**script), model="claude-sonnet-5", tools=[tool], streaming_options=JSON_MODE_OPTIONS
    )
    partials = [e.metadata["partial_arguments"] for e in events if e.type == "tool_call_delta"]
    assert partials[-1] == {"query": "weather in Paris", "days": 3}
    assert any(
        p.get("query", "").startswith("weather") and p["query"] != "weather in Paris"
        for p in partials
        if p
    )
