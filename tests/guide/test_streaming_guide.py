"""The user's streaming guide, section by section, typed as a reader types it.

Every code block of the guide is here as written (``GUIDE``), and runs as written: in
order, in one namespace, with top-level ``await``, against the emulator, through the
environment variables a reader would set. Where the guide leaves a name undefined
(``stream``, ``agent_definition``, ``prompts``, ``import asyncio``) the reader defines it
(``READER``), with the public API only. Each test asserts what the reader sees printed.

Set ``STEER_GUIDE`` to the guide's path and ``test_the_blocks_are_the_guides`` checks that
these blocks are still the guide's, character for character.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from steer_sync.emulator import Emulator
from tests.guide.conftest import Notebook

# The guide's code blocks, by section, in the guide's order.
GUIDE: dict[str, str] = {
    "Basic Streaming": r"""from steer_llm_sdk import SteerLLMClient

client = SteerLLMClient()

# Stream text chunks
async for chunk in client.stream("Tell me a story", model="gpt-4o-mini"):
    print(chunk, end="", flush=True)
""",
    "Streaming with Usage Data": r"""# Get complete response with usage information
response = await client.stream_with_usage(
    "Explain quantum computing",
    model="gpt-4o-mini"
)

print(f"Response: {response.get_text()}")
print(f"Tokens: {response.usage['total_tokens']}")
print(f"Cost: ${response.cost_usd:.4f}")
""",
    "StreamingOptions": r"""from steer_llm_sdk.models.streaming import StreamingOptions, JSON_MODE_OPTIONS

# Custom streaming options
options = StreamingOptions(
    # Usage tracking
    enable_usage_aggregation=True,
    aggregator_type="auto",  # auto, tiktoken, character

    # JSON handling
    enable_json_stream_handler=True,
    validate_json_incrementally=True,

    # Connection settings
    connection_timeout=5.0,
    read_timeout=30.0,
    retry_on_connection_error=True,
    max_reconnect_attempts=3,

    # Performance
    chunk_size=1024,
    buffer_size=8192
)

response = await client.stream_with_usage(
    "Generate JSON data",
    model="gpt-4o-mini",
    streaming_options=options
)
""",
    "Preset Configurations": r"""from steer_llm_sdk.models.streaming import (
    JSON_MODE_OPTIONS,      # Optimized for JSON responses
    HIGH_THROUGHPUT_OPTIONS,  # For maximum performance
    LOW_LATENCY_OPTIONS      # For real-time applications
)

# Use preset for JSON streaming
response = await client.stream_with_usage(
    prompt="Generate product data",
    model="gpt-4o-mini",
    response_format={"type": "json_object"},
    streaming_options=JSON_MODE_OPTIONS
)
""",
    "Event Callbacks": r"""from steer_llm_sdk.models.streaming import StreamingOptions

# Define event handlers
async def on_start():
    print("Stream started")

async def on_delta(text: str):
    print(f"Received: {text}")

async def on_usage(usage: dict):
    print(f"Usage: {usage}")

async def on_complete(final_text: str):
    print(f"Complete: {final_text}")

async def on_error(error: Exception):
    print(f"Error: {error}")

# Stream with callbacks
options = StreamingOptions(
    on_start=on_start,
    on_delta=on_delta,
    on_usage=on_usage,
    on_complete=on_complete,
    on_error=on_error
)

await client.stream_with_usage(
    "Tell me a joke",
    model="gpt-4o-mini",
    streaming_options=options
)
""",
    "JSON Mode Streaming": r"""response = await client.stream_with_usage(
    "Generate a product listing with name, price, and description",
    model="gpt-4o-mini",
    response_format={"type": "json_object"},
    streaming_options=JSON_MODE_OPTIONS
)

# Access parsed JSON
data = response.get_json()
print(f"Product: {data['name']} - ${data['price']}")
""",
    "Custom Event Processing": r"""from steer_llm_sdk.streaming.processor import EventProcessor
from steer_llm_sdk.models.events import StreamEvent

# Create custom processor
processor = EventProcessor()

# Add filters
processor.add_filter(lambda event: event.type != "ping")

# Add transformers
def uppercase_transformer(event: StreamEvent) -> StreamEvent:
    if event.type == "text_delta" and event.delta:
        event.delta = event.delta.upper()
    return event

processor.add_transformer(uppercase_transformer)

# Use in streaming
async for event in processor.process(stream):
    if event.type == "text_delta":
        print(event.delta, end="")
""",
    "Streaming with Agents": r"""from steer_llm_sdk.agents.runner import AgentRunner

runner = AgentRunner()

# Stream agent responses
async for event in runner.stream(
    definition=agent_definition,
    variables={"query": "Calculate factorial of 10"},
    options={"streaming": True}
):
    if event.type == "delta":
        print(event.delta, end="")
    elif event.type == "tool_call":
        print(f"\n[Tool: {event.metadata['tool']}]")
