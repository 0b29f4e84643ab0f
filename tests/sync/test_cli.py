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


# -- a Unix tool: pipes, Ctrl-C, --version, refused arguments, --verbose (the installed script)

STEER = str(Path(sys.executable).parent / "steer")
SLOW = directive(deltas=[f"word{i} " for i in range(300)], event_delay=0.01)  # about 3 s


def test_a_reader_that_leaves_ends_it_quietly() -> None:
    # steer "..." | head -c 20
    with subprocess.Popen(
        [STEER, f"go {SLOW}", "--emulate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.read(20)
        proc.stdout.close()  # what head does after 20 bytes
        err = proc.stderr.read().decode()
        code = proc.wait(timeout=30)
    assert first == b"word0 word1 word2 wo"
    assert code == 141  # 128 + SIGPIPE, as Unix tools report it
    assert "Error" not in err and "Traceback" not in err and "Exception" not in err, err


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    import signal

    def default_sigint() -> None:
        # A job started in the background inherits SIGINT ignored, and Python then leaves
        # it ignored: give the child the default a terminal gives it.
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    with subprocess.Popen(
        [STEER, f"go {SLOW}", "--emulate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,  # noqa: PLW1509 - no threads in this process's child yet
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(5) == b"word0"  # streaming has begun
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        err = proc.stderr.read().decode()
    assert code == 130
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err


def run_steer(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([STEER, *argv], capture_output=True, text=True, timeout=60, check=False)


def test_version() -> None:
    from steer_common import __version__

    result = run_steer("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"steer {__version__}"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["", "--base-url", "http://127.0.0.1:9"], "the prompt is empty"),
        (["   \n", "--emulate"], "the prompt is empty"),
        (["hi", "--max-tokens", "-5", "--emulate"], "must be a positive number of tokens"),
        (["hi", "--max-tokens", "0", "--emulate"], "must be a positive number of tokens"),
    ],
)
def test_arguments_refused_before_any_request(argv: list[str], message: str) -> None:
    result = run_steer(*argv)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    # Refused before anything was sent: no connection was tried (the base URL's port is
    # closed, which would be exit 6), no emulator was started.
    assert "ConnectionError" not in result.stderr and "emulator" not in result.stderr


def test_verbose_shows_the_request_id_the_retries_and_the_timings() -> None:
    result = run_steer(f"hi {directive(status=429, retry_after=0, text='fine')}", "--emulate", "-v")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fine\n"
    err = result.stderr
    assert "attempt 1 failed, retrying in 0.00 s: RateLimitError" in err
    assert "steer: request id: req_reply-" in err
    assert "steer: attempts: 2 (1 retried)" in err
    assert "first byte" in err and "first token" in err and "total" in err
