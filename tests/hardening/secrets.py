"""What a test scans for API keys: every log record, and all an outcome shows of itself."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest

from tests.parity.test_clients import KEYS

__all__ = ["everything_said", "leaks"]


def leaks(texts: list[str]) -> list[str]:
    """The texts that contain one of the test keys."""
    return [t for t in texts if any(key in t for key in KEYS.values())]


def everything_said(caplog: pytest.LogCaptureFixture, outcome: Any) -> list[str]:
    """Each log record (message and traceback), and the outcome's message, repr, traceback,
    error body, events and partial response (or the response, on success)."""
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
