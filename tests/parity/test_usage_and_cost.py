"""Usage and cost on every stream, in both clients: reported, estimated, partial, priced."""

from __future__ import annotations

from typing import Any

import pytest

from steer_common import StreamingOptions
from steer_common.errors import StreamInterruptedError
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt


def ask(**script: Any) -> str:
    return emulator_prompt("Please answer.", **script)


def test_reported_usage_is_priced_and_marked(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    response = runner.response(
        ask(text="Fine.", prompt_tokens=1000, completion_tokens=200), model="gpt-4o-mini"
    )
    assert response.usage["provenance"] == {
        "prompt_tokens": "reported",
        "completion_tokens": "reported",
    }
    assert response.cost_usd == pytest.approx((1000 * 0.15 + 200 * 0.6) / 1e6)
    assert response.cost_breakdown["model"] == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("model", "method"),
    [("gpt-4", "estimated:tiktoken:cl100k_base"), ("gpt-4o-mini", "estimated:character")],
)
def test_missing_usage_is_estimated_then_priced(
    make_runner: Any, emulator: Emulator, model: str, method: str
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    response = runner.response(
        ask(text="An answer with several words in it.", include_usage=False), model=model
    )
    usage = response.usage
    assert usage["provenance"] == {"prompt_tokens": method, "completion_tokens": method}
    assert usage["completion_tokens"] > 0 and usage["prompt_tokens"] > 0
    assert response.cost_usd is not None and response.cost_usd > 0


def test_stream_estimates_from_the_whole_reply_as_stream_with_usage_does(
    make_runner: Any, emulator: Emulator
) -> None:
    # stream() joins the reply's text only when s.response is read; the estimate made at
    # the end of the stream still counts all of it.
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = ask(text="An answer with several words in it, " * 40, include_usage=False)
    chunks, response, error = runner.held(prompt, model="gpt-4")
    assert error is None and response.text == "".join(chunks) and len(chunks) > 1
    whole = runner.response(prompt, model="gpt-4")
    assert response.usage == whole.usage and response.cost_usd == whole.cost_usd
    assert response.usage["provenance"]["completion_tokens"] == "estimated:tiktoken:cl100k_base"
    assert response.usage["completion_tokens"] > 200


def test_the_character_method_when_asked(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    options = StreamingOptions(aggregator_type="character")
    response = runner.response(
        ask(text="abcdefghij" * 10, include_usage=False), model="gpt-4", streaming_options=options
    )
    assert response.usage["provenance"]["completion_tokens"] == "estimated:character"
    assert response.usage["completion_tokens"] == 23  # ceil(100 / 4.42)


def test_without_aggregation_missing_usage_stays_missing(
    make_runner: Any, emulator: Emulator
) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    options = StreamingOptions(enable_usage_aggregation=False)
    response = runner.response(
        ask(text="x", include_usage=False), model="gpt-4", streaming_options=options
    )
    assert response.usage == {} and response.cost_usd is None


def test_a_failed_stream_carries_estimated_usage(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    with pytest.raises(StreamInterruptedError) as info:
        runner.text(
            ask(
                text="Some partial words before the cut.", truncate_after_events=5, fail_times=1000
            ),
            model="claude-sonnet-5",
        )
    partial = info.value.partial_response
    assert partial is not None and partial.usage != {}
    assert partial.usage["provenance"]["prompt_tokens"] == "reported"  # message_start said it
    assert partial.usage["completion_tokens"] >= 1
    assert partial.cost_usd is not None


def test_on_usage_fires_once_with_the_final_usage(make_runner: Any, emulator: Emulator) -> None:
    seen: list[dict[str, Any]] = []
    runner = make_runner(**emulator_kwargs(emulator))
    options = StreamingOptions(on_usage=seen.append)
    response = runner.response(
        ask(text="done", prompt_tokens=7, completion_tokens=3),
        model="claude-sonnet-5",
        streaming_options=options,
    )
    assert seen == [response.usage]
    assert seen[0]["total_tokens"] == 10
