"""No API key in any log record, error message, repr, traceback or partial response: every
fault of the matrix, in both clients and every wire format, streamed with DEBUG logging on
for every logger (ours, urllib3, httpx, httpcore), and servers that echo the key back."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import pytest

from steer_common import StreamingOptions
from steer_common.errors import SteerError
from tests.faultserver import FaultServer, Play, Request, chunked_sse, head
from tests.hardening.test_fault_matrix import BASE, CASES, WIRES, Wire
from tests.parity.test_clients import KEYS


def leaks(texts: list[str]) -> list[str]:
    return [t for t in texts if any(key in t for key in KEYS.values())]


def everything_said(caplog: pytest.LogCaptureFixture, outcome: Any) -> list[str]:
    """Each log record (message and traceback), and all the outcome shows of itself."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [formatter.format(record) for record in caplog.records]
    texts += [formatter.formatException(r.exc_info) for r in caplog.records if r.exc_info]
    texts += [str(outcome), repr(outcome), repr(getattr(outcome, "body", None))]
    if isinstance(outcome, BaseException):
        texts.append("".join(traceback.format_exception(outcome)))
    partial = getattr(outcome, "partial_response", None) or (
        None if isinstance(outcome, BaseException) else outcome
    )
    if partial is not None:
        texts += [partial.model_dump_json(), repr(partial)]
    texts += [repr(event) for event in getattr(outcome, "events", [])]
    return texts


def stream(runner: Any, wire: Wire, options: StreamingOptions) -> Any:
    try:
        return runner.response("hi", model=wire.model, streaming_options=options)
    except SteerError as exc:
        return exc


@pytest.mark.parametrize(
    ("scenario", "wire"), CASES, ids=[f"{s.__name__}-{w.name}" for s, w in CASES]
)
def test_no_key_on_any_error_path(
    make_runner: Any, caplog: pytest.LogCaptureFixture, scenario: Any, wire: Wire
) -> None:
    caplog.set_level(logging.DEBUG)
    with FaultServer(lifetime=60) as server:
        expect = scenario(wire, server)
        kwargs = wire.client_kwargs(server)
        if expect.base_url is not None:
            kwargs["base_urls"] = dict.fromkeys(kwargs["base_urls"], expect.base_url)
        runner = make_runner(**kwargs)
        outcome = stream(runner, wire, BASE.replace(**expect.options))
        runner.close()
    assert caplog.records, "DEBUG logging was not on"
    assert leaks(everything_said(caplog, outcome)) == []


def echo_the_key(request: Request) -> Play:
    """A server that repeats the key everywhere it can: an in-band error after content."""
    secret = request.headers.get("authorization") or request.headers.get("x-api-key", "")
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
    secret = request.headers.get("authorization") or request.headers.get("x-api-key", "")
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
