"""Importing the emulator or the pytest plugin loads no HTTP client (checked in a fresh
interpreter), and asyncio code can run the emulator with ``async with``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from steer_sync.emulator import Emulator

HEAVY = ("requests", "urllib3", "httpx", "httpcore", "steer_sync.client", "steer_async")


@pytest.mark.parametrize(
    "statement",
    [
        "from steer_sync.emulator import Emulator",
        "import steer_sync.pytest_plugin",
        "import steer_sync",
        "from steer_emulator import Emulator",
        "import steer_emulator.pytest_plugin",
    ],
)
def test_importing_loads_no_http_client(statement: str) -> None:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_the_names_still_load_when_used() -> None:
    code = "import steer_sync\nprint(steer_sync.SteerLLMClient.__module__, steer_sync.JSON_MODE_OPTIONS.validate_json_incrementally)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["steer_sync.client", "True"]


async def test_async_with_the_emulator() -> None:
    from steer_async import SteerLLMClient

    async with Emulator() as emulator:
        keys = dict.fromkeys(emulator.base_urls, "k")
        async with SteerLLMClient(keys, emulator.base_urls) as client:
            response = await client.stream_with_usage("hi", model="gpt-4o-mini")
    assert response.text == "Echo: hi" and emulator.closed


def test_telemetry_off_imports_no_opentelemetry() -> None:
    """OpenTelemetry is imported by ``instrument()``, never by the library on its own."""
    code = (
        "import sys, steer_llm_sdk, steer_common.telemetry\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
