"""docs/errors.md's retry table names every error class, and says of each what the core does.

The table is read as a user reads it: its first column names classes, its second says
"yes" or "no". Each class named is built (an ``APIError`` from a response with a status it
stands for, as the core builds it) and given to :func:`steer_common.retry.retry_delay`
before any content: "yes" must be retried, "no" must not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from steer_common import errors
from steer_common.http import ResponseHead, error_from_response
from steer_common.options import StreamingOptions
from steer_common.retry import retry_delay

PAGE = Path(__file__).resolve().parents[2] / "docs" / "errors.md"
CLASSES = {
    name: cls
    for name in errors.__all__
    if isinstance(cls := getattr(errors, name), type) and issubclass(cls, errors.SteerError)
}
# A status each API error class stands for (the core picks the class from the status).
STATUS = {
    "BadRequestError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "NotFoundError": 404,
    "ConflictError": 409,
    "RateLimitError": 429,
    "InternalServerError": 503,
    "OverloadedError": 529,
    "RedirectError": 307,
    "APIError": 418,
}
BASES = {"SteerError", "TransportError", "StreamTimeoutError"}


def table() -> dict[str, str]:
    """Each class the retry table names, and the answer of its row."""
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("| error | retried before content? |")
    rows: dict[str, str] = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        first, answer = line.strip("|").split("|", 1)
        for name in re.findall(r"`(\w+)`", first):
            if name in CLASSES:
                rows[name] = answer.strip()
    return rows


def test_the_table_names_every_error_class() -> None:
    assert sorted(set(CLASSES) - set(table())) == []


@pytest.mark.parametrize("name", sorted(set(CLASSES) - BASES))
def test_the_table_says_what_the_core_does(name: str) -> None:
    answer = table()[name]
    assert answer.startswith(("yes", "no")), answer
    cls = CLASSES[name]
    if name in STATUS:
        error: errors.SteerError = error_from_response(
            "openai", ResponseHead(STATUS[name], {}), b'{"error": {"message": "no"}}'
        )
        assert type(error) is cls
    elif name == "ContentFilterError":
        error = cls("blocked", provider="gemini")
    else:
        error = cls("failed")
    delay = retry_delay(error, 1, StreamingOptions(), delivered=False, draw=0.5, left=None)
    assert (delay is not None) == answer.startswith("yes"), (name, answer)
