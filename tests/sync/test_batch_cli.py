"""``steer batch``: JSONL in and out, resume after SIGKILL, --retry-errors, the cost cap's
exit code, progress in a pseudo-terminal and as plain lines, the summary."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest

from steer_sync.batch_cli import main
from steer_sync.emulator import Emulator

STEER = str(Path(sys.executable).parent / "steer")


def directive(**fields: object) -> str:
    return f"[[emulator:{json.dumps(fields)}]]"


def write_items(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")


def read_records(path: Path) -> list[dict[str, Any]]:
    data = path.read_text(encoding="utf-8")
    assert data == "" or data.endswith("\n")  # only complete lines
    return [json.loads(line) for line in data.splitlines()]


def test_a_batch_writes_one_line_per_item(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    lines = [json.dumps({"id": f"q{i}", "prompt": f"Say {i}"}) for i in range(20)]
    lines += ["{not json", json.dumps({"prompt": "no id"}), "", json.dumps({"id": "m", "messages": [
        {"role": "system", "content": "brief"}, {"role": "user", "content": "from messages"}]})]  # fmt: skip
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main([str(source), "-o", str(out), "--emulate", "-c", "4", "--temperature", "0"])
    records = {r["id"]: r for r in read_records(out)}
    err = capsys.readouterr().err
    assert code == 4  # one line failed
    assert len(records) == 23
    assert records["q7"]["text"] == "Echo: Say 7" and records["q7"]["error"] is None
    assert records["q7"]["usage"]["total_tokens"] > 0 and records["q7"]["cost_usd"] > 0
    assert records["q7"]["finish_reason"] == "stop" and records["q7"]["attempts"] == 1
    assert records[22]["text"] == "Echo: no id"  # its line number is its id
    assert records["m"]["text"] == "Echo: from messages"
    bad = records["line 21"]["error"]
    assert bad["type"] == "InvalidItemError" and "line 21 is not JSON" in bad["message"]
    assert "23 items in" in err and "22 succeeded, 1 failed" in err and "cost $" in err
    assert "errors: InvalidItemError 1" in err and "wrote 23 lines" in err


def test_json_items_get_their_parsed_json(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_items(source, [{"id": 1, "prompt": "a city", "response_format": {"type": "json_object"}}])
    assert main([str(source), "-o", str(out), "--emulate", "-q"]) == 0
    (record,) = read_records(out)
    assert isinstance(record["json"], dict) and json.loads(record["text"]) == record["json"]


def test_killed_with_sigkill_it_resumes_without_losing_or_repeating(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    slow = directive(text="a slow reply", chunk_chars=2, event_delay=0.01)  # ~60 ms each
    ids = [f"item-{i}" for i in range(120)]
    write_items(source, [{"id": i, "prompt": f"{i} {slow}"} for i in ids])
    argv = [STEER, "batch", str(source), "-o", str(out), "--emulate", "-c", "4", "-q"]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 30:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    first = read_records(out)
    assert 30 <= len(first) < 120  # killed halfway, with only complete lines
    assert len({r["id"] for r in first}) == len(first)
    result = subprocess.run(argv[:-1], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert f"({len(first)} were there already)" in result.stderr
    records = read_records(out)
    assert sorted(r["id"] for r in records) == sorted(ids)  # each id exactly once
    assert all(r["error"] is None and r["text"] == "a slow reply" for r in records)


def test_a_torn_last_line_is_cut_off_and_its_item_redone(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_items(source, [{"id": i, "prompt": f"p{i}"} for i in range(5)])
    assert main([str(source), "-o", str(out), "--emulate", "-q"]) == 0
    data = out.read_bytes()
    lines = data.splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:3]) + lines[3][:20])  # a machine crashed mid-write
    assert main([str(source), "-o", str(out), "--emulate", "-q"]) == 0
    assert sorted(r["id"] for r in read_records(out)) == [0, 1, 2, 3, 4]


def test_retry_errors_redoes_only_the_failed_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    refused_once = directive(status=400, error_message="bad luck")
    write_items(source, [{"id": "ok", "prompt": "fine"}, {"id": "flaky", "prompt": refused_once}])
    with Emulator(lifetime=60) as emu:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        argv = [str(source), "-o", str(out), "--base-url", emu.base_urls["openai"], "-q"]
        assert main(argv) == 4
        assert {r["id"]: r["error"] and r["error"]["type"] for r in read_records(out)} == {
            "ok": None, "flaky": "BadRequestError"}  # fmt: skip
        # Run again: nothing to redo, but the output still holds the error line, so it
        # still fails (it said every item succeeded, exit 0).
        assert main(argv) == 4 and len(emu.requests) == 2
        assert main([*argv, "--retry-errors"]) == 0
        assert len(emu.requests) == 3  # only the failed item ran again
    records = read_records(out)
    assert sorted(r["id"] for r in records) == ["flaky", "ok"]
    assert all(r["error"] is None for r in records)


def test_a_second_run_reports_the_output_as_it_stands(tmp_path: Path, capsys: Any) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    refused = directive(status=400, error_message="bad luck", fail_times=1000)
    items = [{"id": f"ok{i}", "prompt": "fine"} for i in range(3)]
    items += [{"id": f"bad{i}", "prompt": refused} for i in range(2)]
    write_items(source, items)
    argv = [str(source), "-o", str(out), "--emulate"]
    assert main(argv) == 4
    capsys.readouterr()
    assert main(argv) == 4  # nothing ran: the two error lines are still the output's
    err = capsys.readouterr().err
    assert "0 items in" in err and "(5 were there already)" in err
    assert f"{out} holds 5 items: 3 succeeded, 2 failed (2 in an earlier run" in err
    assert "every item succeeded" not in err
    assert len(read_records(out)) == 5


def test_the_cost_cap_stops_the_batch_and_a_higher_cap_goes_on(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_items(source, [{"id": i, "prompt": f"cost {i}"} for i in range(20)])
    argv = [str(source), "-o", str(out), "--emulate", "-q", "-c", "1"]
    assert main([*argv, "--max-cost", "0.00001"]) == 9
    first = read_records(out)
    assert 1 <= len(first) < 20  # the lines not started are not written
    assert main([*argv, "--max-cost", "1"]) == 0
    assert sorted(r["id"] for r in read_records(out)) == list(range(20))


def test_a_missing_key_is_refused_not_emulated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    source = tmp_path / "in.jsonl"
    write_items(source, [{"prompt": "hi"}])
    assert main([str(source), "-o", str(tmp_path / "out.jsonl")]) == 3
    assert "OPENAI_API_KEY is not set" in capsys.readouterr().err
    assert not (tmp_path / "out.jsonl").exists()


def test_an_output_that_is_not_ours_is_refused(tmp_path: Path, capsys: Any) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_items(source, [{"prompt": "hi"}])
    out.write_text("hello\n", encoding="utf-8")
    assert main([str(source), "-o", str(out), "--emulate"]) == 3
    assert "line 1: not a line this command wrote" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "hello\n"  # untouched


def test_progress_is_a_live_bar_in_a_terminal(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_items(source, [{"id": i, "prompt": f"p{i}"} for i in range(50)])
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    argv = [STEER, "batch", str(source), "-o", str(out), "--emulate", "-c", "4"]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=follower) as proc:
        os.close(follower)
        screen = b""
        while True:
            ready, _, _ = select.select([leader], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            screen += chunk
        proc.wait(timeout=30)
    os.close(leader)
    text = screen.decode(errors="replace")
    assert proc.returncode == 0
    assert "50/50" in text and "item/s" in text  # tqdm's bar: done/total and the rate
    assert "errors 0" in text and "tok/s" in text and "$0.0" in text
    assert "\r" in text  # redrawn in place
    assert "50 items in" in text  # then the summary


def test_progress_is_plain_lines_when_stderr_is_not_a_terminal(tmp_path: Path) -> None:
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    slow = directive(text="slow", event_delay=0.02)
    write_items(source, [{"id": i, "prompt": f"{i} {slow}"} for i in range(40)])
    argv = [STEER, "batch", str(source), "-o", str(out), "--emulate", "-c", "2",
            "--progress-every", "0.1"]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0
    progress = [line for line in result.stderr.splitlines() if line.startswith("steer batch: ")]
    assert len(progress) >= 2
    assert "/40 done, 0 errors" in progress[0] and "tok/s" in progress[0] and "ETA" in progress[0]
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert "40 items in" in result.stderr and "40 succeeded" in result.stderr