""",
    "Retry Configuration": r"""options = StreamingOptions(
    retry_on_connection_error=True,
    max_reconnect_attempts=3,
    reconnect_delay=1.0,
    preserve_partial_response=True  # Keep data from failed attempts
)

try:
    response = await client.stream_with_usage(
        "Long running task",
        model="gpt-4o-mini",
        streaming_options=options
    )
except Exception as e:
    print(f"Streaming failed after retries: {e}")
""",
    "Timeout Handling": r"""options = StreamingOptions(
    connection_timeout=5.0,   # Initial connection
    read_timeout=30.0,       # Between chunks
    total_timeout=300.0      # Overall limit
)
""",
    "High Throughput Configuration": r"""from steer_llm_sdk.models.streaming import HIGH_THROUGHPUT_OPTIONS

# Process multiple streams concurrently
async def process_batch(prompts: list[str]):
    tasks = []
    for prompt in prompts:
        task = client.stream_with_usage(
            prompt,
            model="gpt-4o-mini",
            streaming_options=HIGH_THROUGHPUT_OPTIONS
        )
        tasks.append(task)

    responses = await asyncio.gather(*tasks)
    return responses
""",
    "Memory Management": r"""# Configure buffer sizes for large responses
options = StreamingOptions(
    chunk_size=4096,        # Larger chunks
    buffer_size=65536,      # Bigger buffer
    enable_compression=True  # Reduce memory usage
)
""",
    "OpenAI": r"""# Use OpenAI-specific features
response = await client.stream_with_usage(
    "Generate code",
    model="gpt-4",
    streaming_options=StreamingOptions(
        # OpenAI supports usage in stream
        enable_usage_aggregation=False
    )
)
""",
    "Anthropic": r"""# Anthropic with caching
response = await client.stream_with_usage(
    messages=[
        {"role": "system", "content": "You are helpful", "cache_control": {"type": "ephemeral"}},
        {"role": "user", "content": "Hello"}
    ],
    model="claude-3-haiku-20240307"
)

# Check cache usage
if response.usage.get("cache_info"):
    print(f"Cached tokens: {response.usage['cache_info']['cached_tokens']}")
""",
    "Migration from Old API": r"""# Old way (deprecated)
response = await client.stream("Hello", "gpt-4", return_usage=True)

