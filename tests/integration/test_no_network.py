"""A socket guard: importing, streaming, estimating tokens and costing touch no network.

A fresh interpreter replaces ``socket.getaddrinfo`` and ``socket.socket.connect`` /
``connect_ex`` with versions that record any address off this machine, then imports the
three packages, streams from the emulator (loopback only) with both clients and every
wire format, with usage reported and missing (tiktoken and character estimates), and
prices the replies. The run must record no outside address.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import socket

violations = []
LOCAL = {"127.0.0.1", "::1", "localhost"}
real_getaddrinfo, real_connect, real_connect_ex = socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex

def host_of(address):
    return address[0] if isinstance(address, tuple) else str(address)

def getaddrinfo(host, *args, **kwargs):
    if host not in LOCAL:
        violations.append(("getaddrinfo", host))
        raise OSError("network is off limits in this test")
    return real_getaddrinfo(host, *args, **kwargs)

def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and host_of(address) not in LOCAL:
        violations.append(("connect", address))
        raise OSError("network is off limits in this test")
    return real_connect(self, address)

def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6) and host_of(address) not in LOCAL:
        violations.append(("connect_ex", address))
        return 111
    return real_connect_ex(self, address)

socket.getaddrinfo, socket.socket.connect, socket.socket.connect_ex = getaddrinfo, connect, connect_ex

import asyncio, json
import steer_common, steer_sync, steer_async
from steer_common.cost import cost_of
from steer_sync.emulator import Emulator

with Emulator() as emu:
    kwargs = {"api_keys": dict.fromkeys(emu.base_urls, "k"), "base_urls": emu.base_urls}
    asks = [
        ("gpt-4o-mini", "chat", {"text": "hello there"}),
        ("gpt-4", "chat", {"text": "no usage here", "include_usage": False}),
        ("gpt-4o-mini", "chat", {"text": "no usage, no encoding", "include_usage": False}),
        ("gpt-5-mini", "responses", {"text": "responses"}),
        ("claude-sonnet-5", "chat", {"text": "anthropic"}),
        ("grok-4-fast", "chat", {"text": "xai", "include_usage": False}),
    ]
    for model, api, script in asks:
        prompt = "q [[emulator:" + json.dumps(script) + "]]"
        with steer_sync.SteerLLMClient(openai_api=api, **kwargs) as client:
            response = client.stream_with_usage(prompt, model=model)
            assert response.usage and response.cost_usd is not None, (model, response.cost_breakdown)

        async def main():
            async with steer_async.SteerLLMClient(openai_api=api, **kwargs) as client:
                return await client.stream_with_usage(prompt, model=model)

        response = asyncio.run(main())
        assert response.usage and response.cost_usd is not None, model
    assert cost_of({"prompt_tokens": 10, "completion_tokens": 5}, "claude-sonnet-5", "anthropic")[0]

print("VIOLATIONS", violations)
raise SystemExit(1 if violations else 0)
"""


def test_import_streaming_estimation_and_costing_make_no_network_call() -> None:
    env = {
        **os.environ,
        "TIKTOKEN_CACHE_DIR": str(Path(__file__).parent.parent / "fixtures" / "tiktoken"),
    }
    env.pop("OPENAI_API_KEY", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VIOLATIONS []" in result.stdout
