#!/usr/bin/env bash
# The packaging check: build the sdist and the wheel, install the wheel (not the source
# tree) in a fresh virtualenv without the test extra, and use it as a new user would.
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$(mktemp -d "${TMPDIR:-/tmp}/steer-smoke.XXXXXX")"
python -m build --outdir "$WORK/dist" . > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
ls "$WORK/dist"

"${PYTHON:-python3}" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install --quiet "$WORK"/dist/*.whl

cd "$WORK"  # away from the source tree: only the installed package can be imported
# No key anywhere: the CLI falls back to the bundled emulator.
env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY -u XAI_API_KEY -u OPENAI_COMPATIBLE_API_KEY \
    "$WORK/venv/bin/steer" "Say hello" > steer.out
grep -q "Echo: Say hello" steer.out || { cat steer.out; exit 1; }
"$WORK/venv/bin/python" - <<'PY'
import importlib.metadata
import pathlib

import steer_async
import steer_common
import steer_emulator
import steer_llm_sdk
import steer_sync
from steer_async.agents.runner import AgentRunner as AsyncAgentRunner
from steer_common import StreamParser
from steer_common._version import __version__
from steer_sync.agents.runner import AgentRunner

assert importlib.metadata.version("steer-llm-sdk") == __version__, "version not single-sourced"
assert steer_llm_sdk.SteerLLMClient is steer_async.SteerLLMClient  # the guide's facade
from steer_llm_sdk.agents.runner import AgentRunner as GuideRunner
from steer_llm_sdk.models.streaming import JSON_MODE_OPTIONS
from steer_llm_sdk.streaming.processor import EventProcessor

assert GuideRunner is AsyncAgentRunner and JSON_MODE_OPTIONS.validate_json_incrementally
assert EventProcessor is steer_common.EventProcessor
for package in (steer_common, steer_sync, steer_async, steer_emulator, steer_llm_sdk):
    assert (pathlib.Path(package.__file__).parent / "py.typed").exists(), package
assert (pathlib.Path(steer_emulator.__file__).parent / "_demo" / "anthropic-text.sse").exists()
assert "site-packages" in steer_sync.__file__, steer_sync.__file__
entry_points = importlib.metadata.entry_points(group="pytest11")
assert any(e.value == "steer_emulator.pytest_plugin" for e in entry_points)
parser = StreamParser("openai")
events = parser.feed(b'data: {"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
assert parser.response.text == "ok", events
print(f"smoke test passed: steer-llm-sdk {__version__} from the wheel")
PY
rm -rf "$WORK"
