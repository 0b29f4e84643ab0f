"""Typed partial output in both clients, against the emulator, in every wire format:
``partial_output`` events carrying valid partial instances, the complete instance last,
``stream_output()``, the throttles, and typed tool-call arguments."""

from __future__ import annotations

import itertools
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from steer_common.errors import ConfigurationError, JSONModeError
from steer_common.partial import partial_model
from steer_sync.emulator import Emulator
from tests.parity.conftest import AsyncRunner, emulator_kwargs, emulator_prompt
from tests.parity.test_json_mode import MODELS


class Line(BaseModel):
    sku: str
    quantity: int
    unit: Literal["each", "kg"]


class Address(BaseModel):
    street: str
    city: str
    postcode: str | None = None


class Order(BaseModel):
    id: int
    customer: str
    lines: list[Line]
    ship_to: Address
    notes: list[str] = []
    gift: bool = False


ORDER = {
    "id": 4711,
    "customer": "Ada Lovelace — Ockham Park ✓",
    "lines": [
        {"sku": "TEA-1", "quantity": 3, "unit": "each"},
        {"sku": "SUGAR", "quantity": 2, "unit": "kg"},
    ],
    "ship_to": {"street": "12 St James's Square", "city": "London", "postcode": None},
    "notes": ["ring twice", "fragile"],
    "gift": True,
}
DOCUMENT = json.dumps(ORDER, ensure_ascii=False)


def outputs(runner: Any, *args: Any, **kwargs: Any) -> list[Any]:
    if isinstance(runner, AsyncRunner):

        async def main() -> list[Any]:
            return [value async for value in runner.client.stream_output(*args, **kwargs)]

        return runner.run(main())  # type: ignore[no-any-return]
    return list(runner.client.stream_output(*args, **kwargs))


@pytest.mark.parametrize(("model", "api"), MODELS)
def test_partial_output_events_carry_valid_partial_instances(
    make_runner: Any, emulator: Emulator, model: str, api: str
) -> None:
    runner = make_runner(**emulator_kwargs(emulator, api))
    prompt = emulator_prompt(
        f"order {runner.kind}", text=DOCUMENT, chunk_chars=9, event_delay=0.001
    )
    events = runner.events(prompt, model=model, response_format=Order)
    typed = [e for e in events if e.type == "partial_output"]
    partial = partial_model(Order)
    assert len(typed) > 1
    *growing, last = typed
    assert last.metadata["complete"] is True
    assert last.metadata["value"] == Order.model_validate(ORDER)  # the model's own instance
    for event in growing:
        value = event.metadata["value"]
        assert event.metadata["complete"] is False and isinstance(value, partial)
        # Valid as it stands: what arrived validates against the partial type.
        assert partial.model_validate(value.model_dump()) == value
        # Only what arrived is set; each set field agrees with the final value so far.
        for name in value.model_fields_set:
            got = getattr(value, name)
            if isinstance(got, str):
                assert ORDER[name].startswith(got)
            elif isinstance(got, int | bool):
                assert got == ORDER[name]
    # The json_partial events still come, alongside.
    assert [e for e in events if e.type == "json_partial"][-1].metadata["value"] == ORDER


def test_stream_output_yields_partials_then_the_instance(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = emulator_prompt(
        f"output {runner.kind}", text=DOCUMENT, chunk_chars=7, event_delay=0.002
    )
    values = outputs(runner, prompt, model="gpt-4o-mini", response_format=Order)
    assert len(values) > 5
    assert values[-1] == Order.model_validate(ORDER) and type(values[-1]) is Order
    assert all(type(v) is partial_model(Order) for v in values[:-1])
    lines = [len(v.lines or []) for v in values[:-1]]
    assert lines == sorted(lines) and max(lines) == 2  # the list only grows
    # A sku cut mid-string is shown as far as it came; a unit only once it is a Literal.
    units = {line.unit for v in values[:-1] for line in v.lines or []}
    assert units <= {None, "each", "kg"}


def test_stream_output_needs_a_model_and_fails_on_a_reply_that_does_not_follow_it(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(ConfigurationError, match="pydantic model"):
        runner.client.stream_output(
            "hi", model="gpt-4o-mini", response_format={"type": "json_object"}
        )
    wrong = json.dumps({**ORDER, "id": "not a number"})
    prompt = emulator_prompt(f"wrong {runner.kind}", text=wrong, chunk_chars=50)
    with pytest.raises(JSONModeError, match="does not match Order"):
        outputs(runner, prompt, model="gpt-4o-mini", response_format=Order)


def test_partials_are_throttled_by_characters_and_time(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = emulator_prompt(
        f"throttle {runner.kind}", text=DOCUMENT, chunk_chars=4, event_delay=0.002
    )
    every = runner.events(prompt, model="gpt-4o-mini", response_format=Order)
    by_chars = runner.events(
        prompt, model="gpt-4o-mini", response_format=Order, streaming_options={"partial_chars": 60}
    )
    by_time = runner.events(
        prompt,
        model="gpt-4o-mini",
        response_format=Order,
        streaming_options={"partial_interval": 60},
    )

    def typed(events: list[Any]) -> list[Any]:
        return [e.metadata for e in events if e.type == "partial_output"]

    assert len(typed(every)) > 30
    assert 2 <= len(typed(by_chars)) <= len(DOCUMENT) // 60 + 2
    assert len(typed(by_time)) == 2  # the first, then nothing for a minute but the complete one
    for events in (every, by_chars, by_time):
        assert typed(events)[-1] == {"value": Order.model_validate(ORDER), "complete": True}


class GetWeather(BaseModel):
    """Get the weather for a city."""

    city: str
    unit: Literal["celsius", "fahrenheit"]
    days: int = 1


def test_a_tool_given_as_a_model_streams_typed_arguments(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    arguments = {"city": "San Francisco", "unit": "celsius", "days": 3}
    call = {"id": "call_1", "name": "GetWeather", "arguments": arguments}
    prompt = emulator_prompt(f"weather {runner.kind}", tool_calls=[call], chunk_chars=6)
    events = runner.events(prompt, model="gpt-4o-mini", tools=[GetWeather])
    deltas = [e for e in events if e.type == "tool_call_delta"]
    typed = [e.metadata["partial_model"] for e in deltas]
    assert len(typed) > 3 and all(isinstance(t, partial_model(GetWeather)) for t in typed)
    assert typed[-1].model_dump() == arguments
    cities = [t.city for t in typed if t.city]  # the string grows as it streams
    assert all(later.startswith(earlier) for earlier, later in itertools.pairwise(cities))
    assert len(set(cities)) > 1 and cities[-1] == "San Francisco"
    # The tool went out with the model's schema, named after it.
    sent = emulator.requests[-1].body["tools"][0]["function"]
    assert sent["name"] == "GetWeather" and sent["description"] == "Get the weather for a city."
    assert sent["parameters"]["required"] == ["city", "unit"]
    (end,) = [e for e in events if e.type == "tool_call_end"]
    assert end.tool_call is not None and end.tool_call.arguments == arguments


def test_no_typed_partials_without_a_model_or_for_stream_with_usage(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = emulator_prompt(
        f"plain {runner.kind}", text=DOCUMENT, chunk_chars=9, event_delay=0.001
    )
    events = runner.events(prompt, model="gpt-4o-mini", response_format={"type": "json_object"})
    assert not [e for e in events if e.type in ("partial_output", "json_partial")]
    response = runner.response(prompt, model="gpt-4o-mini", response_format=Order)
    assert response.get_json() == Order.model_validate(ORDER)
