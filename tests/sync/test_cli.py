"""The ``steer`` command line: streaming to stdout, stats to stderr, distinct exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from steer_sync.cli import main


def directive(**fields: object) -> str:
    return f"[[emulator:{json.dumps(fields)}]]"


def test_emulate_streams_to_stdout_and_reports_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["Hello there", "--emulate"]) == 0
    out, err = capsys.readouterr()
    assert out == "Echo: Hello there\n"
    assert "openai gpt-4o-mini" in err and "tokens:" in err and "first token:" in err


@pytest.mark.parametrize("model", ["claude-sonnet-5", "grok-4-fast", "gpt-4o-mini"])
def test_every_provider_through_the_emulator(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main([f"Say {directive(text='Olá!')}", "-m", model, "--emulate", "--system", "brief"]) == 0
    )
    assert capsys.readouterr().out == "Olá!\n"


def test_prompt_from_stdin_and_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("from stdin"))
    assert main(["-", "--emulate", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"answer": "Echo: from stdin"}


def test_no_key_falls_back_to_the_emulator_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["hi", "-m", "claude-sonnet-5"]) == 0
    out, err = capsys.readouterr()
    assert out == "Echo: hi\n" and "ANTHROPIC_API_KEY is not set" in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["hi", "-m", "mystery-model"], 3, "UnknownModelError"),
        (["hi", "--no-emulate"], 3, "OPENAI_API_KEY"),
        ([f"hi {directive(status=400, fail_times=1000)}", "--emulate"], 4, "HTTP 400"),
        (
            [
                f"hi {directive(text='partial text here', truncate_after_events=3, fail_times=1000)}",
                "--emulate",
            ],
            5,
            "StreamInterruptedError",
        ),
    ],
)
def test_exit_codes(
    argv: list[str],
    code: int,
    message: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert main(argv) == code
    assert message in capsys.readouterr().err


def test_console_script_and_module_entry_point() -> None:
    script = Path(sys.executable).parent / "steer"  # installed by the project's entry point
    for command in ([str(script)], [sys.executable, "-m", "steer_sync"]):
        result = subprocess.run(
            [*command, "Hi from a subprocess", "--emulate"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "Echo: Hi from a subprocess\n"
