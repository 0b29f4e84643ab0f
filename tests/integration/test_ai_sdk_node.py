"""The ``ai-sdk`` stream read by the ``ai`` npm package itself (v5, v6 and v7, pinned in
tests/node/package-lock.json): its SSE parser, its chunk schema and ``readUIMessageStream``
build the assistant message a ``useChat`` page would show, from a real stream served by
the Starlette helper under uvicorn over the emulator. Text and tool calls must match.

Needs node and ``npm ci`` in tests/node (``.ci/run`` does it): skipped without them outside
CI, failed in CI."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

import steer_async
import steer_async.web.starlette
from steer_async.agents.runner import AgentRunner
from steer_common.agents import AgentDefinition
from steer_emulator import Emulator
from tests.environment import missing

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
VERSIONS = ["ai5", "ai6", "ai7"]


def prompt(**script: Any) -> str:
    return f"q [[emulator:{json.dumps(script)}]]"


TOOL = prompt(
    text="Checking the weather.",
    tool_calls=[{"id": "call_1", "name": "weather", "arguments": {"city": "Oslo", "days": 2}}],
)
FAILS = prompt(text="Hello there, friend of mine", error_after_chars=12, fail_times=1000)


def weather(city: str) -> str:
    """The weather in a city.

    Args:
        city: its name.
    """
    return f"Sunny in {city}"


@pytest.fixture
def server(steer_emulator: Emulator) -> Iterator[str]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = steer_async.SteerLLMClient()

    async def chat(request: Request) -> Response:
        events = client.stream_events(request.query_params["q"], model="gpt-4o-mini")
        return steer_async.web.starlette.stream_response(events, "ai-sdk")

    async def agent(request: Request) -> Response:
        definition = AgentDefinition(
            model="gpt-4o-mini", user_prompt='Use weather for "Oslo"', tools=[weather]
        )
        run = AgentRunner(client).stream(definition=definition)
        return steer_async.web.starlette.stream_response(run, "ai-sdk")

    app = Starlette(routes=[Route("/chat", chat), Route("/agent", agent)])
    listener = socket.create_server(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        uv.should_exit = True
        thread.join(10)
        listener.close()


def read(version: str, url: str) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        missing("node")
    if not (NODE_DIR / "node_modules" / version).is_dir():
        missing(f"tests/node/node_modules (npm ci in {NODE_DIR})")
    out = subprocess.run(
        [str(node), "read_ui_stream.mjs", version, url],
        cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    assert result["invalid"] == []  # every chunk passed the package's schema
    return result


def text_of(message: dict[str, Any]) -> str:
    return "".join(p["text"] for p in message["parts"] if p["type"] == "text")


@pytest.mark.parametrize("version", VERSIONS)
def test_the_ai_package_reads_text_and_a_tool_call(server: str, version: str) -> None:
    result = read(version, f"{server}/chat?" + urlencode({"q": TOOL}))
    message = result["message"]
    assert result["errors"] == []
    assert message["role"] == "assistant" and message["id"].startswith("msg-")
    assert text_of(message) == "Checking the weather."
    tools = [p for p in message["parts"] if p["type"].startswith("tool-")]
    assert [(p["type"], p["toolCallId"], p["state"], p["input"]) for p in tools] == [
        ("tool-weather", "call_1", "input-available", {"city": "Oslo", "days": 2})
    ]
    assert [p["type"] for p in message["parts"]].count("step-start") == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_the_ai_package_reads_an_agent_run_with_its_tool_output(server: str, version: str) -> None:
    message = read(version, f"{server}/agent")["message"]
    (tool,) = [p for p in message["parts"] if p["type"].startswith("tool-")]
    assert (tool["type"], tool["state"], tool["input"], tool["output"]) == (
        "tool-weather", "output-available", {"city": "Oslo"}, "Sunny in Oslo",
    )  # fmt: skip
    assert "Sunny in Oslo" in text_of(message)
    assert [p["type"] for p in message["parts"]].count("step-start") == 2


@pytest.mark.parametrize("version", VERSIONS)
def test_the_ai_package_sees_a_failure_as_an_error(server: str, version: str) -> None:
    result = read(version, f"{server}/chat?" + urlencode({"q": FAILS}))
    assert text_of(result["message"]) == "Hello there,"
    (error,) = result["errors"]
    assert error.startswith("InternalServerError: ")
