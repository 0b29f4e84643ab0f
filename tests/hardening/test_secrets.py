"""No API key in any log record, error message, repr, traceback or partial response, with
DEBUG logging on for every logger (ours, urllib3, httpx, httpcore), from servers that
echo the key back. (Every fault of the matrix is scanned the same way, in
test_fault_matrix.py.)"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from steer_common import StreamingOptions
from steer_common.errors import SteerError
from tests.faultserver import FaultServer, Play, Request, chunked_sse, head
from tests.hardening.secrets import everything_said, leaks
from tests.hardening.test_fault_matrix import BASE, WIRES, Wire


def stream(runner: Any, wire: Wire, options: StreamingOptions) -> Any:
    try:
        return runner.response("hi", model=wire.model, streaming_options=options)
    except SteerError as exc:
        return exc


def sent_key(request: Request) -> str:
    """The credential as the client sent it, in whichever header its format uses."""
    for name in ("authorization", "x-api-key", "x-goog-api-key", "api-key"):
        if name in request.headers:
            return str(request.headers[name])
    return ""


def echo_the_key(request: Request) -> Play:
    """A server that repeats the key everywhere it can: an in-band error after content."""
    secret = sent_key(request)
    message = f"upstream rejected credentials {secret} (x-api-key={secret})"
    content = {"id": "c", "choices": [{"index": 0, "delta": {"content": "Hello"}}]}
    error = {"error": {"message": message, "type": "server_error", "code": 500}}
    return chunked_sse(
        [
            b"data: " + json.dumps(content).encode() + b"\n\n",
            b"data: " + json.dumps(error).encode() + b"\n\n",
        ],
        headers={"x-echo": secret},
    )


def html_with_the_key(request: Request) -> Play:
    secret = sent_key(request)
    page = f"<html>Forbidden for {secret}</html>".encode()
    headers = {"content-type": "text/html", "content-length": str(len(page))}
    return Play([("send", head(200, headers, chunked=False) + page)])


@pytest.mark.parametrize("wire", WIRES, ids=lambda w: w.name)
@pytest.mark.parametrize("handler", [echo_the_key, html_with_the_key])
def test_a_server_that_echoes_the_key(
    make_runner: Any, caplog: pytest.LogCaptureFixture, wire: Wire, handler: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    with FaultServer(lifetime=60) as server:
        server.handler = handler
        runner = make_runner(**wire.client_kwargs(server))
        outcome = stream(runner, wire, BASE)
        runner.close()
    assert isinstance(outcome, SteerError)
    assert "[REDACTED]" in str(outcome) or handler is echo_the_key
    assert leaks(everything_said(caplog, outcome)) == []
