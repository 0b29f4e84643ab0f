"""OpenTelemetry in both clients, over loopback against the emulator, recorded by the
SDK's in-memory span exporter and metric reader: the exact GenAI attributes and metric
points of a stream, a retried stream, a failed one, an agent run with tools; content only
when opted in; the key nowhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from steer_common import telemetry
from steer_common.errors import AuthenticationError, SteerError
from steer_emulator import ScriptedReply
from steer_sync.emulator import Emulator
from tests.parity.conftest import emulator_kwargs, emulator_prompt
from tests.parity.test_agents import AGENT, events_of
from tests.parity.test_emulated_providers import MODELS

KEY = "sk-telemetry-secret-0123456789"


class Recorded:
    """What one test's calls recorded."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer_provider = tracer_provider

    def instrument(self, **kwargs: Any) -> None:
        telemetry.instrument(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider, **kwargs
        )

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        """The data points of the metric ``name``."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                assert scope.scope.name == "steer_llm_sdk"
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def units(self) -> dict[str, str]:
        data = self.reader.get_metrics_data()
        return {
            m.name: m.unit
            for r in data.resource_metrics
            for s in r.scope_metrics
            for m in s.metrics
        }

    def dump(self) -> str:
        """Every span and metric point, as JSON text (what an exporter would send)."""
        spans = [span.to_json() for span in self.finished()]
        return "\n".join(spans) + self.reader.get_metrics_data().to_json()


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    rec = Recorded()
    rec.instrument()
    yield rec
    telemetry.uninstrument()


def kwargs_for(emulator: Emulator, api: str = "chat") -> dict[str, Any]:
    kwargs = emulator_kwargs(emulator, api)
    kwargs["api_keys"] = dict.fromkeys(emulator.base_urls, KEY)
    return kwargs


def test_a_stream_is_one_span_with_the_conventions_attributes(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    prompt = emulator_prompt("hello", text="Hi there!", prompt_tokens=12, completion_tokens=3)
    response = runner.response(prompt, model="gpt-4o-mini", temperature=0.2, max_tokens=50)
    (span,) = recorded.finished()
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.schema_url == telemetry.SCHEMA_URL
    attributes = dict(span.attributes or {})
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 50,
        "server.address": "127.0.0.1",
        "server.port": emulator.port,
        "gen_ai.response.model": response.model,
        "gen_ai.response.id": response.response_id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 3,
        "gen_ai.usage.reasoning.output_tokens": 0,  # OpenAI reports it
        "gen_ai.response.time_to_first_chunk": response.metrics.time_to_first_token,
        "openai.response.service_tier": response.service_tier,
        "openai.response.system_fingerprint": response.system_fingerprint,
        "steer.cost": response.cost_usd,
        "steer.attempts": 1,
    }
    assert response.response_id and response.cost_usd
    assert not span.events

    tokens = {
        p.attributes["gen_ai.token.type"]: p for p in recorded.points("gen_ai.client.token.usage")
    }
    assert (tokens["input"].sum, tokens["input"].count) == (12, 1)
    assert (tokens["output"].sum, tokens["output"].count) == (3, 1)
    assert dict(tokens["input"].attributes) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": response.model,
        "server.address": "127.0.0.1",
        "server.port": emulator.port,
        "gen_ai.token.type": "input",
    }
    assert tokens["input"].explicit_bounds[:3] == (1, 4, 16)
    (duration,) = recorded.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and duration.sum > 0
    assert "error.type" not in duration.attributes
    (first,) = recorded.points("gen_ai.client.operation.time_to_first_chunk")
    assert first.sum == pytest.approx(response.metrics.time_to_first_token)
    (cost,) = recorded.points("steer.client.cost")
    assert cost.sum == pytest.approx(response.cost_usd)
    units = {
        "gen_ai.client.operation.duration": "s",
        "gen_ai.client.token.usage": "{token}",
        "gen_ai.client.operation.time_to_first_chunk": "s",
        "gen_ai.client.operation.time_per_output_chunk": "s",  # when the reply took 2+ reads
        "steer.client.cost": "USD",
    }
    recorded_units = recorded.units()
    assert len(recorded_units) >= 4 and recorded_units.items() <= units.items()


def test_time_per_output_chunk_has_a_point_per_read_after_the_first(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    # Paced deltas arrive in separate reads: one point for each after the first.
    prompt = emulator_prompt("paced", text="a b c d", chunk_chars=2, event_delay=0.03)
    chunks = runner.text(prompt, model="gpt-4o-mini")
    (point,) = recorded.points("gen_ai.client.operation.time_per_output_chunk")
    assert point.count == len(chunks) - 1 >= 2
    assert point.sum >= 0.025 * point.count


@pytest.mark.parametrize("wire_format", sorted(MODELS))
def test_every_format_names_its_provider_and_operation(
    make_runner: Any, emulator: Emulator, recorded: Recorded, wire_format: str
) -> None:
    model, api = MODELS[wire_format]
    runner = make_runner(**kwargs_for(emulator, api))
    response = runner.response(
        emulator_prompt("hi", prompt_tokens=5, completion_tokens=2), model=model
    )
    (span,) = recorded.finished()
    attributes = span.attributes or {}
    operation, provider = {
        "gemini": ("generate_content", "gcp.gemini"),
        "vertex_ai": ("generate_content", "gcp.vertex_ai"),
        "azure": ("chat", "azure.ai.openai"),
        "azure_responses": ("chat", "azure.ai.openai"),
        "bedrock": ("chat", "aws.bedrock"),
        "bedrock_anthropic": ("chat", "aws.bedrock"),
        "xai": ("chat", "x_ai"),
        "openai_compatible": ("chat", "openai_compatible"),
        "anthropic": ("chat", "anthropic"),
    }.get(wire_format, ("chat", "openai"))
    requested = model.split("/", 1)[1] if "/" in model else model
    assert span.name == f"{operation} {requested}"
    assert attributes["gen_ai.operation.name"] == operation
    assert attributes["gen_ai.provider.name"] == provider
    assert attributes["gen_ai.request.model"] == requested
    assert attributes["gen_ai.usage.input_tokens"] == response.usage["prompt_tokens"] == 5
    assert attributes["gen_ai.usage.output_tokens"] == response.usage["completion_tokens"]
    assert attributes["gen_ai.response.finish_reasons"] == (response.finish_reason,)


def test_a_retry_is_a_span_event(make_runner: Any, emulator: Emulator, recorded: Recorded) -> None:
    runner = make_runner(**kwargs_for(emulator))
    prompt = emulator_prompt(f"retry {runner.kind}", status=503, fail_times=1)
    response = runner.response(prompt, model="gpt-4o-mini")
    (span,) = recorded.finished()
    (event,) = span.events
    first = response.attempts[0]
    assert event.name == "steer.retry"
    assert dict(event.attributes or {}) == {
        "steer.attempt": 1,
        "error.type": "InternalServerError",
        "http.response.status_code": 503,
        "steer.retry.wait": first.wait,
    }
    assert (span.attributes or {})["steer.attempts"] == 2
    assert span.status.status_code is StatusCode.UNSET


def test_a_fallback_and_a_continuation_are_span_events(
    make_runner: Any, emulator: Emulator, recorded: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in emulator.environ().items():  # Bedrock's credentials and region
        monkeypatch.setenv(name, value)
    kwargs = kwargs_for(emulator)
    kwargs["base_urls"] = {**kwargs["base_urls"], "anthropic": "http://127.0.0.1:9"}
    runner = make_runner(**kwargs)
    options = {"max_reconnect_attempts": 0, "resume": "continue"}
    story = "Once upon a time a parser met a socket."
    # Anthropic is down: the fallback answers, is cut after 12 characters, and continues.
    emulator.enqueue(ScriptedReply(text=story, error_after_chars=12))
    response = runner.response(
        "Tell me a story.",
        model="claude-sonnet-4-5",
        fallbacks=[MODELS["bedrock_anthropic"][0]],
        streaming_options={**options, "on_delta": lambda delta: None},
    )
    assert response.text == story
    (span,) = recorded.finished()
    moves = [(e.name, dict(e.attributes or {})) for e in span.events]
    model = MODELS["bedrock_anthropic"][0]
    assert moves == [
        ("steer.fallback", {"gen_ai.request.model": model, "error.type": "APIConnectionError"}),
        (
            "steer.continuation",
            {"gen_ai.request.model": model, "error.type": "InternalServerError"},
        ),
    ]
    assert (span.attributes or {})["gen_ai.response.model"] == response.model


def test_a_failed_stream_has_its_error_type_and_status(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    with pytest.raises(AuthenticationError):
        runner.response(emulator_prompt(f"no {runner.kind}", status=401), model="gpt-4o-mini")
    (span,) = recorded.finished()
    assert (span.attributes or {})["error.type"] == "AuthenticationError"
    assert span.status.status_code is StatusCode.ERROR
    assert "401" in (span.status.description or "")
    (duration,) = recorded.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "AuthenticationError"
    assert not recorded.points("gen_ai.client.token.usage")


def test_a_stream_its_consumer_leaves_ends_its_span(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    prompt = emulator_prompt("long", text="word " * 200, chunk_chars=5)
    runner.first_chunk_then_break(prompt, model="gpt-4o-mini")
    (span,) = recorded.finished()
    attributes = span.attributes or {}
    assert attributes["steer.closed_early"] is True and "error.type" not in attributes


def test_an_agent_run_is_a_span_tree(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    seen, error = events_of(runner, replace(AGENT, name="calculator"), variables={"n": 10})
    assert error is None
    spans = {span.name: span for span in recorded.finished()}
    agent = spans["invoke_agent calculator"]
    calls = [s for s in recorded.finished() if s.name == "chat gpt-4o-mini"]
    tool = spans["execute_tool factorial"]
    assert len(recorded.finished()) == 4 and len(calls) == 2
    assert agent.parent is None and agent.kind is SpanKind.INTERNAL
    for child in [*calls, tool]:
        assert child.parent is not None and child.parent.span_id == agent.context.span_id
        assert child.context.trace_id == agent.context.trace_id
    # The tool ran between the two calls.
    assert calls[0].end_time <= tool.start_time <= tool.end_time <= calls[1].start_time
    call = seen[[e.type for e in seen].index("tool_call")]
    assert dict(tool.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "factorial",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": call.metadata["id"],
    }
    result = seen[-1].result
    assert dict(agent.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.agent.name": "calculator",
        "steer.agent.steps": 2,
        "gen_ai.usage.input_tokens": result.usage["prompt_tokens"],
        "gen_ai.usage.output_tokens": result.usage["completion_tokens"],
        "steer.cost": result.cost_usd,
    }


def test_a_failing_tool_is_a_failed_tool_span(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    def factorial(n: int) -> int:
        """Compute n factorial.

        Args:
            n: a non-negative integer.
        """
        raise ValueError("no factorials today")

    runner = make_runner(**kwargs_for(emulator))
    _, error = events_of(runner, replace(AGENT, tools=[factorial]), variables={"n": 3})
    assert error is None  # reported to the model, which answers
    (tool,) = [s for s in recorded.finished() if s.name == "execute_tool factorial"]
    assert (tool.attributes or {})["error.type"] == "ValueError"
    assert tool.status.status_code is StatusCode.ERROR


def test_content_is_recorded_only_when_opted_in(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    prompt = emulator_prompt("my secret question", text="my private answer")
    runner.response(prompt, model="gpt-4o-mini")
    events_of(runner, AGENT, variables={"n": 4})
    dump = recorded.dump()
    assert "secret question" not in dump and "private answer" not in dump
    assert "factorial of 4" not in dump and '"n"' not in dump
    assert "gen_ai.input.messages" not in dump and "gen_ai.tool.call.result" not in dump

    recorded.spans.clear()
    recorded.instrument(capture_content=True)
    runner.response(prompt, model="gpt-4o-mini")
    (span,) = recorded.finished()
    attributes = span.attributes or {}
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": prompt}]}
    ]
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "my private answer"}],
            "finish_reason": "stop",
        }
    ]
    recorded.spans.clear()
    events_of(runner, AGENT, variables={"n": 4})
    (tool,) = [s for s in recorded.finished() if s.name == "execute_tool factorial"]
    assert json.loads(str((tool.attributes or {})["gen_ai.tool.call.arguments"])) == {"n": 4}
    assert (tool.attributes or {})["gen_ai.tool.call.result"] == "24"


def test_the_key_is_nowhere(make_runner: Any, emulator: Emulator, recorded: Recorded) -> None:
    recorded.instrument(capture_content=True)  # even with content on
    runner = make_runner(**kwargs_for(emulator))
    runner.response(emulator_prompt("hi"), model="gpt-4o-mini")
    retried = emulator_prompt(f"hi {runner.kind}", status=503, fail_times=1)
    runner.response(retried, model="claude-sonnet-5")
    with pytest.raises(SteerError):
        runner.response(emulator_prompt(f"no {runner.kind}", status=401), model="gemini-2.5-flash")
    events_of(runner, AGENT, variables={"n": 5})
    dump = recorded.dump()
    assert len(recorded.finished()) == 7
    assert KEY not in dump and KEY[:12] not in dump


def test_a_call_can_leave_telemetry_off(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    runner = make_runner(**kwargs_for(emulator))
    options = {"enable_telemetry": False}
    runner.response(emulator_prompt("quiet"), model="gpt-4o-mini", streaming_options=options)
    events_of(runner, AGENT, variables={"n": 3}, options=options)
    assert recorded.finished() == []
    assert not recorded.points("gen_ai.client.operation.duration")
    runner.response(emulator_prompt("loud"), model="gpt-4o-mini")
    assert len(recorded.finished()) == 1


def test_nothing_is_recorded_before_instrument_or_after_uninstrument(
    make_runner: Any, emulator: Emulator
) -> None:
    rec = Recorded()
    runner = make_runner(**kwargs_for(emulator))
    runner.response(emulator_prompt("before"), model="gpt-4o-mini")
    rec.instrument()
    telemetry.uninstrument()
    runner.response(emulator_prompt("after"), model="gpt-4o-mini")
    assert rec.finished() == [] and telemetry.active() is None


def test_a_calls_span_is_a_child_of_the_applications_span(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    tracer = recorded.tracer_provider.get_tracer("app")
    runner = make_runner(**kwargs_for(emulator))
    with tracer.start_as_current_span("handle request") as outer:
        runner.response(emulator_prompt("nested"), model="gpt-4o-mini")
    call, app = recorded.finished()
    assert app.name == "handle request" and call.name == "chat gpt-4o-mini"
    assert call.parent is not None and call.parent.span_id == outer.get_span_context().span_id


def test_chunk_timing_can_be_left_out(
    make_runner: Any, emulator: Emulator, recorded: Recorded
) -> None:
    recorded.instrument(chunk_timing=False)
    runner = make_runner(**kwargs_for(emulator))
    prompt = emulator_prompt(
        f"paced {runner.kind}", text="a b c d", chunk_chars=2, event_delay=0.02
    )
    assert len(runner.text(prompt, model="gpt-4o-mini")) == 4
    assert not recorded.points("gen_ai.client.operation.time_per_output_chunk")
    assert len(recorded.points("gen_ai.client.operation.duration")) == 1
