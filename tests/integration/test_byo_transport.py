"""The core needs nothing from our front ends: the "core only" examples of
docs/bring-your-own-transport.md run in a process where importing steer_sync, steer_async,
requests, urllib3, httpx or aiohttp fails, against an emulator in this process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from steer_sync.emulator import Emulator

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "bring-your-own-transport.md"
BLOCKED = ["steer_sync", "steer_async", "requests", "urllib3", "httpx", "httpcore", "aiohttp"]

PRELUDE = f"""
import importlib.abc
import sys

BLOCKED = {BLOCKED!r}


class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is blocked: the core must not need it")
        return None


sys.meta_path.insert(0, Blocker())
"""
EPILOGUE = """
loaded = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
assert not loaded, loaded
print("core-only examples passed")
"""


def core_only_blocks() -> list[str]:
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)
    return [b for b in blocks if b.startswith("# core only")]


def test_the_core_only_examples_run_without_the_front_ends() -> None:
    blocks = core_only_blocks()
    assert len(blocks) == 4  # the request, a raw socket, urllib, the whole flow
    script = PRELUDE + "\n".join(blocks) + EPILOGUE
    with Emulator() as emulator:
        env = {**os.environ, **emulator.environ(), "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            check=False,
            text=True,
            timeout=120,
            cwd=ROOT,
            env=env,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "core-only examples passed" in done.stdout
    assert len(emulator.requests) == 4  # the socket, urllib, and the flow: 503, then its retry
