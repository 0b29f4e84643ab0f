"""Azure OpenAI in both clients against the emulator: a deployment priced as its model,
a refused prompt typed with its filter results, the deployment URLs' ``api-version``."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from steer_common.errors import ContentFilterError
from steer_emulator.error_bodies import AZURE_PROMPT_FILTERED
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt


def test_a_deployment_is_priced_as_the_model_it_serves(
    make_runner: Any, emulator: Emulator
) -> None:
    # A stream that names no model with a price (a model-router deployment, say).
    prompt = emulator_prompt("hi", model="prod-router", prompt_tokens=1000, completion_tokens=100)
    unnamed = make_runner(**emulator_kwargs(emulator)).response(prompt, model="azure/prod-router")
    assert unnamed.cost_usd is None and "prod-router" in unnamed.cost_breakdown["reason"]

    runner = make_runner(**emulator_kwargs(emulator), deployments={"prod-router": "gpt-4.1-mini"})
    named = runner.response(prompt, model="azure/prod-router")
    assert named.model == "prod-router"  # what the stream said, unchanged
    assert named.cost_breakdown["model"] == "gpt-4.1-mini"
    assert named.cost_breakdown["provider"] == "azure"
    prices = named.cost_breakdown["prices_per_mtok"]
    assert named.cost_usd == pytest.approx((1000 * prices["input"] + 100 * prices["output"]) / 1e6)


def test_a_refused_prompt_is_a_content_filter_error(make_runner: Any, emulator: Emulator) -> None:
    runner = make_runner(**emulator_kwargs(emulator))
    prompt = emulator_prompt(f"awful {runner.kind}", status=400, error_type="content_filter")
    sent = len(emulator.requests)
    with pytest.raises(ContentFilterError) as caught:
        runner.response(prompt, model="azure/prod-chat")
    error = caught.value
    assert error.status_code == 400 and error.code == "content_filter"
    assert error.filter_results == AZURE_PROMPT_FILTERED
    assert len(emulator.requests) == sent + 1  # never retried


def test_the_deployment_urls_carry_the_deployment_and_api_version(
    make_runner: Any, emulator: Emulator
) -> None:
    kwargs = emulator_kwargs(emulator)
    ok = {**kwargs["base_urls"], "azure": f"{emulator.url}/azure/openai?api-version=2024-10-21"}
    response = make_runner(**{**kwargs, "base_urls": ok}).response("hi", model="azure/prod-chat")
    assert response.text == "Echo: hi" and response.provider == "azure"
    request = emulator.requests[-1]
    assert request.path == "/azure/openai/deployments/prod-chat/chat/completions"
    assert request.headers["api-key"] == "test-key"
    assert "authorization" not in request.headers


def test_the_emulator_answers_404_without_api_version(emulator: Emulator) -> None:
    # As the service does for a deployment URL whose query a proxy dropped.
    request = urllib.request.Request(
        f"{emulator.url}/azure/openai/deployments/prod-chat/chat/completions",
        data=json.dumps({"messages": [{"role": "user", "content": "hi"}], "stream": True}).encode(),
        headers={"api-key": "test-key", "content-type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 404
    assert "api-version" in json.loads(caught.value.read())["error"]["message"]