# New way
response = await client.stream_with_usage("Hello", "gpt-4")
""",
}

# What the reader adds, before a section's block ("before") or after it ("after").
READER: dict[str, dict[str, str]] = {
    "Custom Event Processing": {
        "before": 'stream = client.stream_events("Tell me a joke", model="gpt-4o-mini")\n'
    },
    "Streaming with Agents": {
        "before": r'''import math

from steer_llm_sdk.agents import AgentDefinition, tool


@tool
def factorial(n: int) -> int:
    """The factorial of n.

    Args:
        n: a whole number, 0 or more.
    """
    return math.factorial(n)


agent_definition = AgentDefinition(
    model="gpt-4o-mini",
    system_prompt="Use the tools you have.",
    user_prompt="{query}",
    tools=[factorial],
)
'''
    },
    "Timeout Handling": {
        "after": 'response = await client.stream_with_usage("Say hi", model="gpt-4o-mini", streaming_options=options)\n'
    },
    "High Throughput Configuration": {
        "before": "import asyncio\n",
        "after": 'prompts = ["Name a colour", "Name a fruit", "Name a river"]\nresponses = await process_batch(prompts)\n',
    },
    "Memory Management": {
        "after": 'response = await client.stream_with_usage("Tell me 300 words", model="gpt-4o-mini", streaming_options=options)\n'
    },
}


def sections() -> dict[str, list[str]]:
    out = {}
    for title, block in GUIDE.items():
        extra = READER.get(title, {})
        out[title] = [c for c in (extra.get("before"), block, extra.get("after")) if c]
    return out


@pytest.fixture(scope="module")
def guide(guide_emulator: Emulator) -> Any:
    notebook = Notebook(sections())
    yield notebook
    notebook.close()


# -- Quick Start --------------------------------------------------------------------------


def test_basic_streaming(guide: Notebook) -> None:
    printed = guide.section("Basic Streaming")
    assert printed.startswith("Once upon a time, a small program listened to a stream of bytes.")
    assert "set an API key to hear a real model tell yours" in printed


def test_streaming_with_usage_data(guide: Notebook) -> None:
    printed = guide.section("Streaming with Usage Data")
    match = re.fullmatch(
        r"Response: Echo: Explain quantum computing\nTokens: (\d+)\nCost: \$(\d+\.\d{4})\n",
        printed,
    )
    assert match is not None, printed
    assert int(match.group(1)) > 0
    response = guide["response"]
    assert response.cost_usd > 0 and response.usage["provenance"]["prompt_tokens"] == "reported"


# -- Configuration ------------------------------------------------------------------------


def test_streaming_options(guide: Notebook) -> None:
    assert guide.section("StreamingOptions") == ""
    response = guide["response"]
    # "Generate JSON data" with the JSON handler on: the reply is JSON, validated as it
    # streamed, and parsed.
    assert isinstance(response.get_json(), dict)
    assert guide["options"].buffer_size == 8192 and guide["options"].chunk_size == 1024


def test_preset_configurations(guide: Notebook) -> None:
    guide.section("Preset Configurations")
    product = guide["response"].get_json()
    assert set(product) == {"name", "price", "description"}
    assert isinstance(product["price"], float)


# -- Event Callbacks ----------------------------------------------------------------------


def test_event_callbacks(guide: Notebook) -> None:
    lines = guide.section("Event Callbacks").splitlines()
    assert lines[0] == "Stream started"
    received = [line.removeprefix("Received: ") for line in lines if line.startswith("Received: ")]
    assert "".join(received) == "Echo: Tell me a joke"
    usage_line = next(line for line in lines if line.startswith("Usage: "))
    assert "'total_tokens':" in usage_line and "'prompt_tokens':" in usage_line
    assert lines[-1] == "Complete: Echo: Tell me a joke"
    assert lines.index(usage_line) == len(lines) - 2  # on_usage, then on_complete
    assert not any(line.startswith("Error:") for line in lines)


# -- JSON Mode Streaming -------------------------------------------------------------------


def test_json_mode_streaming(guide: Notebook) -> None:
    assert guide.section("JSON Mode Streaming") == "Product: Steer Widget - $19.99\n"
    assert set(guide["data"]) == {"name", "price", "description"}


# -- Advanced Patterns ---------------------------------------------------------------------


def test_custom_event_processing(guide: Notebook) -> None:
    assert guide.section("Custom Event Processing") == "ECHO: TELL ME A JOKE"


def test_streaming_with_agents(guide: Notebook) -> None:
    printed = guide.section("Streaming with Agents")
    assert printed.startswith("\n[Tool: factorial]\n")
    assert "3628800" in printed  # the tool's result, quoted in the final answer


# -- Error Handling -------------------------------------------------------------------------


def test_retry_configuration(guide: Notebook) -> None:
    assert guide.section("Retry Configuration") == ""  # it worked: nothing to report
    assert guide["response"].get_text() == "Echo: Long running task"


def test_timeout_handling(guide: Notebook) -> None:
    guide.section("Timeout Handling")
    options = guide["options"]
    assert (options.connection_timeout, options.read_timeout, options.total_timeout) == (
        5.0,
        30.0,
        300.0,
    )
    assert guide["response"].get_text() == "Echo: Say hi"


# -- Performance Optimization ---------------------------------------------------------------


def test_high_throughput_configuration(guide: Notebook) -> None:
    guide.section("High Throughput Configuration")
    texts = [r.get_text() for r in guide["responses"]]
    assert texts == ["Echo: Name a colour", "Echo: Name a fruit", "Echo: Name a river"]


def test_memory_management(guide: Notebook) -> None:
    guide.section("Memory Management")
    response = guide["response"]
    assert len(response.get_text().split()) == 300 and response.complete


# -- Provider-Specific Features --------------------------------------------------------------


def test_openai(guide: Notebook) -> None:
    guide.section("OpenAI")
    response = guide["response"]
    # Aggregation off: the usage is what OpenAI reported in the stream, nothing estimated.
    assert response.usage["total_tokens"] > 0
    assert "provenance" not in response.usage
    assert response.cost_usd is not None and response.model == "gpt-4"


def test_anthropic_caching(guide: Notebook) -> None:
    first = guide.section("Anthropic")
    assert first == "Cached tokens: 0\n"  # the prefix was written to the cache
    assert guide["response"].usage["cache_info"]["cache_creation_tokens"] > 0
    again = guide.cell(GUIDE["Anthropic"])  # the reader runs the cell again
    match = re.fullmatch(r"Cached tokens: (\d+)\n", again)
    assert match is not None and int(match.group(1)) > 0  # read from the cache this time


# -- Migration --------------------------------------------------------------------------------


def test_migration_from_the_old_api(guide: Notebook) -> None:
    with pytest.warns(DeprecationWarning, match="use stream_with_usage"):
        guide.section("Migration from Old API")
    assert guide["response"].get_text() == "Echo: Hello"


# -- The blocks are the guide's ------------------------------------------------------------------


def test_the_blocks_are_the_guides() -> None:
    path = os.environ.get("STEER_GUIDE")
    if not path:
        pytest.skip("set STEER_GUIDE to the guide's path to compare the blocks with it")
    text = Path(path).read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.DOTALL | re.MULTILINE)

    def lines(block: str) -> list[str]:
        return [line.rstrip() for line in block.splitlines()]

    assert [lines(b) for b in blocks] == [lines(b) for b in GUIDE.values()]
