"""Fuzzing beyond the parser properties of tests/common: the JSON machine under Hypothesis,
bounded memory for hostile JSON, and short coverage-guided atheris runs of both harnesses
in fuzz/ (run them longer by hand: ``python fuzz/fuzz_json.py -max_total_time=600``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from steer_common.errors import JSONModeError, SteerError
from steer_common.json_stream import JSONStream

ROOT = Path(__file__).resolve().parents[2]
JSONISH = st.text(alphabet=st.sampled_from(list('{}[]",: \n\\0123456789.eE+-tfnrulsa\u00e9')))


@settings(max_examples=500, deadline=None)
@example(text="[[f[[", cuts=[4], hold_chars=0)  # found by atheris: a latched error, not KeyError
@given(
    JSONISH | st.text(),
    st.lists(st.integers(0, 64), max_size=6),
    st.sampled_from([None, 0, 1, 5, 1024]),
)
def test_the_json_machine_raises_only_steer_errors(
    text: str, cuts: list[int], hold_chars: int | None
) -> None:
    stream = JSONStream(
        hold=hold_chars is not None, hold_chars=hold_chars or 0, max_depth=32, max_size=4096
    )
    start = 0
    try:
        for cut in [*sorted(cuts), len(text)]:
            stream.feed(text[start:cut])
            start = max(start, cut)
            stream.partial()  # a partial value at any moment, valid text or not
        stream.close()
    except SteerError as exc:
        assert isinstance(exc, JSONModeError)
        with pytest.raises(JSONModeError):  # latched: the same error again
            stream.feed("1")
        return
    assert stream.value == json.loads(text)  # accepted means json.loads agrees


@pytest.mark.parametrize("hold", [False, True])
def test_hostile_json_is_stopped_with_bounded_memory(hold: bool) -> None:
    tracemalloc.start()
    try:
        stream = JSONStream(hold=hold)
        with pytest.raises(JSONModeError, match="deep"):
            for _ in range(10_000):
                stream.feed("[" * 100)
        _, deep_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        stream = JSONStream(hold=hold, max_size=1_000_000)
        with pytest.raises(JSONModeError, match="exceeds"):
            stream.feed('"')
            for _ in range(1_000):
                stream.feed("x" * 10_000)  # a 10 MB string against a 1 MB cap
        _, size_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert deep_peak < 2 * 1024 * 1024
    assert size_peak < 4 * 1024 * 1024


@pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris not installed")
@pytest.mark.parametrize("harness", ["fuzz_parser.py", "fuzz_json.py"])
def test_atheris_finds_nothing(harness: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "fuzz" / harness),
            "-runs=30000",
            "-seed=7",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 30000 runs" in done.stderr
