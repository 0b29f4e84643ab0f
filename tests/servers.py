"""Real servers the tests start: a redis-server on loopback.

A test that lacks one skips on a developer's machine and fails in CI
(:func:`tests.environment.missing`), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.environment import missing


def require(program: str, why: str) -> str:
    """The path of ``program``; skips the test without it, or fails it in CI."""
    path = shutil.which(program) or (program if Path(program).is_file() else None)
    if path is None:
        missing(f"{program} ({why})")
    assert path is not None
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Return once ``port`` accepts connections on loopback; fail if ``process`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"{process.args!r} exited with {process.returncode}: {out[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    pytest.fail(f"nothing listened on port {port} within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server on a free loopback port, nothing saved to disk, for the session.

    Tests keep apart by key prefix (``redis_prefix``), not by server.
    """
    program = require("redis-server", "the Redis store of resumable streams")
    port = free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir, "--protected-mode", "yes"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for_port(port, process)
            yield RedisServer(port)
        finally:
            stop(process)
            if process.stdout:
                process.stdout.close()


@pytest.fixture
def redis_prefix(request: pytest.FixtureRequest) -> str:
    """A key prefix of this test's own."""
    name = "".join(c if c.isalnum() else "-" for c in request.node.name)  # no glob characters
    return f"test:{name}:{os.getpid()}:{time.monotonic_ns()}"
